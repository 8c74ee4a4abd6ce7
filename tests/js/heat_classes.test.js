// The forecast heat's arithmetic (static/js/lib/heat_classes.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { CLASSES, blocksOf, classBounds, classOf, classify, fmtDensity, legendItems, levelFor } from "../../static/js/lib/heat_classes.js";

// A 4 x 4 patch of 150 m cells: ids row * 10000 + col (ml/grid.py).
function patch() {
  const ids = [], lon = [], lat = [];
  for (let row = 0; row < 4; row++) {
    for (let col = 0; col < 4; col++) {
      ids.push(row * 10000 + col);
      lon.push(-122.3 + col * 0.002);
      lat.push(47.6 + row * 0.00135);
    }
  }
  return { cell_ids: ids, lon, lat, cell_size_m: 150 };
}

test("far out, cells are summed into 4x4 blocks; from zoom 13 each cell is drawn alone", () => {
  assert.equal(levelFor(11).k, 4);
  assert.equal(levelFor(12).k, 2);
  assert.equal(levelFor(13).k, 1);
  assert.equal(levelFor(18).k, 1);
  const grid = patch();
  assert.equal(blocksOf(grid, 4).blocks.length, 1);
  assert.equal(blocksOf(grid, 2).blocks.length, 4);
  assert.equal(blocksOf(grid, 1).blocks.length, 16);
  const level = blocksOf(grid, 2);
  assert.ok(Math.abs(level.km2[0] - 4 * 0.0225) < 1e-12);
});

test("a block's density is its cells' sum per km², and the busiest block is in the top class", () => {
  const grid = patch();
  const level = blocksOf(grid, 2);
  const values = new Float32Array(16);
  values[0] = 0.09;   // the block of rows 0-1, cols 0-1
  values[15] = 0.009; // the block of rows 2-3, cols 2-3
  const result = classify(level, values);
  const busiest = level.member[0], quiet = level.member[15], empty = level.member[2];
  assert.ok(Math.abs(result.density[busiest] - 0.09 / 0.09) < 1e-6);
  assert.equal(result.cls[busiest], 1);
  assert.ok(result.cls[quiet] > 1);
  assert.equal(result.cls[empty], 0, "a block expecting nothing is not drawn");
  assert.equal(result.bounds.length, CLASSES.length);
});

test("densities read in plain numbers, and the legend says them in units", () => {
  assert.equal(fmtDensity(0), "0");
  assert.equal(fmtDensity(12.4), "12");
  assert.equal(fmtDensity(1.23), "1.2");
  assert.equal(fmtDensity(0.123), "0.12");
  assert.equal(fmtDensity(0.0123), "0.01");
  const html = legendItems([2, 1, 0.5, 0.1, 0]);
  assert.match(html, /Top 1%<\/strong><span>over 2.0 expected reports per km² per hour/);
  assert.match(html, /Next 25%<\/strong><span>no expected reports/);
});

test("the history page ranks its squares on the same classes, in its own unit", () => {
  const bounds = classBounds([500, 50, 40, 30, 20, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 1, 1, 1, 1]);
  assert.equal(bounds[0], 500);  // the top 1% of 20 squares: the busiest one
  assert.equal(classOf(500, bounds), 1);
  assert.equal(classOf(0, bounds), 0);  // nothing reported: not drawn
  const html = legendItems(bounds, { per: "reports per km² per year", none: "no reports" });
  assert.match(html, /over 500 reports per km² per year/);
  assert.equal(fmtDensity(2265.4), "2,265");
});
