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
  var levelValues = null;
  function buildLevelValues(meta) {
    levelValues = new Float32Array(meta.levels + 1);
    var lo = Math.log(meta.min), hi = Math.log(meta.max);
    for (var q = 1; q <= meta.levels; q++) {
      levelValues[q] = Math.exp(lo + (q - 1) / (meta.levels - 1) * (hi - lo));
    }
  }

  function hourValues(week, hour) {
    var levels = hourLevels(week, hour), out = new Float32Array(levels.length);
    for (var i = 0; i < levels.length; i++) { out[i] = levelValues[levels[i]]; }
    return out;
  }

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

  function updateLegend(result) {
    var week = state.week, h = state.hour;
    if (!week || !result) { return; }
    CrimeHeat.fillLegend(document.getElementById("legend-classes"), result.bounds);
    var size = Math.round(state.grid.cellSize * result.level.k);
    document.getElementById("legend-city").textContent =
      "Whole city this hour: " + week.city_total[h].toFixed(1) + " expected reported incidents. " +
      "Coloured in " + size + " m squares at this zoom" + (result.level.k > 1 ? " (zoom in for 150 m)." : ".");
  }

  function showHour(h) {
    state.hour = h;
    slider.value = String(h);
    label.textContent = fmtHour(state.week.hour_starts[h]);
    mapEl.dataset.hour = String(h);
    heat.show(hourValues(state.week, h));  // heat.onChange updates the legend
  }

  function setCategory(category) {
    state.category = category;
    mapEl.dataset.forecastReady = "0";
    return loadWeek(category).then(function (week) {
      state.week = week;
      if (!levelValues) { buildLevelValues(config.q8); }
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
      // Named as people know it: the neighbourhood, and the nearest named place
      // where the place index can say (never a cell id).
      var title = document.getElementById("cell-title");
      var where = p.neighbourhood || "This 150 m square";
      title.textContent = where + ": the week ahead";
      panel.dataset.place = where;
      placeName(g.lat[i], g.lon[i]).then(function (near) {
        if (near && state.cell === i) {
          title.textContent = where + ", " + near + ": the week ahead";
          panel.dataset.place = where + ", " + near;
        }
      });
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

  // Where a click is, in words (the place index's reverse lookup): never a cell id.
  function placeName(lat, lon) {
    if (!config.reverseUrl) { return Promise.resolve(null); }
    return getJSON(config.reverseUrl + "?lat=" + lat.toFixed(6) + "&lon=" + lon.toFixed(6))
      .then(function (fc) { var f = (fc.features || [])[0]; return f ? f.properties.name : null; })
      .catch(function () { return null; });
  }

  var map, heat;
  window.forecastPage = state; // for the browser tests and a console
  CrimeMap.create("map").then(function (m) {
    map = state.map = m.map;
    return getJSON(config.gridUrl).then(function (grid) {
      var half = grid.cell_size_m / 2;
      state.grid = {
        n: grid.cell_ids.length, ids: grid.cell_ids, lon: grid.lon, lat: grid.lat, cellSize: grid.cell_size_m,
        dlat: half / 111320,
        dlon: grid.lat.map(function (lat) { return half / (111320 * Math.cos(lat * Math.PI / 180)); }),
      };
      heat = CrimeHeat.create(m, grid);
      heat.onChange = updateLegend;
      return heat.ready;
    });
  }).then(function () {
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
