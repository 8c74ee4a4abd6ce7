/* Forecast heat that reads at every zoom (the forecast and home pages).
 *
 * Far out a 150 m cell is 3 screen pixels, so cells are summed into blocks of 2x2 or
 * 4x4 (300 m, 600 m: about 12 px each); from zoom 13 each cell is drawn alone. A block
 * is coloured by its rank among the city's blocks this hour (top 1%, 5%, 10%, 25%,
 * 50%) on a perceptual scale (matplotlib's magma, light = fewer), and the legend says
 * each class in plain units too: expected reported incidents per km² per hour.
 *
 * Drawn inside the MapLibre base map, under its labels (a fill layer per block size,
 * coloured by feature state), so street and place names stay readable over the heat;
 * where there is no vector base map, on a canvas over Leaflet instead. */
(function (global) {
  "use strict";

  // Top share of the city's area (lower bound of each class), darkest first.
  var CLASSES = [
    { top: 0.01, colour: "#51127c", label: "Top 1%" },
    { top: 0.05, colour: "#8c2981", label: "Next 4%" },
    { top: 0.10, colour: "#ca3e72", label: "Next 5%" },
    { top: 0.25, colour: "#f7705c", label: "Next 15%" },
    { top: 0.50, colour: "#feb77e", label: "Next 25%" },
  ];
  var OPACITY = 0.72;
  var FIRST_LABEL_LAYER = "water-labels"; // heat goes under every label of the style
  // (block side in cells, first zoom it is drawn at, zoom it stops at)
  var LEVELS = [{ k: 4, min: 0, max: 12 }, { k: 2, min: 12, max: 13 }, { k: 1, min: 13, max: 24 }];

  function levelFor(zoom) {
    for (var i = 0; i < LEVELS.length; i++) {
      if (zoom >= LEVELS[i].min && zoom < LEVELS[i].max) { return LEVELS[i]; }
    }
    return LEVELS[LEVELS.length - 1];
  }

  // grid: the forecast grid API's answer (cell_ids, lon, lat, cell_size_m).
  function blocksOf(grid, k) {
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

  // Densities (expected per km² per hour) of one level's blocks, and each block's class
  // (0 = not drawn, 1 = top 1% ... 5 = top 25-50%).
  function classify(level, values) {
    var nb = level.blocks.length, sums = new Float64Array(nb);
    for (var i = 0; i < values.length; i++) { sums[level.member[i]] += values[i]; }
    var density = new Float64Array(nb);
    for (var b = 0; b < nb; b++) { density[b] = sums[b] / level.km2[b]; }
    var sorted = Array.prototype.slice.call(density).sort(function (a, c) { return c - a; });
    var bounds = CLASSES.map(function (c) {
      return sorted[Math.min(nb - 1, Math.max(0, Math.ceil(nb * c.top) - 1))];
    });
    var cls = new Uint8Array(nb);
    for (b = 0; b < nb; b++) {
      var d = density[b];
      if (!(d > 0)) { continue; }
      for (var j = 0; j < bounds.length; j++) {
        if (d >= bounds[j]) { cls[b] = j + 1; break; }
      }
    }
    return { density: density, cls: cls, bounds: bounds, sums: sums };
  }

  function fmtDensity(v) {
    if (!(v > 0)) { return "0"; }
    return v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(1);
  }

  // The legend as list items: swatch, class, and its lower bound in plain units.
  function legendItems(bounds) {
    return CLASSES.map(function (c, i) {
      var lo = bounds[i];
      var words = lo > 0 ? "over " + fmtDensity(lo) + " expected reports per km² per hour" : "no expected reports";
      return '<li><span class="swatch" data-bg="' + c.colour + '"></span><strong>' +
        c.label + "</strong><span>" + words + "</span></li>";
    }).join("");
  }

  // Fills a legend list; the swatches are coloured through the CSSOM, since the
  // Content-Security-Policy refuses style="" attributes in markup (core/csp.py).
  function fillLegend(element, bounds) {
    element.innerHTML = legendItems(bounds);
    element.querySelectorAll("[data-bg]").forEach(function (el) {
      el.style.background = el.dataset.bg;
    });
  }

  function blockGeoJSON(level) {
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
      map.getPanes().overlayPane.appendChild(this._canvas);
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

  /* The heat of one map. handle: CrimeMap.create's answer; grid: the forecast grid.
   * show(values) draws one hour (expected incidents per cell, grid order) and
   * returns that hour's classes at the current zoom (bounds, for the legend). */
  function create(handle, grid) {
    var map = handle.map;
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
    heat.ready = handle.streets.then(function (layer) {
      var gl = layer && layer.getMaplibreMap();
      if (gl) {
        heat.renderer = new GlRenderer(gl, levels);
      } else {
        heat.canvas = new CanvasLayer().addTo(map);
      }
      map.on("zoomend", redraw);
      redraw();
      return heat;
    });
    return heat;
  }

  global.CrimeHeat = { create: create, legendItems: legendItems, fillLegend: fillLegend, fmtDensity: fmtDensity, CLASSES: CLASSES };
})(window);
