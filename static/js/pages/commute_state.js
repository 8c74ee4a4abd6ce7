// The commute page's state and its URL, as pure functions (no DOM, no network), so
// that `node --test` checks them (tests/js/). A place is {point: [lon, lat], name}
// (name null until known); the state is
//   {start: place|null, end: place|null, via: [place, ...], mode, from, to, days,
//    depart: "YYYY-MM-DDTHH:MM"|null, pick: index of the picked route}.
// Functions return a new state and never change the one they are given; a place is
// found by identity, so a waypoint keeps its own name when others are removed.

/** The form's own defaults, used where the URL says nothing. */
export const DEFAULTS = Object.freeze({ mode: "bike", from: "07:00", to: "10:00", days: "weekdays" });

export function emptyState(defaults = DEFAULTS) {
  return { start: null, end: null, via: [], ...pickForm(defaults), depart: null, pick: 0 };
}

function pickForm(values) {
  return { mode: values.mode, from: values.from, to: values.to, days: values.days };
}

export function place(point, name = null) { return { point, name: name || null }; }

// --- points in the URL: "lat,lon" with 5 decimals (about 1 m) ---

export function encodePoint(point) { return point[1].toFixed(5) + "," + point[0].toFixed(5); }

/** "lat,lon" -> [lon, lat]; null when it is not two finite numbers. */
export function decodePoint(text) {
  const parts = (text || "").split(",");
  if (parts.length !== 2 || parts.some((p) => p.trim() === "")) { return null; }
  const [lat, lon] = parts.map(Number);
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) { return null; }
  return [lon, lat];
}

/** "47.6153, -122.3208": a point shown until its name is known. */
export function pointLabel(point) { return point[1].toFixed(4) + ", " + point[0].toFixed(4); }

/** What a box or a list shows for a place. */
export function placeLabel(p) { return p ? (p.name || pointLabel(p.point)) : ""; }

/** The state a query string describes (a shared link, a recent commute, the home
 * page's form); `defaults` fill what it leaves out. */
export function stateFromQuery(search, defaults = DEFAULTS) {
  const params = new URLSearchParams(search);
  const at = (key, nameKey) => {
    const point = decodePoint(params.get(key));
    return point ? place(point, nameKey ? params.get(nameKey) : null) : null;
  };
  const form = {};
  for (const key of ["mode", "from", "to", "days"]) { form[key] = params.get(key) || defaults[key]; }
  return {
    start: at("start", "sname"),
    end: at("end", "ename"),
    via: (params.get("via") || "").split(";").map(decodePoint).filter(Boolean).map((p) => place(p)),
    ...form,
    depart: params.get("depart") || null,
    pick: Math.max(0, parseInt(params.get("pick") || "0", 10) || 0),
  };
}

/** The query string for a state: the link that reopens this commute (and what the
 * notes' sign-up reads: alerts). */
export function queryFromState(state) {
  const params = new URLSearchParams();
  if (state.start) { params.set("start", encodePoint(state.start.point)); }
  if (state.end) { params.set("end", encodePoint(state.end.point)); }
  if (state.via.length) { params.set("via", state.via.map((p) => encodePoint(p.point)).join(";")); }
  params.set("mode", state.mode);
  params.set("from", state.from);
  params.set("to", state.to);
  params.set("days", state.days);
  if (state.depart) { params.set("depart", state.depart); }
  if (state.pick) { params.set("pick", String(state.pick)); }
  if (state.start && state.start.name) { params.set("sname", state.start.name); }
  if (state.end && state.end.name) { params.set("ename", state.end.name); }
  return params.toString();
}

// --- changes ---

/** A new route or window: back to the shortest route and the best departure. */
export function routeChanged(state) { return { ...state, pick: 0, depart: null }; }

export function withForm(state, values) { return routeChanged({ ...state, ...pickForm(values) }); }

export function setStart(state, p) { return routeChanged({ ...state, start: p }); }
export function setEnd(state, p) { return routeChanged({ ...state, end: p }); }
export function addWaypoint(state, p) { return routeChanged({ ...state, via: [...state.via, p] }); }

/** Without this waypoint (the object itself: the others keep their names). */
export function removeWaypoint(state, p) {
  return routeChanged({ ...state, via: state.via.filter((q) => q !== p) });
}

/** A map click: the start first, then the destination, then waypoints. */
export function addClicked(state, p) {
  if (!state.start) { return setStart(state, p); }
  if (!state.end) { return setEnd(state, p); }
  return addWaypoint(state, p);
}

function replacing(state, old, p) {
  const swap = (q) => (q === old ? p : q);
  return { ...state, start: swap(state.start), end: swap(state.end), via: state.via.map(swap) };
}

/** The place `old` replaced by `next` (a dragged pin: a new point with no name yet). */
export function movePlace(state, old, next) { return routeChanged(replacing(state, old, next)); }

/** The place `old` got its name (the reverse lookup answered); no change when it is
 * gone or moved meanwhile. The route stays the same, so the pick and departure stay. */
export function namePlace(state, old, name) { return replacing(state, old, { ...old, name }); }

export function holds(state, p) {
  return state.start === p || state.end === p || state.via.includes(p);
}

export function routePoints(state) {
  return [state.start, ...state.via, state.end].filter(Boolean).map((p) => p.point);
}

/** The body of the score request (commutes.api), or null without start and end. */
export function scoreRequest(state) {
  if (!state.start || !state.end) { return null; }
  const body = {
    start: state.start.point, end: state.end.point, waypoints: state.via.map((p) => p.point),
    mode: state.mode,
    window: { start: state.from || "00:00", end: state.to || "23:59", days: state.days },
  };
  if (state.depart) { body.depart = state.depart; }
  return body;
}

/** The recent commutes, newest first, with this one on top once and at most `max`. */
export function remembered(list, entry, max = 8) {
  return [entry, ...list.filter((r) => r.query !== entry.query)].slice(0, max);
}

/** The timeline rows a chart view shows: "week" all; "today" the forecast's first
 * local day, "tomorrow" its second (the first when there is none). `localDate(iso)`
 * gives an ISO time's Seattle date. */
export function viewRows(rows, view, localDate = (iso) => iso.slice(0, 10)) {
  if (view === "week" || !rows.length) { return rows; }
  const days = [...new Set(rows.map((r) => localDate(r.departure)))];
  const target = view === "tomorrow" ? (days[1] || days[0]) : days[0];
  return rows.filter((r) => localDate(r.departure) === target);
}
