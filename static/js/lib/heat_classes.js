// The forecast heat's arithmetic, with no DOM and no map (lib/heat.js draws it; the
// tests in tests/js check it): cells summed into blocks of k x k cells per zoom, each
// block's density (expected reported incidents per km² per hour) and its class by
// rank among the city's blocks this hour.

// Top share of the city's area (lower bound of each class), darkest first.
export const CLASSES = [
  { top: 0.01, colour: "#51127c", label: "Top 1%" },
  { top: 0.05, colour: "#8c2981", label: "Next 4%" },
  { top: 0.10, colour: "#ca3e72", label: "Next 5%" },
  { top: 0.25, colour: "#f7705c", label: "Next 15%" },
  { top: 0.50, colour: "#feb77e", label: "Next 25%" },
];
// (block side in cells, first zoom it is drawn at, zoom it stops at)
export const LEVELS = [{ k: 4, min: 0, max: 12 }, { k: 2, min: 12, max: 13 }, { k: 1, min: 13, max: 24 }];

export function levelFor(zoom) {
  for (var i = 0; i < LEVELS.length; i++) {
    if (zoom >= LEVELS[i].min && zoom < LEVELS[i].max) { return LEVELS[i]; }
  }
  return LEVELS[LEVELS.length - 1];
}

// grid: the forecast grid API's answer (cell_ids, lon, lat, cell_size_m).
export function blocksOf(grid, k) {
  var n = grid.cell_ids.length, half = grid.cell_size_m / 2;
  var keyIndex = {}, member = new Int32Array(n), blocks = [];
  for (var i = 0; i < n; i++) {
    var id = grid.cell_ids[i], col = id % 10000, row = Math.floor(id / 10000);
    var key = Math.floor(row / k) * 100000 + Math.floor(col / k);
    var b = keyIndex[key];
    if (b === undefined) {
      b = keyIndex[key] = blocks.length;
      blocks.push({ cells: 0, s: Infinity, n: -Infinity, w: Infinity, e: -Infinity });
    }
    member[i] = b;
    var blk = blocks[b], lat = grid.lat[i], lon = grid.lon[i];
    var dlat = half / 111320, dlon = half / (111320 * Math.cos(lat * Math.PI / 180));
    blk.cells++;
    blk.s = Math.min(blk.s, lat - dlat); blk.n = Math.max(blk.n, lat + dlat);
    blk.w = Math.min(blk.w, lon - dlon); blk.e = Math.max(blk.e, lon + dlon);
  }
  var km2 = (grid.cell_size_m * grid.cell_size_m) / 1e6;
  return { k: k, member: member, blocks: blocks, km2: blocks.map(function (b) { return b.cells * km2; }) };
}

// How opaque a coloured square is (on the canvas and inside MapLibre alike).
export const OPACITY = 0.72;

/** The lower bound of each class among these densities, ranked busiest first (the
 * history page ranks its squares with reports the same way). */
export function classBounds(densities) {
  var n = densities.length;
  var sorted = Array.prototype.slice.call(densities).sort(function (a, c) { return c - a; });
  return CLASSES.map(function (c) {
    return sorted[Math.min(n - 1, Math.max(0, Math.ceil(n * c.top) - 1))];
  });
}

/** A density's class: 0 = not drawn, 1 = top 1% ... 5 = top 25-50%. */
export function classOf(d, bounds) {
  if (!(d > 0)) { return 0; }
  for (var j = 0; j < bounds.length; j++) {
    if (d >= bounds[j]) { return j + 1; }
  }
  return 0;
}

// Densities (expected per km² per hour) of one level's blocks, and each block's class.
export function classify(level, values) {
  var nb = level.blocks.length, sums = new Float64Array(nb);
  for (var i = 0; i < values.length; i++) { sums[level.member[i]] += values[i]; }
  var density = new Float64Array(nb);
  for (var b = 0; b < nb; b++) { density[b] = sums[b] / level.km2[b]; }
  var bounds = classBounds(density);
  var cls = new Uint8Array(nb);
  for (b = 0; b < nb; b++) { cls[b] = classOf(density[b], bounds); }
  return { density: density, cls: cls, bounds: bounds, sums: sums };
}

export function fmtDensity(v) {
  if (!(v > 0)) { return "0"; }
  return v >= 10 ? Math.round(v).toLocaleString("en-US") : v >= 1 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(1);
}

// The forecast's unit; the history page passes its own (reports per km² per year).
export const FORECAST_UNIT = { per: "expected reports per km² per hour", none: "no expected reports" };

// The legend as list items (HTML): swatch, class, and its lower bound in plain units
// (unit: the words after the number).
export function legendItems(bounds, unit = FORECAST_UNIT) {
  return CLASSES.map(function (c, i) {
    var lo = bounds[i];
    var words = lo > 0 ? "over " + fmtDensity(lo) + " " + unit.per : unit.none;
    return '<li><span class="swatch" data-bg="' + c.colour + '"></span><strong>' +
      c.label + "</strong><span>" + words + "</span></li>";
  }).join("");
}

export function blockGeoJSON(level) {
  return {
    type: "FeatureCollection",
    features: level.blocks.map(function (b, i) {
      return {
        type: "Feature", id: i, properties: {},
        geometry: { type: "Polygon", coordinates: [[[b.w, b.s], [b.e, b.s], [b.e, b.n], [b.w, b.n], [b.w, b.s]]] },
      };
    }),
  };
}
