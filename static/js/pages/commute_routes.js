// The commute page's routes and chart marks, pure (no DOM, no Leaflet): each route's
// key (S for the shortest, 1 and 2 for the alternatives, as the list names them), its
// own colour and dash on the map and in the list, where its key sits on the map, and
// which departures of the chart are in the visitor's window.

// Told apart by colour and by dash, so a reader who does not see the colours can
// still tell them (WCAG 1.4.1). Colours from a colour-blind-safe set.
export const ROUTE_STYLES = [
  { color: "#1f4fa3", dashArray: null },    // the shortest: solid blue
  { color: "#c75b00", dashArray: "12 8" },  // alternative 1: dashed orange
  { color: "#7b3294", dashArray: "2 8" },   // alternative 2: dotted purple
  { color: "#1b7837", dashArray: "16 6 2 6" },
];

/** The route's style: picked routes are drawn wider and opaque, on top. */
export function routeStyle(i, picked) {
  const s = ROUTE_STYLES[i % ROUTE_STYLES.length];
  return {
    color: s.color, dashArray: s.dashArray, lineCap: s.dashArray === "2 8" ? "round" : "butt",
    weight: picked ? 8 : 5, opacity: picked ? 0.95 : 0.7,
  };
}

/** "S" for the shortest (or the route as drawn), the alternative's number else. */
export function routeKey(route, i) {
  return route.kind === "alternative" ? String(i) : i === 0 ? "S" : String(i);
}

/** The departure chart's line for the picked route: the colour it has on the map
 * and in the list, and its key ("Route S", "Route 1"); "This route" when it is the
 * only one (no keys are shown then). The chart's red would say "stretch to watch". */
export function chartSeries(route, i, n) {
  const color = ROUTE_STYLES[i % ROUTE_STYLES.length].color;
  const [r, g, b] = [1, 3, 5].map((k) => parseInt(color.slice(k, k + 2), 16));
  return {
    label: n > 1 ? "Route " + routeKey(route, i) : "This route",
    borderColor: color,
    backgroundColor: "rgba(" + r + "," + g + "," + b + ",.15)",
  };
}

function metres(a, b) {
  const k = Math.PI / 180;
  const x = (b[0] - a[0]) * k * Math.cos(((a[1] + b[1]) / 2) * k);
  const y = (b[1] - a[1]) * k;
  return Math.hypot(x, y) * 6371000;
}

/** Where a route's key goes on the map ([lon, lat]): for an alternative, its point
 * farthest from the shortest route (where it differs most); for the shortest, its
 * middle point. */
export function keyPoint(points, shortest) {
  if (!points.length) { return null; }
  if (!shortest || points === shortest) { return points[Math.floor(points.length / 2)]; }
  let best = points[Math.floor(points.length / 2)], far = -1;
  for (const p of points) {
    let near = Infinity;
    for (const q of shortest) { near = Math.min(near, metres(p, q)); }
    if (near > far) { far = near; best = p; }
  }
  return best;
}

const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** Whether a departure (a Seattle-local ISO time, as the API writes them) is in
 * the window {start: "07:00", end: "10:00", days: ["mon", ...]} (both ends in). */
export function inWindow(iso, window) {
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  const day = DAY_NAMES[new Date(Date.UTC(y, m - 1, d)).getUTCDay()];
  const clock = iso.slice(11, 16);
  return window.days.includes(day) && clock >= window.start && clock <= window.end;
}

/** The chart's marks for these timeline rows: `window` (1 where a row is in the
 * window, else null: drawn as a shaded band) and `best` (the expected count at the
 * best departure, null elsewhere: drawn as one marker). */
export function chartMarks(rows, departures) {
  const best = departures.best.length ? departures.best[0].departure : null;
  return {
    window: rows.map((r) => (inWindow(r.departure, departures.window) ? 1 : null)),
    best: rows.map((r) => (r.departure === best ? r.expected : null)),
  };
}
