// History page: filters in the URL, a heat grid or area choropleth, charts, cell popups.
// All numbers come from /api/v1/ with the page's own query string, so the page and the
// API always agree. No raw points reach the browser: the grid is aggregated in PostGIS.
import { readJson } from "../lib/config.js";
import { getJson, reversePlace } from "../lib/api.js";
import { CLASSES, OPACITY, classBounds, classOf, legendItems } from "../lib/heat_classes.js";
import { createMap } from "../lib/map.js";
import { dayLabel } from "../lib/dates.js";
import { breaks, cellSizeForZoom, colorFor } from "./history_scale.js";

const config = readJson("history-config");
var form = document.getElementById("filters");
var mapEl = document.getElementById("map");
var resultEl = document.getElementById("result");
var DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
var HISTORY_UNIT = { per: "reports per km² per year", none: "no reports" };
var state = { map: null, view: null, layer: null, legend: null, charts: {}, boundaries: {}, request: 0 };
window.historyPage = state; // for the browser tests and for debugging in a console

function fmt(n) { return Number(n).toLocaleString("en-US"); }
// A form's calendar day ("2021-01-01") with its weekday and year: "Fri 1 Jan 2021".
function calendarDay(ymd) { return /^\d{4}-\d{2}-\d{2}$/.test(ymd) ? dayLabel(ymd + "T12:00:00Z", "UTC") : ymd; }
function escapeHtml(s) {
  return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}

// --- filters <-> URL ---------------------------------------------------------------
function formParams() {
  var params = new URLSearchParams();
  new FormData(form).forEach(function (value, key) {
    if (value !== "") { params.append(key, value); }
  });
  Object.keys(config.fixed).forEach(function (k) { params.set(k, config.fixed[k]); });
  return params;
}
function apiParams(extra) {
  var params = formParams();
  config.pageParams.forEach(function (k) { params.delete(k); });
  Object.keys(extra || {}).forEach(function (k) { params.set(k, extra[k]); });
  return params;
}
function viewMode() {
  var checked = form.querySelector("input[name=view]:checked");
  return checked ? checked.value : "heat";
}
// Maps and lists of areas compare reports per km² unless raw counts are chosen.
function byDensity() {
  var checked = form.querySelector("input[name=measure]:checked");
  return !checked || checked.value === "density";
}
function areaValue(p) {
  return byDensity() ? (p.per_km2_per_year == null ? 0 : Math.round(p.per_km2_per_year)) : p.count;
}
function pageUrl() {
  var params = formParams();
  Object.keys(config.fixed).forEach(function (k) { params.delete(k); });
  if (params.get("view") === "heat") { params.delete("view"); }
  var qs = params.toString();
  return window.location.pathname + (qs ? "?" + qs : "");
}
function api(name, extra) { return config.api[name] + "?" + apiParams(extra).toString(); }

// --- the map -----------------------------------------------------------------------
function setLegend(title, bks, max, unitFn) {
  var div = state.legend;
  var rows = [];
  var lows = [1].concat(bks);
  for (var i = 0; i < lows.length; i++) {
    var lo = lows[i];
    var hi = i + 1 < lows.length ? lows[i + 1] - 1 : max;
    if (hi < lo) { continue; }
    var label = lo === hi ? fmt(lo) : fmt(lo) + "–" + fmt(hi);
    rows.push('<li><span class="swatch" data-bg="' + colorFor(lo, bks) + '"></span>' +
      label + (unitFn ? ' <small>(' + unitFn(lo, hi) + ')</small>' : "") + "</li>");
  }
  div.innerHTML = "<strong>" + title + "</strong><ul>" + (rows.join("") || "<li>no incidents</li>") + "</ul>";
  paint(div);
}
// Colours are set through the CSSOM: the Content-Security-Policy refuses style=""
// attributes in markup (core/csp.py).
function paint(root) {
  root.querySelectorAll("[data-bg]").forEach(function (el) {
    el.style.background = el.dataset.bg;
    if (el.dataset.fg) { el.style.color = el.dataset.fg; }
  });
}

// The heat: each square's reports per km² per year, coloured by its rank among the
// squares with reports on the forecast's scale (the same classes, colours and legend:
// lib/heat_classes.js), in the map's "heat" pane, under the base map's labels.
function drawGrid(grid) {
  state.layer.clearLayers();
  var half = grid.cell_size / 2;
  var years = grid.days / 365.25;
  var km2 = (grid.cell_size * grid.cell_size) / 1e6;
  var density = grid.counts.map(function (n) { return n / km2 / years; });
  var bounds = classBounds(density);
  var pane = state.map.getPane("heat") ? "heat" : "overlayPane";
  for (var i = 0; i < grid.cells.length; i++) {
    var cls = classOf(density[i], bounds);
    var lat = grid.lat[i], lon = grid.lon[i];
    // UTM cells are squares in metres; at this size they are rectangles in degrees
    // (grid convergence here is ~0.5 degrees: under 1.5 m at a 150 m cell).
    var dLat = half / 111320, dLon = half / (111320 * Math.cos((lat * Math.PI) / 180));
    var cell = { id: grid.cells[i], count: grid.counts[i], size: grid.cell_size };
    var rect = state.view.box(state.layer, [lon - dLon, lat - dLat], [lon + dLon, lat + dLat], {
      stroke: false, pane: pane,
      fillColor: cls ? CLASSES[cls - 1].colour : "#000",
      fillOpacity: cls ? OPACITY : 0,  // below the top half: clear, yet clickable
    }, { onClick: onCellClick.bind(null, cell, [lon, lat]) });
    // What the cell is, on its layer (the browser tests pick the busiest).
    rect.cellId = cell.id;
    rect.cellCount = cell.count;
  }
  state.legend.innerHTML = "<strong>Reports per km² per year, " + grid.cell_size + " m squares</strong>" +
    "<p class='legend-lead'>Shares of the squares with reports, busiest first:</p>" +
    "<ul class='heat-legend'>" + legendItems(bounds, HISTORY_UNIT) + "</ul>";
  paint(state.legend);
  mapEl.dataset.cells = String(grid.cells.length);
  mapEl.dataset.cellSize = String(grid.cell_size);
  mapEl.dataset.total = String(grid.total);
  setResult(grid.total, grid.unlocated + grid.outside_grid);
}

function setResult(total, notOnMap) {
  // Said against every record loaded (the home page's count), so the two pages agree:
  // "69,842 of the 71,121 reports loaded: offenses from Fri 1 Jan 2021 to ...".
  const loaded = config.loadedTotal;
  const of = loaded && total < loaded ? " of the " + fmt(loaded) + " reports loaded" : " reported incidents";
  resultEl.textContent = fmt(total) + of + ": offenses from " + calendarDay(form.start.value) + " to " +
    calendarDay(form.end.value) + (notOnMap ? " (" + fmt(notOnMap) + " without a location are not on the map)" : "") + ".";
  var note = document.getElementById("export-note");
  if (total > config.exportMaxRows) {
    note.textContent = "(capped: the newest " + fmt(config.exportMaxRows) + " of " + fmt(total) + " incidents)";
    note.className = "capped";
  } else {
    note.textContent = "(" + fmt(total) + " incidents)";
    note.className = "";
  }
}

function boundary(kind) {
  if (!state.boundaries[kind]) { state.boundaries[kind] = getJson(config.boundaries[kind]); }
  return state.boundaries[kind];
}

function drawAreas(kind, areas, shapes) {
  state.layer.clearLayers();
  var byCode = {};
  areas.features.forEach(function (f) { byCode[f.id] = f.properties; });
  var values = areas.features.map(function (f) { return areaValue(f.properties); }).filter(function (v) { return v > 0; });
  var bks = breaks(values);
  var max = Math.max.apply(null, values.concat([0]));
  state.view.geojson(state.layer, shapes, {
    style: function (f) {
      var v = byCode[f.id] ? areaValue(byCode[f.id]) : 0;
      return { color: "#555", weight: 1, fillColor: v ? colorFor(v, bks) : "#eee", fillOpacity: 0.7 };
    },
    onEachFeature: function (f, lyr) {
      var p = byCode[f.id] || { label: f.id, count: 0 };
      var link = config.areaPage.replace("KIND", kind).replace("CODE", encodeURIComponent(f.id)) + "?" + apiParams().toString();
      lyr.bindPopup("<strong>" + escapeHtml(p.label) + "</strong><br>" + fmt(p.count) + " reported incidents" +
        (p.per_km2_per_year != null ? "<br>" + fmt(Math.round(p.per_km2_per_year)) + " per km² per year" : "") +
        '<br><a href="' + escapeHtml(link) + '">Open area page</a>');
    },
  });
  var unit = kind === "beat" ? "beat" : "MCPP area";
  setLegend(byDensity() ? "Reports per km² per year, by " + unit : "Reports per " + unit + " (raw counts)", bks, max, null);
  mapEl.dataset.cells = String(areas.features.length);
  mapEl.dataset.cellSize = kind;
  mapEl.dataset.total = String(areas.total);
  setResult(areas.total, 0);
}

function refreshMap() {
  var id = ++state.request;
  mapEl.dataset.loading = "1";
  var mode = viewMode();
  var done;
  var measureField = document.getElementById("measure-field");
  if (measureField) { measureField.hidden = mode === "heat"; }
  if (mode === "heat") {
    var size = cellSizeForZoom(state.map.getZoom(), config.cellSizes);
    done = getJson(api("history-grid", { cell_size: size })).then(function (grid) {
      if (id === state.request) { drawGrid(grid); }
    });
  } else {
    done = Promise.all([getJson(api("areas", { kind: mode, geometry: "false" })), boundary(mode)])
      .then(function (res) { if (id === state.request) { drawAreas(mode, res[0], res[1]); } });
  }
  return done.then(function () {
    if (id === state.request) {
      mapEl.dataset.loading = "0";
      mapEl.dataset.query = apiParams().toString();
    }
  }, showError);
}

// --- cell popup --------------------------------------------------------------------
function onCellClick(cell, centre, point) {
  var size = cell.size;
  var extra = { cell: cell.id, cell_size: size };
  var box = document.createElement("div");
  box.className = "cell-popup";
  // Named as people know it (the place index's reverse lookup), never by a cell id.
  box.innerHTML = "<strong class='cell-name'>This " + size + " m square</strong>: " + fmt(cell.count) +
    " reported incidents<div class='cell-groups'>Loading…</div>" +
    "<div class='cell-chart'><canvas aria-label='Hour of day profile of this cell' role='img'></canvas></div>" +
    "<div class='cell-incidents'></div>";
  state.view.popup(point, box, { maxWidth: 360, minWidth: 260 });
  if (config.reverseUrl) {
    reversePlace(config.reverseUrl, centre).then(function (fc) {
      var f = (fc.features || [])[0];
      if (f) { box.querySelector(".cell-name").textContent = "The " + size + " m square at " + f.properties.name; }
    }, function () { /* the square keeps its plain name */ });
  }
  Promise.all([getJson(api("history-groups", extra)), getJson(api("history-profile", extra)), loadChartLibrary()]).then(function (res) {
    var groups = res[0].groups.slice(0, 8);
    box.querySelector(".cell-groups").innerHTML = "<table class='mini'><caption>By offense group</caption>" +
      groups.map(function (g) {
        return "<tr><td>" + escapeHtml(g.label) + "</td><td class='num'>" + fmt(g.count) + "</td></tr>";
      }).join("") + "</table>";
    new window.Chart(box.querySelector("canvas"), {
      type: "bar",
      data: { labels: res[1].hours, datasets: [{ label: "by hour of day", data: res[1].by_hour, backgroundColor: "#dc4232" }] },
      options: { animation: false, plugins: { legend: { display: false }, title: { display: true, text: "By hour of day (Seattle time)" } },
        scales: { x: { ticks: { maxTicksLimit: 12 } } }, maintainAspectRatio: false },
    });
    box.dataset.ready = "1";
  }, showError);
  showIncidents(box.querySelector(".cell-incidents"), extra, 1);
}

function showIncidents(el, extra, page) {
  var params = Object.assign({ page: page, page_size: 5 }, extra);
  getJson(api("incidents", params)).then(function (data) {
    var last = Math.max(1, Math.ceil(data.count / data.page_size));
    var rows = data.features.map(function (f) {
      var p = f.properties;
      return "<li><time>" + escapeHtml((p.offense_start || "").replace("T", " ").slice(0, 16)) + "</time> " +
        escapeHtml(p.offense) + "<br><small>" + escapeHtml(p.block_address || "no address") + "</small></li>";
    }).join("");
    el.innerHTML = "<p class='mini-title'>Incidents (newest first)</p><ol class='incidents'>" + rows + "</ol>" +
      "<div class='pager'><button type='button' class='prev'" + (data.previous ? "" : " disabled") + ">Previous</button> " +
      "<span>page " + data.page + " of " + Math.min(last, 9999) + "</span> " +
      "<button type='button' class='next'" + (data.next ? "" : " disabled") + ">Next</button></div>";
    el.querySelector(".prev").onclick = function () { showIncidents(el, extra, page - 1); };
    el.querySelector(".next").onclick = function () { showIncidents(el, extra, page + 1); };
  }, showError);
}

// --- charts ------------------------------------------------------------------------
// Chart.js (200 KB of script) and the two charts wait until the charts come near the
// screen: on a phone they are below the map, which comes first. A cell's popup loads
// the library when it opens.
var chartsSection = document.getElementById("charts");
var chartsNear = new Promise(function (resolve) {
  if (!("IntersectionObserver" in window)) { resolve(); return; }
  var seen = new IntersectionObserver(function (entries) {
    if (entries.some(function (e) { return e.isIntersecting; })) { seen.disconnect(); resolve(); }
  }, { rootMargin: "200px" });
  seen.observe(chartsSection);
});
var chartLibrary = null;
function loadChartLibrary() {
  if (!chartLibrary) {
    chartLibrary = new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = chartsSection.dataset.chartSrc;
      script.onload = resolve;
      script.onerror = function () { reject(new Error("could not load the charts")); };
      document.head.appendChild(script);
    });
  }
  return chartLibrary;
}
function chart(id, cfg) {
  if (state.charts[id]) { state.charts[id].destroy(); }
  state.charts[id] = new window.Chart(document.getElementById(id), cfg);
}
function refreshCharts() {
  var profile = getJson(api("history-profile")).then(drawProfile);
  var kind = viewMode() === "mcpp" ? "mcpp" : "beat";
  var areas = document.getElementById("areas-table") ?
    getJson(api("areas", { kind: kind, geometry: "false" })).then(drawAreaTable) : Promise.resolve();
  // body[data-charts-ready] once drawn (the tests scroll to them first).
  var params = apiParams().toString();
  chartsNear.then(loadChartLibrary).then(function () {
    return params === apiParams().toString() ? drawCharts() : null;  // else a newer call draws
  }).then(function () { document.body.dataset.chartsReady = "1"; }, showError);
  return Promise.all([profile, areas]).catch(showError);
}
function drawCharts() {
  var days = (new Date(form.end.value) - new Date(form.start.value)) / 86400000 + 1;
  var interval = days > 120 ? "month" : days > 21 ? "week" : "day";
  document.getElementById("trend-title").textContent = "Reported incidents by " + interval;
  var trend = getJson(api("history-timeseries", { interval: interval })).then(function (ts) {
    chart("trend-chart", {
      type: "line",
      data: { labels: ts.buckets.map(function (b) { return interval === "month" ? b.slice(0, 7) : b.slice(0, 10); }),
        datasets: [{ label: "incidents per " + interval, data: ts.counts, borderColor: "#b3261e", backgroundColor: "#b3261e", pointRadius: 1.5, tension: 0.2 }] },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
    });
  });
  var groups = getJson(api("history-groups")).then(function (g) {
    var top = g.groups.slice(0, 10);
    chart("groups-chart", {
      type: "bar",
      data: { labels: top.map(function (x) { return x.label; }),
        datasets: [{ label: "incidents", data: top.map(function (x) { return x.count; }), backgroundColor: "#f4733a" }] },
      options: { indexAxis: "y", animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } } },
    });
  });
  return Promise.all([trend, groups]);
}
function drawProfile(p) {
  var max = Math.max.apply(null, p.by_hour.length ? [].concat.apply([], p.matrix) : [0]) || 1;
  var head = "<thead><tr><th scope='col'>Day</th>" + p.hours.map(function (h) {
    return "<th scope='col'>" + (h < 10 ? "0" : "") + h + "</th>";
  }).join("") + "</tr></thead>";
  var body = p.matrix.map(function (row, d) {
    return "<tr><th scope='row'>" + DAYS[d] + "</th>" + row.map(function (v) {
      // Between shades 0.6 and 0.85 neither dark nor white text reaches a 4.5:1
      // contrast, so the scale steps over them (WCAG AA, axe color-contrast).
      var a = v / max;
      var shade = a <= 0.6 ? a : 0.85 + (a - 0.6) * 0.375;
      return "<td data-bg='rgba(176,31,46," + shade.toFixed(2) + ")' data-fg='" + (a > 0.6 ? "#fff" : "#222") + "'>" + fmt(v) + "</td>";
    }).join("") + "</tr>";
  }).join("");
  var table = document.getElementById("profile-table");
  table.innerHTML = "<caption class='sr-only'>Reported incidents by day and hour</caption>" + head + "<tbody>" + body + "</tbody>";
  paint(table);
  table.dataset.total = String(p.total);
}
function drawAreaTable(areas) {
  // Labels and the "outside" group's words come from the API (crimes.names).
  var kind = areas.kind;
  var rows = areas.features.slice().sort(function (a, b) {
    return areaValue(b.properties) - areaValue(a.properties) || b.properties.count - a.properties.count;
  });
  var params = apiParams();
  params.delete(kind);
  function row(p) {
    var href = config.areaPage.replace("KIND", kind).replace("CODE", encodeURIComponent(p.code)) + "?" + params.toString();
    return "<tr><td><a href='" + escapeHtml(href) + "'>" + escapeHtml(p.label) + "</a> <small class='code'>" +
      escapeHtml([p.code, kind === "mcpp" ? p.precinct_label : ""].filter(Boolean).join(" · ")) + "</small></td><td class='num'>" +
      fmt(p.count) + "</td><td class='num'>" + (p.per_km2_per_year == null ? "–" : fmt(Math.round(p.per_km2_per_year))) + "</td></tr>";
  }
  var out = areas.outside;
  var codes = out.codes.map(function (c) {
    return "<tr><td>" + escapeHtml(c.label) + "</td><td class='num'>" + fmt(c.count) + "</td><td class='num'>–</td></tr>";
  });
  document.getElementById("areas-table").innerHTML =
    "<thead><tr><th scope='col'>" + (kind === "beat" ? "Beat" : "MCPP area") + "</th><th scope='col'>Reported incidents</th>" +
    "<th scope='col'>per km² per year</th></tr></thead><tbody>" +
    rows.filter(function (f) { return !f.properties.outside; }).map(function (f) { return row(f.properties); }).join("") +
    "</tbody><tbody class='outside'><tr><th scope='rowgroup' colspan='3'>" + escapeHtml(out.label) + ": " + fmt(out.count) +
    "<p class='note'>" + escapeHtml(out.note) + "</p></th></tr>" +
    rows.filter(function (f) { return f.properties.outside; }).map(function (f) { return row(f.properties); }).join("") +
    codes.join("") + "</tbody>";
}

function showError(err) {
  resultEl.textContent = "Could not load: " + (err && err.message ? err.message : err);
  resultEl.className = "result error";
  mapEl.dataset.loading = "0";
}

function updateExportLinks() {
  var qs = apiParams().toString();
  document.getElementById("export-csv").href = config.api["export-csv"] + "?" + qs;
  document.getElementById("export-geojson").href = config.api["export-geojson"] + "?" + qs;
}

function refreshAll() {
  resultEl.className = "result";
  updateExportLinks();
  return Promise.all([refreshMap(), refreshCharts()]);
}

function onFilterChange() {
  // Dates are always written out once a visitor changes something, so a shared
  // link keeps meaning the same days after the next import.
  var url = pageUrl();
  if (Object.keys(config.fixed).length) {
    // An area page leads with a sentence the server writes for its filters.
    window.location.assign(url);
    return;
  }
  if (url !== window.location.pathname + window.location.search) {
    window.history.pushState(null, "", url);
  }
  refreshAll();
}

// (On a phone the filters start folded: the template folds them before the first
// paint, so nothing moves.)
form.addEventListener("change", onFilterChange);
form.addEventListener("submit", function (e) { e.preventDefault(); onFilterChange(); });
window.addEventListener("popstate", function () { window.location.reload(); });

createMap("map").then(function (view) {
  state.view = view;
  state.map = view.map;
  // The legend sits under the map (room kept for it in the page): inside the map it
  // covered half a phone's map, and its arrival moved what was drawn.
  state.legend = document.getElementById("legend");
  var areaGeom = document.getElementById("area-geometry");
  if (areaGeom) {
    var outline = view.geojson(view.group(), JSON.parse(JSON.parse(areaGeom.textContent)), {
      style: { color: "#1f4fa3", weight: 2, fill: false }, interactive: false,
      pane: state.map.getPane("outline") ? "outline" : "overlayPane",
    });
    view.fitLayer(outline);
  }
  state.layer = view.group();  // the counts, drawn over the area's outline
  var lastSize = cellSizeForZoom(state.map.getZoom(), config.cellSizes);
  state.map.on("zoomend", function () {
    var size = cellSizeForZoom(state.map.getZoom(), config.cellSizes);
    if (viewMode() === "heat" && size !== lastSize) { lastSize = size; refreshMap(); }
  });
  return refreshAll();
}).then(function () { document.body.dataset.historyReady = "1"; }, showError);
