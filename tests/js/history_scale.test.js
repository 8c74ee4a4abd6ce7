// The history map's colour scale (static/js/pages/history_scale.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { COLORS, breaks, cellSizeForZoom, colorFor } from "../../static/js/pages/history_scale.js";

test("the cell size follows the zoom: 150 m close in, 1200 m far out", () => {
  const sizes = [150, 300, 600, 1200];
  assert.deepEqual([15, 14, 13, 12, 11, 10].map((z) => cellSizeForZoom(z, sizes)), [150, 150, 300, 600, 600, 1200]);
  assert.equal(cellSizeForZoom(10, [150, 300]), 300);
});

test("quantile breaks rise strictly, so skewed counts still use every colour", () => {
  const counts = [1, 1, 1, 1, 1, 1, 2, 2, 3, 5, 8, 13, 40, 100];
  const bks = breaks(counts);
  for (let i = 1; i < bks.length; i++) { assert.ok(bks[i] > bks[i - 1]); }
  assert.equal(colorFor(1, bks), COLORS[1]);
  assert.equal(colorFor(100, bks), COLORS[bks.length]);
  assert.deepEqual(breaks([]), []);
  assert.equal(colorFor(0, []), COLORS[0]);
});

test("areas are coloured on the forecast heat's perceptual scale, light = fewer", () => {
  assert.deepEqual(COLORS.slice(1), ["#feb77e", "#f7705c", "#ca3e72", "#8c2981", "#51127c"]);
});
