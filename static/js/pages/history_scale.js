// The history map's colour scale and cell sizes, with no DOM (tests in tests/js).

import { CLASSES } from "../lib/heat_classes.js";

// Areas: quantile steps on the forecast heat's perceptual scale (magma, light = fewer;
// lib/heat_classes.js), one lighter step below its lightest class.
export const COLORS = ["#fcecb3", ...CLASSES.map((c) => c.colour).reverse()];

/** The history grid's cell size for a zoom: about 10-25 screen pixels per cell,
 * readable zoomed out, the 150 m grid zoomed in. `sizes` ascending (150, 300, 600, 1200). */
export function cellSizeForZoom(zoom, sizes) {
  const index = zoom >= 14 ? 0 : zoom >= 13 ? 1 : zoom >= 11 ? 2 : 3;
  return sizes[Math.min(index, sizes.length - 1)];
}

/** Quantile breaks over non-empty cells: counts are very skewed, and equal-width
 * bins would paint all but a handful of cells the same colour. A value v gets colour
 * index = the number of breaks <= v. */
export function breaks(values) {
  const sorted = values.slice().sort((a, b) => a - b);
  const out = [];
  for (let i = 1; i < COLORS.length; i++) {
    const v = sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * i) / COLORS.length))];
    if (v !== undefined && (out.length === 0 || v > out[out.length - 1])) { out.push(v); }
  }
  return out;
}

export function colorFor(v, bks) {
  let i = 0;
  while (i < bks.length && v >= bks[i]) { i++; }
  return COLORS[Math.min(i, COLORS.length - 1)];
}
