/* The commute page: mark a route, score it through the API, show when to leave.
 * Walk, bike and drive come back as routes along the streets: the shortest and up to
 * two safer alternatives, all drawn; picking one shows its timeline, best times and
 * riskiest stretch. State lives in the URL (a link reopens the same commute and the
 * same pick) and recent commutes in localStorage; nothing about the visitor goes to
 * the server beyond the route itself. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("commute-config").textContent);
  var RECENT_KEY = "crimepredict.recentCommutes";
  var RECENT_MAX = 8;
  var SEATTLE_TZ = CrimeMap.readConfig().timeZone;  // served by the site (one definition)

  var state = { start: null, end: null, via: [], names: {}, pick: 0, depart: null };
  var map = null;
  var layers = { pins: null, route: null, routes: null, segments: null };
  var chart = null;
  var lastResult = null;
  var currentView = "week";
  var requestSeq = 0;

  function $(id) { return document.getElementById(id); }
  function fmt(x, digits) {
    if (x === null || x === undefined) { return "n/a"; }
    return Number(x).toPrecision(digits || 2);
  }
  function round6(x) { return Math.round(x * 1e6) / 1e6; }
  function pointLabel(p) { return p[1].toFixed(4) + ", " + p[0].toFixed(4); }

  // --- time helpers (the API sends Seattle-local ISO strings with their offset) ---
  var dayFmt = new Intl.DateTimeFormat("en-US", { timeZone: SEATTLE_TZ, weekday: "short", month: "short", day: "numeric" });
  var hourFmt = new Intl.DateTimeFormat("en-US", { timeZone: SEATTLE_TZ, hour: "numeric", minute: "2-digit" });
  function localDate(iso) { return iso.slice(0, 10); }
  function whenLabel(iso) { var d = new Date(iso); return dayFmt.format(d) + " " + hourFmt.format(d); }

  // --- status and errors ---
  function setStatus(text) { $("commute-status").textContent = text; }
  function showError(text) {
    var el = $("commute-error");
    el.textContent = text || "";
    el.hidden = !text;
  }

  // --- map pins ---
  function pin(latlng, cls, text, title) {
    return L.marker(latlng, {
      icon: L.divIcon({ className: "cm-pin " + cls, html: text, iconSize: [24, 24] }),
      draggable: true, keyboard: true, title: title, alt: title,
    });
  }

  function drawRoute() {
    if (!map) { return; }
    layers.pins.clearLayers();
    layers.route.clearLayers();
    var pts = routePoints();
    var routed = lastResult && lastResult.routes && lastResult.routes.length;
    if (state.start) { addPin(state.start, "cm-start", "A", "Start", function (p) { state.start = p; describe(p, "start"); }); }
    state.via.forEach(function (p, i) {
      var m = addPin(p, "cm-via", String(i + 1), "Waypoint " + (i + 1) + " (click to remove)", function (q) { state.via[i] = q; describe(q, "via" + i); });
      m.on("click", function () { removeVia(i); });
    });
    if (state.end) { addPin(state.end, "cm-end", "B", "Destination", function (p) { state.end = p; describe(p, "end"); }); }
    if (pts.length >= 2 && !routed) {
      // Until the server answers: a thin straight preview through the points.
      L.polyline(pts.map(function (p) { return [p[1], p[0]]; }), { color: "#1f4fa3", weight: 2, opacity: 0.6, dashArray: "4 6" }).addTo(layers.route);
    }
    renderWaypointList();
  }

  // --- the routes the server found (shortest first), the picked one on top ---
  function drawRoutes() {
    layers.routes.clearLayers();
    var routes = lastResult ? lastResult.routes : [];
    var el = $("commute-map");
    el.dataset.routes = String(routes.length);
    el.dataset.pick = String(state.pick);
    routes.forEach(function (r, i) {
      if (i === state.pick) { return; }
      var line = L.polyline(lineLatLngs(r), { color: "#59627a", weight: 5, opacity: 0.75, dashArray: "8 6" });
      line.bindTooltip(routeTitle(r, i));
      line.on("click", function (ev) { L.DomEvent.stopPropagation(ev); pick(i); });
      line.addTo(layers.routes);
    });
    var chosen = routes[state.pick];
    if (chosen) {
      L.polyline(lineLatLngs(chosen), { color: "#1f4fa3", weight: 7, opacity: 0.9 })
        .bindTooltip(routeTitle(chosen, state.pick)).addTo(layers.routes);
    }
  }

  function fitRoutes() {
    var bounds = null;
    (lastResult ? lastResult.routes : []).forEach(function (r) {
      var b = L.latLngBounds(lineLatLngs(r));
      bounds = bounds ? bounds.extend(b) : b;
    });
    if (bounds && bounds.isValid() && !map.getBounds().contains(bounds)) { map.fitBounds(bounds.pad(0.15)); }
    else if (bounds && bounds.isValid() && map.getZoom() < 13) { map.fitBounds(bounds.pad(0.15)); }
  }

  function lineLatLngs(r) { return r.geometry.coordinates.map(function (c) { return [c[1], c[0]]; }); }

  function routeTitle(r, i) {
    if (r.kind === "alternative") { return "Alternative " + i + ": " + r.comparison; }
    if (r.kind === "as_drawn") { return "Your route, as drawn"; }
    // Transit: no transit data yet, so a straight line at its door-to-door speed.
    return r.along === "streets" ? "Shortest by time" : r.along_label.charAt(0).toUpperCase() + r.along_label.slice(1);
  }

  function pick(i) {
    if (!lastResult || !lastResult.routes[i]) { return; }
    state.pick = i;
    window.history.replaceState(null, "", window.location.pathname + "?" + currentQuery());
    render(lastResult);
  }

  function renderRouteChoices(data) {
    var ul = $("route-choices");
    ul.innerHTML = "";
    var dep = data.depart;
    $("route-depart").textContent = "Expected for leaving " + whenLabel(dep.departure) +
      (dep.chosen === "given" ? " (your choice)" : " (the shortest route's best time in your window)") + ".";
    data.routes.forEach(function (r, i) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "route-choice" + (i === state.pick ? " picked" : "");
      b.setAttribute("aria-pressed", i === state.pick ? "true" : "false");
      b.dataset.index = String(i);
      var title = document.createElement("strong");
      title.textContent = routeTitle(r, i);
      b.appendChild(title);
      var detail = document.createElement("span");
      // An alternative is told apart by the streets the shortest does not take.
      var shortestStreets = data.routes[0].streets;
      var via = i === 0 ? [] : r.streets.filter(function (n) { return shortestStreets.indexOf(n) < 0; });
      var streets = via.length ? "via " + via.slice(0, 4).join(", ") + (via.length > 4 ? ", …" : "")
        : r.streets.slice(0, 4).join(", ") + (r.streets.length > 4 ? ", …" : "");
      detail.textContent = (r.length_m / 1000).toFixed(1) + " km, about " + Math.round(r.duration_min) + " min, " +
        fmt(r.expected, 2) + " expected reported incidents" + (streets ? " — " + streets : "");
      b.appendChild(detail);
      b.addEventListener("click", function () { pick(i); });
      li.appendChild(b);
      ul.appendChild(li);
    });
    var only = data.routes.length === 1 && data.routes[0].along === "streets";
    $("route-none").hidden = !only;
  }

  function addPin(p, cls, text, title, onMove) {
    var m = pin([p[1], p[0]], cls, text, title).addTo(layers.pins);
    m.on("dragend", function () {
      var ll = m.getLatLng();
      onMove([round6(ll.lng), round6(ll.lat)]);
      syncInputs();
      changed();
    });
    return m;
  }

  function routePoints() {
    var pts = [];
    if (state.start) { pts.push(state.start); }
    pts = pts.concat(state.via);
    if (state.end) { pts.push(state.end); }
    return pts;
  }

  function removeVia(i) {
    state.via.splice(i, 1);
    changed();
  }

  function renderWaypointList() {
    var list = $("waypoint-list");
    list.innerHTML = "";
    state.via.forEach(function (p, i) {
      var li = document.createElement("li");
      li.textContent = state.names["via" + i] || pointLabel(p);
      var b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.textContent = "Remove";
      b.setAttribute("aria-label", "Remove waypoint " + (i + 1));
      b.addEventListener("click", function () { removeVia(i); });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  function syncInputs() {
    $("start-input").value = state.start ? (state.names.start || pointLabel(state.start)) : "";
    $("end-input").value = state.end ? (state.names.end || pointLabel(state.end)) : "";
  }

  function onMapClick(e) {
    var p = [round6(e.latlng.lng), round6(e.latlng.lat)];
    if (!state.start) { state.start = p; describe(p, "start"); }
    else if (!state.end) { state.end = p; describe(p, "end"); }
    else { state.via.push(p); describe(p, "via" + (state.via.length - 1)); }
    syncInputs();
    changed();
  }

  // A clicked or dragged point gets a name people know ("near 15XX Broadway, at
  // E Pine St") from the reverse lookup; until it answers, the coordinates show.
  function describe(p, key) {
    delete state.names[key];
    var url = config.reverseUrl + "?lat=" + p[1] + "&lon=" + p[0];
    fetch(url).then(function (r) { return r.ok ? r.json() : { features: [] }; }).then(function (fc) {
      var at = key.indexOf("via") === 0 ? state.via[Number(key.slice(3))] : state[key];
      if (!fc.features || !fc.features.length || at !== p) { return; }
      state.names[key] = fc.features[0].properties.name;
      syncInputs();
      renderWaypointList();
      window.history.replaceState(null, "", window.location.pathname + "?" + currentQuery());
    }).catch(function () { /* the coordinates stay: a name is a nicety */ });
  }

  // --- URL and recent commutes ---
  function encodePoint(p) { return p[1].toFixed(5) + "," + p[0].toFixed(5); }
  function decodePoint(text) {
    var parts = (text || "").split(",").map(Number);
    if (parts.length !== 2 || !isFinite(parts[0]) || !isFinite(parts[1])) { return null; }
    return [parts[1], parts[0]];
  }

  function currentQuery() {
    var params = new URLSearchParams();
    if (state.start) { params.set("start", encodePoint(state.start)); }
    if (state.end) { params.set("end", encodePoint(state.end)); }
    if (state.via.length) { params.set("via", state.via.map(encodePoint).join(";")); }
    params.set("mode", $("mode").value);
    params.set("from", $("window-start").value);
    params.set("to", $("window-end").value);
    params.set("days", $("window-days").value);
    if (state.depart) { params.set("depart", state.depart); }
    if (state.pick) { params.set("pick", String(state.pick)); }
    if (state.names.start) { params.set("sname", state.names.start); }
    if (state.names.end) { params.set("ename", state.names.end); }
    return params.toString();
  }

  function readUrl() {
    var params = new URLSearchParams(window.location.search);
    state.start = decodePoint(params.get("start"));
    state.end = decodePoint(params.get("end"));
    state.via = (params.get("via") || "").split(";").map(decodePoint).filter(Boolean);
    state.names = {};
    state.depart = params.get("depart") || null;
    state.pick = parseInt(params.get("pick") || "0", 10) || 0;
    if (params.get("sname")) { state.names.start = params.get("sname"); }
    if (params.get("ename")) { state.names.end = params.get("ename"); }
    if (params.get("mode")) { $("mode").value = params.get("mode"); }
    if (params.get("from")) { $("window-start").value = params.get("from"); }
    if (params.get("to")) { $("window-end").value = params.get("to"); }
    if (params.get("days")) { $("window-days").value = params.get("days"); }
  }

  function loadRecent() {
    try { return JSON.parse(window.localStorage.getItem(RECENT_KEY)) || []; }
    catch (e) { return []; }
  }

  function remember(query, label) {
    var list = loadRecent().filter(function (r) { return r.query !== query; });
    list.unshift({ query: query, label: label });
    try { window.localStorage.setItem(RECENT_KEY, JSON.stringify(list.slice(0, RECENT_MAX))); }
    catch (e) { /* storage full or disabled: remembering is optional */ }
    renderRecent();
  }

  function renderRecent() {
    var ul = $("recent-list");
    ul.innerHTML = "";
    var list = loadRecent();
    if (!list.length) { var li = document.createElement("li"); li.className = "hint"; li.textContent = "none yet"; ul.appendChild(li); return; }
    list.forEach(function (r) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = window.location.pathname + "?" + r.query;
      a.textContent = r.label;
      li.appendChild(a);
      ul.appendChild(li);
    });
  }

  // --- scoring ---
  function changed() {
    // A new route or window: back to the shortest and the best departure.
    state.pick = 0;
    state.depart = null;
    lastResult = null;
    if (layers.routes) { layers.routes.clearLayers(); }
    drawRoute();
    var query = currentQuery();
    window.history.replaceState(null, "", window.location.pathname + "?" + query);
    if (state.start && state.end) { score(); }
    else { setStatus(state.start ? "Now click (or type) the destination." : "Click the map to place the start."); }
  }

  function score() {
    if (!state.start || !state.end) { showError("Place a start and a destination first."); return; }
    showError("");
    setStatus("Scoring…");
    var mine = ++requestSeq;
    var body = {
      start: state.start, end: state.end, waypoints: state.via, mode: $("mode").value,
      window: { start: $("window-start").value || "00:00", end: $("window-end").value || "23:59", days: $("window-days").value },
    };
    if (state.depart) { body.depart = state.depart; }
    fetch(config.scoreUrl, { method: "POST", headers: { "Content-Type": "application/json", "Accept": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, status: r.status, data: data }; }); })
      .then(function (res) {
        if (mine !== requestSeq) { return; }
        if (!res.ok) {
          // Every API error is {status, code, parameter, detail} (core.api_errors).
          showError((res.data && res.data.detail) || ("The server answered " + res.status));
          setStatus("");
          return;
        }
        lastResult = res.data;
        if (!lastResult.routes || !lastResult.routes[state.pick]) { state.pick = 0; }
        drawRoute();
        render(res.data);
        fitRoutes();
        var query = currentQuery();
        var label = (state.names.start || pointLabel(state.start)) + " → " + (state.names.end || pointLabel(state.end)) + " (" + $("mode").value + ")";
        remember(query, label);
        var n = res.data.routes.length;
        setStatus(n > 1 ? n + " routes found: pick one on the map or in the list below." : "Scored. Best times and the riskiest stretch are below.");
      })
      .catch(function () { if (mine === requestSeq) { showError("Could not reach the server."); setStatus(""); } });
  }

  function render(data) {
    $("results").hidden = false;
    var r = data.routes[state.pick] || data.routes[0];
    var props = data.route.properties;
    var rel = r.summary.mean_relative_risk;
    $("route-summary").textContent =
      (r.length_m / 1000).toFixed(1) + " km by " + props.mode + " " + r.along_label + ", about " + Math.round(r.duration_min) +
      " min; " + r.corridor_cells + " grid cells within " + props.corridor_half_width_m + " m. Over the week, this route averages " +
      fmt(r.summary.mean_expected, 2) + " expected reported incidents per trip, " +
      (rel === null ? "" : fmt(rel, 2) + "× a typical route of the same length and mode.");
    renderRouteChoices(data);
    drawRoutes();
    renderBest(r.departures);
    renderRiskiest(r, props.corridor_half_width_m);
    renderSegments(r.segments);
    renderChart();
    $("honest-note").textContent = data.note;
    $("share-link").href = window.location.pathname + "?" + currentQuery();
    $("share-link").textContent = window.location.origin + window.location.pathname + "?" + currentQuery();
    // The notes' sign-up reads the same query as this page (alerts).
    $("notes-link").href = $("notes-link").pathname + "?" + currentQuery();
  }

  function renderBest(dep) {
    var ol = $("best-times");
    ol.innerHTML = "";
    var w = dep.window;
    $("window-label").textContent = "(" + w.start + "–" + w.end + ", " + w.days.join(" ") + ")";
    dep.best.forEach(function (d) {
      var li = document.createElement("li");
      li.className = "best-time";
      li.textContent = whenLabel(d.departure) + ": " + fmt(d.expected, 2) + " expected" +
        (d.relative_risk === null ? "" : " (" + fmt(d.relative_risk, 2) + "× typical)") + " ";
      // Routes depend on when you leave: find them for this departure.
      var b = document.createElement("button");
      b.type = "button";
      b.className = "secondary depart-button";
      b.textContent = "Routes for this time";
      b.addEventListener("click", function () { leaveAt(d.departure); });
      li.appendChild(b);
      ol.appendChild(li);
    });
    var best = dep.best[0], worst = dep.worst;
    if (best && worst && worst.expected > 0) {
      var pct = Math.round((1 - best.expected / worst.expected) * 100);
      $("best-compare").textContent = "Leaving at the best time means about " + pct + "% fewer expected reported incidents than at the worst time in your window (" + whenLabel(worst.departure) + ").";
    } else { $("best-compare").textContent = ""; }
  }

  function leaveAt(iso) {
    state.depart = iso.slice(0, 16);
    state.pick = 0;
    window.history.replaceState(null, "", window.location.pathname + "?" + currentQuery());
    score();
  }

  function renderRiskiest(data, widthM) {
    var seg = data.riskiest_segment;
    var thead = $("riskiest-table").querySelector("thead"), tbody = $("riskiest-table").querySelector("tbody");
    thead.innerHTML = ""; tbody.innerHTML = "";
    if (!seg) { $("riskiest-summary").textContent = "No stretch stands out: the forecast expects nothing along this route."; return; }
    var f = data.segments.features[seg.index].properties;
    var h = seg.recent_history;
    var where = seg.name ? seg.name + " (" + (f.from_m / 1000).toFixed(1) + "–" + (f.to_m / 1000).toFixed(1) + " km, red on the map)"
      : "The stretch from " + (f.from_m / 1000).toFixed(2) + " to " + (f.to_m / 1000).toFixed(2) + " km (red on the map)";
    $("riskiest-summary").textContent = where + ": " + fmt(f.relative_risk, 2) + "× an average stretch of the city. " +
      (h.total ? h.total + " incidents were reported" : "Nothing was reported") + " within " + widthM +
      " m of it in the last 12 months of data.";
    if (!h.total) { return; }
    var keys = Object.keys(h.time_of_day_labels);
    var tr = document.createElement("tr");
    ["Offense group"].concat(keys).concat(["All"]).forEach(function (k, i) {
      var th = document.createElement("th"); th.scope = "col";
      th.textContent = i === 0 || k === "All" ? k : k; if (h.time_of_day_labels[k]) { th.title = h.time_of_day_labels[k]; }
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    h.groups.forEach(function (g) {
      var row = document.createElement("tr");
      var th = document.createElement("th"); th.scope = "row"; th.textContent = g.label; row.appendChild(th);
      keys.forEach(function (k) { var td = document.createElement("td"); td.textContent = g.by_time_of_day[k]; row.appendChild(td); });
      var td = document.createElement("td"); td.textContent = g.count; row.appendChild(td);
      tbody.appendChild(row);
    });
  }

  function renderSegments(fc) {
    layers.segments.clearLayers();
    L.geoJSON(fc, {
      filter: function (f) { return f.properties.riskiest; },
      style: function () { return { color: "#b3261e", weight: 9, opacity: 0.85 }; },
      onEachFeature: function (f, layer) { layer.bindTooltip("Riskiest stretch" + (f.properties.name ? " (" + f.properties.name + ")" : "") + ": " + fmt(f.properties.relative_risk, 2) + "× an average stretch"); },
    }).addTo(layers.segments);
    // The map draws on a canvas (preferCanvas): say what is highlighted in the DOM.
    var riskiest = fc.features.filter(function (f) { return f.properties.riskiest; });
    $("commute-map").dataset.riskiest = riskiest.length ? String(riskiest[0].properties.index) : "";
  }

  function pickedRoute() { return lastResult ? (lastResult.routes[state.pick] || lastResult.routes[0]) : null; }

  function viewRows() {
    var route = pickedRoute();
    var rows = route ? route.timeline : [];
    if (currentView === "week" || !rows.length) { return rows; }
    // "Today" is the forecast's first day: the current day when forecasts are fresh.
    var first = localDate(rows[0].departure);
    var target = first;
    if (currentView === "tomorrow") {
      var days = rows.map(function (r) { return localDate(r.departure); }).filter(function (d, i, a) { return a.indexOf(d) === i; });
      target = days[1] || first;
    }
    return rows.filter(function (r) { return localDate(r.departure) === target; });
  }

  function renderChart() {
    var rows = viewRows();
    var shortestRows = [];
    if (state.pick > 0) {
      var first = lastResult.routes[0].timeline;
      var byTime = {};
      first.forEach(function (r) { byTime[r.departure] = r.expected; });
      shortestRows = rows.map(function (r) { return byTime[r.departure]; });
    }
    var labels = rows.map(function (r) { return currentView === "week" ? whenLabel(r.departure) : hourFmt.format(new Date(r.departure)); });
    var data = {
      labels: labels,
      datasets: [
        { label: "This route", data: rows.map(function (r) { return r.expected; }), borderColor: "#b3261e", backgroundColor: "rgba(179,38,30,.15)", fill: true, pointRadius: currentView === "week" ? 0 : 2, tension: 0.2 },
        { label: "Typical route (same length and mode)", data: rows.map(function (r) { return r.typical; }), borderColor: "#5b6475", borderDash: [6, 4], pointRadius: 0, fill: false },
      ],
    };
    if (shortestRows.length) {
      data.datasets[0].label = "This route (alternative " + state.pick + ")";
      data.datasets.push({ label: "Shortest route", data: shortestRows, borderColor: "#1f4fa3", borderDash: [2, 3], pointRadius: 0, fill: false });
    }
    var options = {
      responsive: true, maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true, title: { display: true, text: "expected reported incidents per trip" } }, x: { ticks: { maxTicksLimit: currentView === "week" ? 14 : 24 } } },
      plugins: { tooltip: { callbacks: { afterBody: function (items) { var r = rows[items[0].dataIndex]; return r && r.relative_risk !== null ? fmt(r.relative_risk, 2) + "× typical" : ""; } } } },
    };
    if (chart) { chart.data = data; chart.options = options; chart.update(); }
    else { chart = new Chart($("timeline-chart"), { type: "line", data: data, options: options }); }
    $("timeline-chart").dataset.points = String(rows.length);
    $("timeline-chart").dataset.route = String(state.pick);
    var w = pickedRoute().departures.window;
    $("chart-caption").textContent = "Departures on the hour, Seattle time; forecast from " + whenLabel(lastResult.forecast.start) + ". Your window: " + w.start + "–" + w.end + ".";
  }

  // --- wiring ---
  function init() {
    readUrl();
    renderRecent();
    var typeahead = function (inputId, listId, onPick) {
      CrimeTypeahead.attach(inputId, listId, config.placesUrl, onPick, function () {
        return map ? [map.getCenter().lng, map.getCenter().lat] : null;
      });
    };
    typeahead("start-input", "start-options", function (p, name) { state.start = p; state.names.start = name; changed(); });
    typeahead("end-input", "end-options", function (p, name) { state.end = p; state.names.end = name; changed(); });
    typeahead("via-input", "via-options", function (p, name) { state.names["via" + state.via.length] = name; state.via.push(p); $("via-input").value = ""; changed(); });
    $("commute-form").addEventListener("submit", function (ev) { ev.preventDefault(); changed(); if (!state.start || !state.end) { showError("Place a start and a destination first."); } });
    ["mode", "window-start", "window-end", "window-days"].forEach(function (id) { $(id).addEventListener("change", changed); });
    $("clear-button").addEventListener("click", function () {
      state = { start: null, end: null, via: [], names: {}, pick: 0, depart: null };
      syncInputs(); showError(""); $("results").hidden = true; changed();
    });
    document.querySelectorAll(".view-toggle button").forEach(function (b) {
      b.addEventListener("click", function () {
        currentView = b.dataset.view;
        document.querySelectorAll(".view-toggle button").forEach(function (o) { o.setAttribute("aria-pressed", o === b ? "true" : "false"); });
        if (lastResult) { renderChart(); }
      });
    });
    syncInputs();
    var picked = state.pick, depart = state.depart;
    CrimeMap.create("commute-map", { zoom: 12 }).then(function (m) {
      map = m.map;
      window.commutePage = {
        map: map,
        // What is drawn, for tests and the curious: each route's [lon, lat] list.
        drawnRoutes: function () {
          return layers.routes.getLayers().map(function (l) {
            return l.getLatLngs().map(function (ll) { return [ll.lng, ll.lat]; });
          });
        },
      };
      layers.route = L.layerGroup().addTo(map);
      layers.routes = L.layerGroup().addTo(map);
      layers.segments = L.layerGroup().addTo(map);
      layers.pins = L.layerGroup().addTo(map);
      map.on("click", onMapClick);
      drawRoute();
      var pts = routePoints();
      if (pts.length >= 2) { map.fitBounds(L.latLngBounds(pts.map(function (p) { return [p[1], p[0]]; })).pad(0.3)); }
      // A reopened link keeps its departure and pick through the first score.
      state.pick = picked;
      state.depart = depart;
      if (state.start && state.end) { score(); }
    });
  }

  init();
})();
