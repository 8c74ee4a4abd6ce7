/* The forecast page: a week of hourly forecasts fetched once per category (compact q8
 * arrays), drawn as a canvas heat layer; switching hours only repaints the canvas. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("forecast-config").textContent);
  var mapEl = document.getElementById("map");
  var slider = document.getElementById("hour-slider");
  var label = document.getElementById("hour-label");
  var select = document.getElementById("category-select");
  var playButton = document.getElementById("play-button");
  var state = { grid: null, weeks: {}, week: null, hour: 0, category: select.value, timer: null, chart: null };

  // The q8 encoding comes from the server (config.q8, predictions.services.payloads.Q8):
  // level q in 1..levels is exp(lo + (q-1)/(levels-1) (hi-lo)); 0 means below min.
  function valueLevel(v, meta) {
    if (v < meta.min) { return 0; }
    var lo = Math.log(meta.min), hi = Math.log(meta.max), steps = meta.levels - 1;
    return Math.max(1, Math.min(meta.levels, 1 + Math.round((Math.log(v) - lo) / (hi - lo) * steps)));
  }

  // Yellow -> red ramp over the levels that matter (1e-3 .. 0.5 per cell-hour).
  var STOPS = [[255, 255, 178], [254, 204, 92], [253, 141, 60], [240, 59, 32], [189, 0, 38]];
  var palette = null;
  function buildPalette(meta) {
    palette = new Array(meta.levels + 1);
    var q0 = valueLevel(1e-3, meta), q1 = valueLevel(0.5, meta);
    for (var q = 0; q <= meta.levels; q++) {
      if (q < q0) { palette[q] = null; continue; }
      var t = Math.min(1, (q - q0) / Math.max(1, q1 - q0)) * (STOPS.length - 1);
      var i = Math.min(STOPS.length - 2, Math.floor(t)), f = t - i;
      var c = STOPS[i].map(function (a, k) { return Math.round(a + (STOPS[i + 1][k] - a) * f); });
      palette[q] = "rgba(" + c[0] + "," + c[1] + "," + c[2] + "," + (0.35 + 0.55 * t / (STOPS.length - 1)).toFixed(2) + ")";
    }
  }

  var HeatLayer = L.Layer.extend({
    onAdd: function (map) {
      this._map = map;
      this._canvas = L.DomUtil.create("canvas", "forecast-canvas leaflet-zoom-hide");
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
      this.redraw();
    },
    redraw: function () {
      var ctx = this._canvas.getContext("2d");
      ctx.clearRect(0, 0, this._canvas.width, this._canvas.height);
      var g = state.grid, week = state.week;
      if (!g || !week || !palette) { return; }
      var levels = hourLevels(week, state.hour);
      var map = this._map;
      for (var i = 0; i < g.n; i++) {
        var colour = palette[levels[i]];
        if (!colour) { continue; }
        var a = map.latLngToContainerPoint([g.lat[i] + g.dlat, g.lon[i] - g.dlon[i]]);
        var b = map.latLngToContainerPoint([g.lat[i] - g.dlat, g.lon[i] + g.dlon[i]]);
        ctx.fillStyle = colour;
        ctx.fillRect(a.x, a.y, Math.max(1, b.x - a.x), Math.max(1, b.y - a.y));
      }
    },
  });

  function hourLevels(week, hour) {
    if (!week.decoded[hour]) {
      var bin = atob(week.values[hour]);
      var arr = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) { arr[i] = bin.charCodeAt(i); }
      week.decoded[hour] = arr;
    }
    return week.decoded[hour];
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(url + " -> HTTP " + r.status); }
      return r.json();
    });
  }

  function loadWeek(category) {
    if (state.weeks[category]) { return Promise.resolve(state.weeks[category]); }
    var url = config.forecastUrl + "?encoding=q8&hours=168&category=" + encodeURIComponent(category) +
      "&start=" + encodeURIComponent(config.start);
    return getJSON(url).then(function (week) {
      week.decoded = [];
      state.weeks[category] = week;
      return week;
    });
  }

  function fmtHour(iso) {
    var d = new Date(iso);
    return d.toLocaleString("en-US", {
      timeZone: CrimeMap.readConfig().timeZone, weekday: "short", month: "short", day: "numeric",
      hour: "numeric", minute: "2-digit",
    });
  }

  function updateLegend() {
    var week = state.week, h = state.hour;
    var mean = week.city_mean[h];
    var ticks = [0.001, 0.01, 0.1, 0.5];
    document.getElementById("legend-ticks").innerHTML = ticks.map(function (v) {
      var rel = mean > 0 ? (v / mean) : 0;
      return "<li>" + v + "<br><small>" + (rel >= 10 ? rel.toFixed(0) : rel.toFixed(1)) + "× city avg</small></li>";
    }).join("");
    document.getElementById("legend-city").textContent =
      "City total this hour: " + week.city_total[h].toFixed(1) + " expected incidents (" +
      mean.toFixed(4) + " per cell on average). Cells under 0.001 are not drawn.";
  }

  function showHour(h) {
    state.hour = h;
    slider.value = String(h);
    label.textContent = fmtHour(state.week.hour_starts[h]);
    mapEl.dataset.hour = String(h);
    heat.redraw();
    updateLegend();
  }

  function setCategory(category) {
    state.category = category;
    mapEl.dataset.forecastReady = "0";
    return loadWeek(category).then(function (week) {
      state.week = week;
      if (!palette) { buildPalette(config.q8); }
      slider.max = String(week.hours - 1);
      mapEl.dataset.category = category;
      showHour(Math.min(state.hour, week.hours - 1));
      mapEl.dataset.forecastReady = "1";
      if (state.cell != null) { showCell(state.cell); }
    });
  }

  function nearestCell(latlng) {
    var g = state.grid, best = -1, bestD = Infinity;
    for (var i = 0; i < g.n; i++) {
      var dy = (g.lat[i] - latlng.lat) / g.dlat, dx = (g.lon[i] - latlng.lng) / g.dlon[i];
      var d = Math.max(Math.abs(dx), Math.abs(dy));
      if (d < bestD) { bestD = d; best = i; }
    }
    return bestD <= 1.05 ? best : -1;
  }

  var outline = null;
  function showCell(i) {
    state.cell = i;
    var g = state.grid;
    if (outline) { outline.remove(); }
    outline = L.rectangle([[g.lat[i] - g.dlat, g.lon[i] - g.dlon[i]], [g.lat[i] + g.dlat, g.lon[i] + g.dlon[i]]],
      { color: "#123", weight: 2, fill: false, interactive: false }).addTo(map);
    var url = config.pointUrl + "?lat=" + g.lat[i] + "&lon=" + g.lon[i] + "&hours=" + state.week.hours +
      "&category=" + state.category + "&start=" + encodeURIComponent(config.start);
    return getJSON(url).then(function (p) {
      var panel = document.getElementById("cell-panel");
      panel.hidden = false;
      panel.dataset.cellId = String(p.cell_id);
      document.getElementById("cell-title").textContent = "Cell " + p.cell_id + ": the week ahead";
      var d = p.drivers;
      var trend = d.recent_vs_long_run == null ? "no incidents in the past year" :
        (d.recent_vs_long_run > 1.2 ? "recent activity is above its long-run level" :
          d.recent_vs_long_run < 0.8 ? "recent activity is below its long-run level" : "recent activity is near its long-run level");
      document.getElementById("cell-drivers").textContent =
        "What drives it: long-run level " + d.long_run_per_week + " incidents/week (past year), recent " +
        d.recent_per_week + "/week (last 4 weeks): " + trend + ". Forecast for this week: " +
        d.forecast_week_total + " expected.";
      var labels = p.hour_starts.map(fmtHour);
      var data = {
        labels: labels,
        datasets: [
          { label: "Forecast (expected per hour)", data: p.expected, borderColor: "#b3261e", pointRadius: 0, borderWidth: 1.5 },
          { label: "Past year, same hour of week (mean)", data: p.history_same_hour_of_week, borderColor: "#1f4fa3", pointRadius: 0, borderWidth: 1, borderDash: [4, 3] },
        ],
      };
      if (window.Chart) {
        if (state.chart) { state.chart.destroy(); }
        state.chart = new Chart(document.getElementById("cell-chart"), {
          type: "line", data: data,
          options: { animation: false, responsive: true, interaction: { mode: "index", intersect: false },
            scales: { x: { ticks: { maxTicksLimit: 7 } }, y: { beginAtZero: true } } },
        });
      }
      panel.dataset.ready = "1";
    });
  }

  function togglePlay() {
    if (state.timer) {
      clearInterval(state.timer); state.timer = null;
      playButton.textContent = "Play"; playButton.setAttribute("aria-pressed", "false");
      return;
    }
    playButton.textContent = "Pause"; playButton.setAttribute("aria-pressed", "true");
    state.timer = setInterval(function () { showHour((state.hour + 1) % state.week.hours); }, 600);
  }

  var map, heat = new HeatLayer();
  CrimeMap.create("map").then(function (m) {
    map = m.map;
    heat.addTo(map);
    return getJSON(config.gridUrl);
  }).then(function (grid) {
    var half = grid.cell_size_m / 2;
    state.grid = {
      n: grid.cell_ids.length, ids: grid.cell_ids, lon: grid.lon, lat: grid.lat,
      dlat: half / 111320,
      dlon: grid.lat.map(function (lat) { return half / (111320 * Math.cos(lat * Math.PI / 180)); }),
    };
    return setCategory(select.value);
  }).then(function () {
    slider.addEventListener("input", function () { showHour(parseInt(slider.value, 10)); });
    select.addEventListener("change", function () { setCategory(select.value); });
    playButton.addEventListener("click", togglePlay);
    map.on("click", function (e) {
      var i = nearestCell(e.latlng);
      if (i >= 0) { showCell(i); }
    });
  }).catch(function (err) {
    label.textContent = "Could not load the forecast: " + err.message;
    console.error(err);
  });
})();
