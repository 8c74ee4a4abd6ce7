// The commute page: mark a route, score it through the API, show when to leave.
// Walk, bike and drive come back as routes along the streets: the shortest and up to
// two safer alternatives, all drawn; picking one shows its timeline, best times and
// riskiest stretch. State lives in the URL (a link reopens the same commute and the
// same pick; commute_state.js reads and writes it) and recent commutes in
// localStorage; nothing about the visitor goes to the server beyond the route itself.
import { readJson, siteConfig } from "../lib/config.js";
import { postJson, reversePlace } from "../lib/api.js";
import { createMap } from "../lib/map.js";
import { attachTypeahead } from "../lib/typeahead.js";
import { dayTimeLabel, hourLabel } from "../lib/dates.js";
import * as R from "./commute_routes.js";
import * as S from "./commute_state.js";

const config = readJson("commute-config");
const RECENT_KEY = "crimepredict.recentCommutes";
const SEATTLE_TZ = siteConfig().timeZone;  // served by the site (one definition)
const FORM_IDS = { mode: "mode", from: "window-start", to: "window-end", days: "window-days" };

let state = S.emptyState(formValues());
let view = null;                 // the MapView, once the map is drawn
const layers = { pins: null, route: null, routes: null, keys: null, segments: null };
let chart = null;
let lastResult = null;
let currentView = "week";
let requestSeq = 0;

function $(id) { return document.getElementById(id); }
function fmt(x, digits) {
  if (x === null || x === undefined) { return "n/a"; }
  return Number(x).toPrecision(digits || 2);
}
function formValues() {
  const values = {};
  for (const [key, id] of Object.entries(FORM_IDS)) { values[key] = $(id).value; }
  return values;
}
function showForm() {
  for (const [key, id] of Object.entries(FORM_IDS)) { $(id).value = state[key]; }
}
function pagePath(query) { return window.location.pathname + "?" + query; }
function keepInUrl() { window.history.replaceState(null, "", pagePath(S.queryFromState(state))); }

// --- time helpers (the API sends Seattle-local ISO strings with their offset) ---
// With the weekday and the year always (lib/dates.js): "Tue 4 Jan 2022, 10:00 AM".
function whenLabel(iso) { return dayTimeLabel(iso, SEATTLE_TZ); }

// --- status and errors ---
function setStatus(text) { $("commute-status").textContent = text; }
function showError(text) {
  const el = $("commute-error");
  el.textContent = text || "";
  el.hidden = !text;
}

// --- map pins and the preview line ---
function drawRoute() {
  renderWaypointList();
  if (!view) { return; }
  layers.pins.clearLayers();
  layers.route.clearLayers();
  const routed = lastResult && lastResult.routes && lastResult.routes.length;
  const moved = (p) => (point) => {
    const next = S.place(point);
    state = S.movePlace(state, p, next);
    describe(next);
    syncInputs();
    changed();
  };
  if (state.start) {
    view.pin(layers.pins, state.start.point, { cls: "cm-start", text: "A", title: "Start", onMove: moved(state.start) });
  }
  state.via.forEach((p, i) => {
    view.pin(layers.pins, p.point, {
      cls: "cm-via", text: String(i + 1), title: "Waypoint " + (i + 1) + " (click to remove)",
      onMove: moved(p), onClick: () => removeVia(p),
    });
  });
  if (state.end) {
    view.pin(layers.pins, state.end.point, { cls: "cm-end", text: "B", title: "Destination", onMove: moved(state.end) });
  }
  const points = S.routePoints(state);
  if (points.length >= 2 && !routed) {
    // Until the server answers: a thin straight preview through the points.
    view.line(layers.route, points, { color: "#1f4fa3", weight: 2, opacity: 0.6, dashArray: "4 6" });
  }
}

// --- the routes the server found (shortest first), the picked one on top ---
// Each route has its own colour and dash and its key (S, 1, 2) on the map, in the
// list and in the legend under the map; a click on any of them picks it everywhere.
function drawRoutes() {
  layers.routes.clearLayers();
  layers.keys.clearLayers();
  const routes = lastResult ? lastResult.routes : [];
  const el = $("commute-map");
  el.dataset.routes = String(routes.length);
  el.dataset.pick = String(state.pick);
  const order = routes.map((r, i) => i).filter((i) => i !== state.pick);
  if (routes[state.pick]) { order.push(state.pick); }
  const shortest = routes.length ? routes[0].geometry.coordinates : null;
  order.forEach((i) => {
    const r = routes[i];
    const picked = i === state.pick;
    if (picked) {  // a white casing under the picked route, so it stands out
      view.line(layers.routes, r.geometry.coordinates, { color: "#fff", weight: 13, opacity: 0.9 });
    }
    view.line(layers.routes, r.geometry.coordinates, R.routeStyle(i, picked),
      { tooltip: routeTitle(r, i), onClick: () => pick(i) });
    const at = R.keyPoint(r.geometry.coordinates, i === 0 ? null : shortest);
    if (routes.length > 1 && at) {
      const key = R.routeKey(r, i);
      view.badge(layers.keys, at, {
        cls: "route-key-" + (i % R.ROUTE_STYLES.length) + (picked ? " picked" : ""),
        text: key, title: "Route " + key + ": " + routeTitle(r, i), onClick: () => pick(i),
      });
    }
  });
  renderLegend(routes);
}

// A line of the route's colour and dash, for the list and the legend.
function routeSwatch(i) {
  const s = R.routeStyle(i, false);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "route-swatch");
  svg.setAttribute("viewBox", "0 0 40 10");
  svg.setAttribute("aria-hidden", "true");
  const line = document.createElementNS(ns, "line");
  for (const [k, v] of Object.entries({ x1: 2, y1: 5, x2: 38, y2: 5, stroke: s.color, "stroke-width": 4, "stroke-linecap": s.lineCap })) {
    line.setAttribute(k, String(v));
  }
  if (s.dashArray) { line.setAttribute("stroke-dasharray", s.dashArray.split(" ").map((n) => n / 2).join(" ")); }
  svg.appendChild(line);
  return svg;
}

function renderLegend(routes) {
  const ul = $("map-legend");
  ul.innerHTML = "";
  ul.hidden = !routes.length;
  routes.forEach((r, i) => {
    const li = document.createElement("li");
    li.appendChild(routeSwatch(i));
    const text = document.createElement("span");
    text.textContent = (routes.length > 1 ? R.routeKey(r, i) + " · " : "") + (r.kind === "alternative" ? "Alternative " + i : routeTitle(r, i)) +
      (i === state.pick ? " (shown below)" : "");
    li.appendChild(text);
    ul.appendChild(li);
  });
  const stretch = document.createElement("li");
  stretch.innerHTML = '<span class="stretch-swatch" aria-hidden="true"></span><span>Stretch to watch (red)</span>';
  ul.appendChild(stretch);
}

function casing(layer) { return layer.options.color === "#fff"; }

function routeTitle(r, i) {
  // "+3 min, avoids the busiest blocks of Broadway" (the API's words), else numbers.
  if (r.kind === "alternative") { return "Alternative " + i + ": " + (r.words.alternative || r.comparison); }
  if (r.kind === "as_drawn") { return "Your route, as drawn"; }
  // Transit: no transit data yet, so a straight line at its door-to-door speed.
  return r.along === "streets" ? "Shortest by time" : r.along_label.charAt(0).toUpperCase() + r.along_label.slice(1);
}

function pick(i) {
  if (!lastResult || !lastResult.routes[i]) { return; }
  state = { ...state, pick: i };
  keepInUrl();
  render(lastResult);
}

function renderRouteChoices(data) {
  const ul = $("route-choices");
  ul.innerHTML = "";
  const dep = data.depart;
  $("route-depart").textContent = "Expected for leaving " + whenLabel(dep.departure) +
    (dep.chosen === "given" ? " (your choice)" : " (the shortest route's best time in your window)") + ".";
  data.routes.forEach((r, i) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "route-choice" + (i === state.pick ? " picked" : "");
    b.setAttribute("aria-pressed", i === state.pick ? "true" : "false");
    b.dataset.index = String(i);
    if (data.routes.length > 1) {
      const key = document.createElement("span");
      key.className = "route-key route-key-" + (i % R.ROUTE_STYLES.length);
      key.textContent = R.routeKey(r, i);
      key.setAttribute("aria-hidden", "true");
      b.appendChild(key);
    }
    b.appendChild(routeSwatch(i));
    const title = document.createElement("strong");
    title.textContent = routeTitle(r, i);
    b.appendChild(title);
    const detail = document.createElement("span");
    // An alternative is told apart by the streets the shortest does not take.
    const shortestStreets = data.routes[0].streets;
    const via = i === 0 ? [] : r.streets.filter((n) => shortestStreets.indexOf(n) < 0);
    const streets = via.length ? "via " + via.slice(0, 4).join(", ") + (via.length > 4 ? ", …" : "")
      : r.streets.slice(0, 4).join(", ") + (r.streets.length > 4 ? ", …" : "");
    detail.textContent = (r.length_m / 1000).toFixed(1) + " km, about " + Math.round(r.duration_min) + " min, " +
      fmt(r.expected, 2) + " expected reported incidents" + (streets ? " — " + streets : "");
    b.appendChild(detail);
    b.addEventListener("click", () => pick(i));
    li.appendChild(b);
    ul.appendChild(li);
  });
  const only = data.routes.length === 1 && data.routes[0].along === "streets";
  $("route-none").hidden = !only;
}

function removeVia(p) {
  state = S.removeWaypoint(state, p);
  changed();
}

function renderWaypointList() {
  const list = $("waypoint-list");
  list.innerHTML = "";
  state.via.forEach((p, i) => {
    const li = document.createElement("li");
    li.textContent = S.placeLabel(p);
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = "Remove";
    b.setAttribute("aria-label", "Remove waypoint " + (i + 1));
    b.addEventListener("click", () => removeVia(p));
    li.appendChild(b);
    list.appendChild(li);
  });
}

function syncInputs() {
  $("start-input").value = S.placeLabel(state.start);
  $("end-input").value = S.placeLabel(state.end);
}

function onMapClick(point) {
  const p = S.place(point);
  state = S.addClicked(state, p);
  describe(p);
  syncInputs();
  changed();
}

// A clicked or dragged point gets a name people know ("near 15XX Broadway, at
// E Pine St") from the reverse lookup; until it answers, the coordinates show. The
// name goes to that place itself: wherever it is in the list by then.
async function describe(p) {
  let fc;
  try { fc = await reversePlace(config.reverseUrl, p.point); }
  catch (err) { return; /* the coordinates stay: a name is a nicety */ }
  if (!fc || !fc.features || !fc.features.length || !S.holds(state, p)) { return; }
  state = S.namePlace(state, p, fc.features[0].properties.name);
  syncInputs();
  drawRoute();
  keepInUrl();
}

// --- recent commutes (this browser only) ---
function loadRecent() {
  try { return JSON.parse(window.localStorage.getItem(RECENT_KEY)) || []; }
  catch (err) { return []; }
}

function remember(query, label) {
  const list = S.remembered(loadRecent(), { query, label });
  try { window.localStorage.setItem(RECENT_KEY, JSON.stringify(list)); }
  catch (err) { /* storage full or disabled: remembering is optional */ }
  renderRecent();
}

function renderRecent() {
  const ul = $("recent-list");
  ul.innerHTML = "";
  const list = loadRecent();
  if (!list.length) {
    const li = document.createElement("li");
    li.className = "hint";
    li.textContent = "none yet";
    ul.appendChild(li);
    return;
  }
  list.forEach((r) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = pagePath(r.query);
    a.textContent = r.label;
    li.appendChild(a);
    ul.appendChild(li);
  });
}

// --- scoring ---
function changed() {
  // A new route or window: back to the shortest and the best departure (the state
  // functions reset pick and depart); the old answer's routes go.
  lastResult = null;
  if (layers.routes) { layers.routes.clearLayers(); }
  drawRoute();
  keepInUrl();
  if (state.start && state.end) { score(); }
  else { setStatus(state.start ? "Now click (or type) the destination." : "Click the map to place the start."); }
}

async function score() {
  const body = S.scoreRequest(state);
  if (!body) { showError("Place a start and a destination first."); return; }
  showError("");
  setStatus("Scoring…");
  const mine = ++requestSeq;
  let data;
  try {
    data = await postJson(config.scoreUrl, body);
  } catch (err) {
    if (mine !== requestSeq) { return; }
    showError(err.message);
    setStatus("");
    return;
  }
  if (mine !== requestSeq) { return; }
  lastResult = data;
  if (!data.routes || !data.routes[state.pick]) { state = { ...state, pick: 0 }; }
  drawRoute();
  render(data);
  view.showLines(data.routes.map((r) => r.geometry.coordinates));
  const label = S.placeLabel(state.start) + " → " + S.placeLabel(state.end) + " (" + state.mode + ")";
  remember(S.queryFromState(state), label);
  const n = data.routes.length;
  setStatus(n > 1 ? n + " routes found: pick one on the map or in the list below." : "Scored. Best times and the stretch to watch are below.");
}

function render(data) {
  $("results").hidden = false;
  const r = data.routes[state.pick] || data.routes[0];
  const props = data.route.properties;
  // Words a person can act on (the API's `words`): where the route stands among
  // similar trips, and how often a report falls near the way itself.
  const said = [r.words.standing, r.words.one_in_n].filter(Boolean).map(sentence);
  $("route-summary").textContent =
    (r.length_m / 1000).toFixed(1) + " km by " + props.mode + " " + r.along_label + ", about " + Math.round(r.duration_min) +
    " min. " + (said.length ? said.join(". ") + "." : "Not yet compared with similar trips for this forecast.");
  renderRouteChoices(data);
  drawRoutes();
  renderBest(r.departures, r.words);
  renderRiskiest(r, props.corridor_half_width_m);
  renderSegments(r.segments);
  renderChart();
  $("honest-note").textContent = data.note;
  const query = S.queryFromState(state);
  $("share-link").href = pagePath(query);
  $("share-link").textContent = window.location.origin + pagePath(query);
  // The notes' sign-up reads the same query as this page (alerts).
  $("notes-link").href = $("notes-link").pathname + "?" + query;
}

function sentence(text) { return text.charAt(0).toUpperCase() + text.slice(1); }

function renderBest(dep, words) {
  const ol = $("best-times");
  ol.innerHTML = "";
  const w = dep.window;
  $("window-label").textContent = "(" + w.start + "–" + w.end + ", " + w.days.join(" ") + ")";
  dep.best.forEach((d) => {
    const li = document.createElement("li");
    li.className = "best-time";
    li.textContent = whenLabel(d.departure) + ": " + fmt(d.expected, 2) + " expected ";
    // Routes depend on when you leave: find them for this departure.
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary depart-button";
    b.textContent = "Routes for this time";
    b.addEventListener("click", () => leaveAt(d.departure));
    li.appendChild(b);
    ol.appendChild(li);
  });
  // "Leave at 8:40 am rather than 8 am: 20% fewer", or "about the same" when the
  // difference is within the model's measured error (the API decides).
  $("best-compare").textContent = words.best_time ? words.best_time + "." : "";
}

function leaveAt(iso) {
  state = { ...state, depart: iso.slice(0, 16), pick: 0 };
  keepInUrl();
  score();
}

function renderRiskiest(data, widthM) {
  const seg = data.riskiest_segment;
  const thead = $("riskiest-table").querySelector("thead"), tbody = $("riskiest-table").querySelector("tbody");
  thead.innerHTML = ""; tbody.innerHTML = "";
  if (!seg) { $("riskiest-summary").textContent = "No stretch to watch: the trip is short, or the forecast expects nothing along it beyond its first and last 200 m."; return; }
  const f = data.segments.features[seg.index].properties;
  const h = seg.recent_history;
  const where = seg.name ? seg.name + " (" + (f.from_m / 1000).toFixed(1) + "–" + (f.to_m / 1000).toFixed(1) + " km, red on the map)"
    : "The stretch from " + (f.from_m / 1000).toFixed(2) + " to " + (f.to_m / 1000).toFixed(2) + " km (red on the map)";
  $("riskiest-summary").textContent = where + ", the busiest part of the way beyond its first and last 200 m. " +
    (h.total ? h.total + " incidents were reported" : "Nothing was reported") + " within " + widthM +
    " m of it in the last 12 months of data.";
  if (!h.total) { return; }
  const keys = Object.keys(h.time_of_day_labels);
  const tr = document.createElement("tr");
  ["Offense group", ...keys, "All"].forEach((k) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = k;
    if (h.time_of_day_labels[k]) { th.title = h.time_of_day_labels[k]; }
    tr.appendChild(th);
  });
  thead.appendChild(tr);
  h.groups.forEach((g) => {
    const row = document.createElement("tr");
    const th = document.createElement("th"); th.scope = "row"; th.textContent = g.label; row.appendChild(th);
    keys.forEach((k) => { const td = document.createElement("td"); td.textContent = g.by_time_of_day[k]; row.appendChild(td); });
    const td = document.createElement("td"); td.textContent = g.count; row.appendChild(td);
    tbody.appendChild(row);
  });
}

function renderSegments(fc) {
  layers.segments.clearLayers();
  view.geojson(layers.segments, fc, {
    filter: (f) => f.properties.riskiest,
    style: () => ({ color: "#b3261e", weight: 9, opacity: 0.85 }),
    onEachFeature: (f, layer) => {
      layer.bindTooltip("Stretch to watch" + (f.properties.name ? ": " + f.properties.name : ""));
    },
  });
  // The map draws on a canvas (preferCanvas): say what is highlighted in the DOM.
  const riskiest = fc.features.filter((f) => f.properties.riskiest);
  $("commute-map").dataset.riskiest = riskiest.length ? String(riskiest[0].properties.index) : "";
}

function pickedRoute() { return lastResult ? (lastResult.routes[state.pick] || lastResult.routes[0]) : null; }

function renderChart() {
  const route = pickedRoute();
  const rows = S.viewRows(route ? route.timeline : [], currentView);
  let shortestRows = [];
  if (state.pick > 0) {
    const byTime = {};
    lastResult.routes[0].timeline.forEach((r) => { byTime[r.departure] = r.expected; });
    shortestRows = rows.map((r) => byTime[r.departure]);
  }
  const labels = rows.map((r) => (currentView === "week" ? whenLabel(r.departure) : hourLabel(r.departure, SEATTLE_TZ)));
  const data = {
    labels,
    datasets: [
      // The picked route in its map colour, named by its key (commute_routes).
      { ...R.chartSeries(route, state.pick, lastResult.routes.length), data: rows.map((r) => r.expected), fill: true, pointRadius: currentView === "week" ? 0 : 2, tension: 0.2 },
      { label: "Similar trips (median: same mode, length within 20%)", data: rows.map((r) => r.typical), borderColor: "#5b6475", borderDash: [6, 4], pointRadius: 0, fill: false },
    ],
  };
  if (shortestRows.length) {
    const shortest = R.chartSeries(lastResult.routes[0], 0, lastResult.routes.length);
    data.datasets.push({ label: shortest.label + " (shortest)", data: shortestRows, borderColor: shortest.borderColor, borderDash: [2, 3], pointRadius: 0, fill: false });
  }
  // The visitor's window as a shaded band, and the best departure in it as a marker.
  const marks = R.chartMarks(rows, route.departures);
  const w = route.departures.window;
  data.datasets.push(
    { type: "line", label: "Best time to leave", data: marks.best, showLine: false, pointStyle: "triangle", pointRadius: 9, pointHoverRadius: 10,
      borderColor: "#1d2330", backgroundColor: "#f2a900", borderWidth: 2, order: -1 },
    { type: "bar", label: "Your window (" + w.start + "–" + w.end + ")", data: marks.window, yAxisID: "window", backgroundColor: "rgba(31,79,163,.13)",
      borderWidth: 0, barPercentage: 1, categoryPercentage: 1, order: 10 },
  );
  const options = {
    responsive: true, maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false },
    scales: { y: { beginAtZero: true, title: { display: true, text: "expected reported incidents per trip" } }, x: { ticks: { maxTicksLimit: currentView === "week" ? 14 : 24 } },
      window: { display: false, min: 0, max: 1 } },
    plugins: { tooltip: { callbacks: { afterBody: (items) => { const r = rows[items[0].dataIndex]; return r && r.relative_risk !== null ? fmt(r.relative_risk, 2) + "× the median of similar trips" : ""; } } } },
  };
  // Chart.js is a classic script (vendor/chartjs) loaded before this module.
  if (chart) { chart.data = data; chart.options = options; chart.update(); }
  else { chart = new window.Chart($("timeline-chart"), { type: "line", data, options }); }
  $("timeline-chart").dataset.points = String(rows.length);
  $("timeline-chart").dataset.route = String(state.pick);
  $("chart-caption").textContent = "Departures on the hour, Seattle time; forecast from " + whenLabel(lastResult.forecast.start) + ". Your window: " + w.start + "–" + w.end + ".";
}

// --- wiring ---
async function init() {
  state = S.stateFromQuery(window.location.search, formValues());
  // The form is the judge of its own values: one it does not offer reads as it shows.
  showForm();
  state = { ...state, ...formValues() };
  renderRecent();
  const near = () => (view ? view.center() : null);
  const typeahead = (inputId, listId, onPick) => {
    attachTypeahead($(inputId), $(listId), { placesUrl: config.placesUrl, onPick, near });
  };
  typeahead("start-input", "start-options", (point, name) => { state = S.setStart(state, S.place(point, name)); changed(); });
  typeahead("end-input", "end-options", (point, name) => { state = S.setEnd(state, S.place(point, name)); changed(); });
  typeahead("via-input", "via-options", (point, name) => {
    state = S.addWaypoint(state, S.place(point, name));
    $("via-input").value = "";
    changed();
  });
  $("commute-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state = S.routeChanged(state);
    changed();
    if (!state.start || !state.end) { showError("Place a start and a destination first."); }
  });
  Object.values(FORM_IDS).forEach((id) => {
    $(id).addEventListener("change", () => { state = S.withForm(state, formValues()); changed(); });
  });
  $("clear-button").addEventListener("click", () => {
    state = S.emptyState(formValues());
    syncInputs(); showError(""); $("results").hidden = true; changed();
  });
  document.querySelectorAll(".view-toggle button").forEach((b) => {
    b.addEventListener("click", () => {
      currentView = b.dataset.view;
      document.querySelectorAll(".view-toggle button").forEach((o) => o.setAttribute("aria-pressed", o === b ? "true" : "false"));
      if (lastResult) { renderChart(); }
    });
  });
  syncInputs();
  renderWaypointList();
  view = await createMap("commute-map", { zoom: 12 });
  window.commutePage = {
    map: view.map,
    // What is drawn, for tests and the curious: each route's [lon, lat] list.
    drawnRoutes: () => view.linesOf(layers.routes).filter((l, i, all) => !casing(layers.routes.getLayers()[i])),
    // Each drawn route line's style (the picked one last, on top), for tests.
    routeStyles: () => layers.routes.getLayers().filter((l) => !casing(l)).map((l) => ({ ...l.options })),
    // The page's state (places are {point: [lon, lat], name}), for tests.
    state: () => state,
  };
  layers.route = view.group();
  layers.routes = view.group();
  layers.keys = view.group();
  layers.segments = view.group();
  layers.pins = view.group();
  view.onClick(onMapClick);
  drawRoute();
  const points = S.routePoints(state);
  if (points.length >= 2) { view.fitPoints(points, 0.3); }
  // A reopened link keeps its departure and pick through the first score.
  if (state.start && state.end) { score(); }
}

init();
