// The forecast page's arithmetic, with no DOM (tests in tests/js): the compact q8
// hours decoded to expected counts, and the grid cell under a click.

/** Each q8 level's value: level q in 1..levels is exp(lo + (q-1)/(levels-1) (hi-lo))
 * between meta.min and meta.max; 0 means below min (predictions.services.payloads.Q8,
 * sent in the page's config). */
export function levelValues(meta) {
  const values = new Float32Array(meta.levels + 1);
  const lo = Math.log(meta.min), hi = Math.log(meta.max);
  for (let q = 1; q <= meta.levels; q++) {
    values[q] = Math.exp(lo + (q - 1) / (meta.levels - 1) * (hi - lo));
  }
  return values;
}

/** One hour's levels (a base64 string of one byte per cell) as bytes. */
export function decodeLevels(base64) {
  const bin = atob(base64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
  return out;
}

/** Levels -> expected counts per cell. */
export function valuesOf(levels, values) {
  const out = new Float32Array(levels.length);
  for (let i = 0; i < levels.length; i++) { out[i] = values[levels[i]]; }
  return out;
}

/** The grid's cells with the half-sizes in degrees a click is measured against. */
export function cellGrid(grid) {
  const half = grid.cell_size_m / 2;
  return {
    n: grid.cell_ids.length, ids: grid.cell_ids, lon: grid.lon, lat: grid.lat, cellSize: grid.cell_size_m,
    dlat: half / 111320,
    dlon: grid.lat.map((lat) => half / (111320 * Math.cos(lat * Math.PI / 180))),
  };
}

/** The index of the cell a [lon, lat] point falls in (a 5% margin), or -1. */
export function nearestCell(g, point) {
  let best = -1, bestD = Infinity;
  for (let i = 0; i < g.n; i++) {
    const dy = (g.lat[i] - point[1]) / g.dlat, dx = (g.lon[i] - point[0]) / g.dlon[i];
    const d = Math.max(Math.abs(dx), Math.abs(dy));
    if (d < bestD) { bestD = d; best = i; }
  }
  return bestD <= 1.05 ? best : -1;
}
