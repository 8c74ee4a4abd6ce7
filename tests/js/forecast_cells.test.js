// The forecast page's q8 decoding and click-to-cell (static/js/pages/forecast_cells.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { cellGrid, decodeLevels, levelValues, nearestCell, valuesOf } from "../../static/js/pages/forecast_cells.js";

test("q8 levels run log-evenly from min to max; level 0 is below min", () => {
  const values = levelValues({ levels: 255, min: 1e-4, max: 1 });
  assert.equal(values[0], 0);
  assert.ok(Math.abs(values[1] - 1e-4) < 1e-9);
  assert.ok(Math.abs(values[255] - 1) < 1e-6);
  assert.ok(Math.abs(values[128] - 1e-2) < 1e-4, String(values[128]));
});

test("an hour's base64 bytes decode to one level per cell", () => {
  const levels = decodeLevels(Buffer.from([0, 1, 255]).toString("base64"));
  assert.deepEqual(Array.from(levels), [0, 1, 255]);
  const counts = valuesOf(levels, levelValues({ levels: 255, min: 1e-4, max: 1 }));
  assert.equal(counts[0], 0);
  assert.ok(Math.abs(counts[2] - 1) < 1e-6);
});

test("a click finds the cell it falls in, and none outside the grid", () => {
  const g = cellGrid({ cell_ids: [1, 2], lon: [-122.3, -122.298], lat: [47.6, 47.6], cell_size_m: 150 });
  assert.equal(nearestCell(g, [-122.3003, 47.6003]), 0);
  assert.equal(nearestCell(g, [-122.2979, 47.5996]), 1);
  assert.equal(nearestCell(g, [-122.29, 47.6]), -1);
});
