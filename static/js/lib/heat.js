// Forecast heat that reads at every zoom (the forecast and home pages).
//
// Far out a 150 m cell is 3 screen pixels, so cells are summed into blocks of 2x2 or
// 4x4 (300 m, 600 m: about 12 px each); from zoom 13 each cell is drawn alone. A block
// is coloured by its rank among the city's blocks this hour (top 1%, 5%, 10%, 25%,
// 50%) on a perceptual scale (matplotlib's magma, light = fewer), and the legend says
// each class in plain units too: expected reported incidents per km² per hour.
//
// Drawn inside the MapLibre base map, under its labels (a fill layer per block size,
// coloured by feature state), so street and place names stay readable over the heat;
// until MapLibre starts (someone reaches for the map) or where there is no vector
// base map, on a canvas in the map's "heat" pane, under the preview's labels.
//
// Leaflet is the classic script the page loads first (`L`).

import { CLASSES, LEVELS, OPACITY, blockGeoJSON, blocksOf, classify, legendItems, levelFor } from "./heat_classes.js";

export { CLASSES, fmtDensity, legendItems } from "./heat_classes.js";

const L = window.L;

var FIRST_LABEL_LAYER = "water-labels"; // heat goes under every label of the style

// Fills a legend list; the swatches are coloured through the CSSOM, since the
// Content-Security-Policy refuses style="" attributes in markup (core/csp.py).
export function fillLegend(element, bounds, unit) {
  element.innerHTML = legendItems(bounds, unit);
  element.querySelectorAll("[data-bg]").forEach(function (el) {
    el.style.background = el.dataset.bg;
  });
}

var FILL = ["match", ["to-number", ["feature-state", "cls"], 0]];
CLASSES.forEach(function (c, i) { FILL.push(i + 1, c.colour); });
FILL.push("rgba(0,0,0,0)");

// The heat inside the MapLibre base map: one GeoJSON source and fill layer per level.
function GlRenderer(gl, levels) {
  this.gl = gl;
  this.levels = levels;
  this.shown = {};
  var before = gl.getLayer(FIRST_LABEL_LAYER) ? FIRST_LABEL_LAYER : undefined;
  levels.forEach(function (level, i) {
    var id = "heat-" + level.k;
    gl.addSource(id, { type: "geojson", data: blockGeoJSON(level) });
    // MapLibre's zoom is Leaflet's minus one (512 px tiles against 256).
    gl.addLayer({
      id: id, type: "fill", source: id,
      minzoom: Math.max(0, LEVELS[i].min - 1), maxzoom: LEVELS[i].max - 1,
      // Lighter at street zoom, where the streets under a square matter most.
      paint: {
        "fill-color": FILL, "fill-antialias": false,
        "fill-opacity": ["interpolate", ["linear"], ["zoom"], 11, OPACITY, 15, 0.5],
      },
    }, before);
  });
}
GlRenderer.prototype.draw = function (index, cls) {
  var id = "heat-" + this.levels[index].k, gl = this.gl, prev = this.shown[index];
  for (var b = 0; b < cls.length; b++) {
    if (!prev || prev[b] !== cls[b]) { gl.setFeatureState({ source: id, id: b }, { cls: cls[b] }); }
  }
  this.shown[index] = cls;
};

// Without a vector base map: the same blocks on a canvas over Leaflet.
var CanvasLayer = L.Layer.extend({
  onAdd: function (map) {
    this._map = map;
    this._canvas = L.DomUtil.create("canvas", "heat-canvas leaflet-zoom-hide");
    this._canvas.style.position = "absolute";
    this._canvas.style.pointerEvents = "none";
    (map.getPane("heat") || map.getPanes().overlayPane).appendChild(this._canvas);
    map.on("moveend zoomend resize", this._reset, this);
    this._reset();
  },
  onRemove: function (map) {
    L.DomUtil.remove(this._canvas);
    map.off("moveend zoomend resize", this._reset, this);
  },
  _reset: function () {
    var size = this._map.getSize();
    L.DomUtil.setPosition(this._canvas, this._map.containerPointToLayerPoint([0, 0]));
    this._canvas.width = size.x;
    this._canvas.height = size.y;
    this.paint();
  },
  paint: function () {
    var ctx = this._canvas.getContext("2d");
    ctx.clearRect(0, 0, this._canvas.width, this._canvas.height);
    if (!this.level || !this.cls) { return; }
    ctx.globalAlpha = OPACITY;
    var blocks = this.level.blocks, map = this._map;
    for (var b = 0; b < blocks.length; b++) {
      var c = this.cls[b];
      if (!c) { continue; }
      var p = map.latLngToContainerPoint([blocks[b].n, blocks[b].w]);
      var q = map.latLngToContainerPoint([blocks[b].s, blocks[b].e]);
      ctx.fillStyle = CLASSES[c - 1].colour;
      ctx.fillRect(p.x, p.y, Math.max(1, q.x - p.x), Math.max(1, q.y - p.y));
    }
  },
});

/* The heat of one map. view: createMap's MapView (lib/map.js); grid: the forecast grid.
 * show(values) draws one hour (expected incidents per cell, grid order) and
 * returns that hour's classes at the current zoom (bounds, for the legend). */
export function createHeat(view, grid) {
  var map = view.map;
  var levels = LEVELS.map(function (l) { return blocksOf(grid, l.k); });
  var heat = { values: null, renderer: null, canvas: null, onChange: null };
  function current() { return LEVELS.indexOf(levelFor(Math.round(map.getZoom()))); }
  function redraw() {
    if (!heat.values) { return null; }
    var index = current(), level = levels[index], result = classify(level, heat.values);
    if (heat.renderer) {
      heat.renderer.draw(index, result.cls);
    } else if (heat.canvas) {
      heat.canvas.level = level;
      heat.canvas.cls = result.cls;
      heat.canvas.paint();
    }
    result.level = level;
    heat.last = result;
    if (heat.onChange) { heat.onChange(result); }
    return result;
  }
  heat.show = function (values) { heat.values = values; return redraw(); };
  // On a canvas at once (over the preview, or the outline alone); into MapLibre,
  // under its labels, when the base map starts.
  heat.canvas = new CanvasLayer().addTo(map);
  map.on("zoomend", redraw);
  heat.ready = Promise.resolve(heat);
  heat.gl = view.streets.then(function (layer) {
    var gl = layer && layer.getMaplibreMap();
    if (!gl) { return null; }
    heat.renderer = new GlRenderer(gl, levels);
    map.removeLayer(heat.canvas);
    heat.canvas = null;
    redraw();
    return gl;
  });
  return heat;
}
