// The commute page's state and URL functions (static/js/pages/commute_state.js).
// Run by `node --test tests/js/` (tests/test_page_modules.py runs it under pytest).
import assert from "node:assert/strict";
import { test } from "node:test";

import * as S from "../../static/js/pages/commute_state.js";

const A = [-122.3208, 47.6153];
const B = [-122.313, 47.6612];
const W1 = [-122.33, 47.62];
const W2 = [-122.34, 47.63];

test("a point is written lat,lon with 5 decimals and read back as [lon, lat]", () => {
  assert.equal(S.encodePoint(A), "47.61530,-122.32080");
  assert.deepEqual(S.decodePoint("47.61530,-122.32080"), A);
});

test("a point that is not two numbers reads as none", () => {
  for (const bad of [null, "", "47.6", "47.6,", ",-122.3", "a,b", "1,2,3", "47.6,Infinity"]) {
    assert.equal(S.decodePoint(bad), null, String(bad));
  }
});

test("a link's query reads back into the state it was written from", () => {
  let state = S.emptyState();
  state = S.setStart(state, S.place(A, "BROADWAY / E PINE ST"));
  state = S.setEnd(state, S.place(B, "Space Needle"));
  state = S.addWaypoint(state, S.place(W1));
  state = S.addWaypoint(state, S.place(W2));
  state = { ...state, mode: "walk", from: "08:00", to: "09:00", days: "all", depart: "2021-12-20T08:00", pick: 2 };
  const query = S.queryFromState(state);
  const back = S.stateFromQuery(query);
  assert.deepEqual(back.start, state.start);
  assert.deepEqual(back.end, state.end);
  assert.deepEqual(back.via.map((p) => p.point), [W1, W2]);
  for (const key of ["mode", "from", "to", "days", "depart", "pick"]) { assert.equal(back[key], state[key], key); }
  assert.equal(S.queryFromState(back), query);
});

test("the query keeps the names and order the notes' sign-up reads", () => {
  const state = { ...S.setEnd(S.setStart(S.emptyState(), S.place(A, "Here")), S.place(B)) };
  assert.equal(
    S.queryFromState(state),
    "start=47.61530%2C-122.32080&end=47.66120%2C-122.31300&mode=bike&from=07%3A00&to=10%3A00&days=weekdays&sname=Here",
  );
});

test("what the URL leaves out comes from the form's defaults; a bad pick is the first route", () => {
  const state = S.stateFromQuery("?start=47.6,-122.3&pick=-3", { mode: "walk", from: "06:00", to: "07:00", days: "all" });
  assert.deepEqual(state.start, { point: [-122.3, 47.6], name: null });
  assert.equal(state.end, null);
  assert.deepEqual(state.via, []);
  assert.equal(state.mode, "walk");
  assert.equal(state.from, "06:00");
  assert.equal(state.pick, 0);
  assert.equal(S.stateFromQuery("pick=x").pick, 0);
  assert.deepEqual(S.stateFromQuery("via=47.6,-122.3;nonsense;47.7,-122.4").via.map((p) => p.point), [[-122.3, 47.6], [-122.4, 47.7]]);
});

test("clicks place the start, then the destination, then waypoints in order", () => {
  let state = S.emptyState();
  const points = [A, B, W1, W2].map((p) => S.place(p));
  for (const p of points) { state = S.addClicked(state, p); }
  assert.equal(state.start, points[0]);
  assert.equal(state.end, points[1]);
  assert.deepEqual(state.via, [points[2], points[3]]);
  assert.deepEqual(S.routePoints(state), [A, W1, W2, B]);
});

test("removing a waypoint leaves every other waypoint with its own name", () => {
  let state = S.setEnd(S.setStart(S.emptyState(), S.place(A)), S.place(B));
  const first = S.place(W1, "near 1XX Pike St");
  const second = S.place(W2, "at 3rd Ave / Pine St");
  state = S.addWaypoint(S.addWaypoint(state, first), second);
  state = S.removeWaypoint(state, first);
  assert.deepEqual(state.via, [{ point: W2, name: "at 3rd Ave / Pine St" }]);
});

test("a name that arrives late goes to its own place, wherever it moved in the list", () => {
  let state = S.setEnd(S.setStart(S.emptyState(), S.place(A)), S.place(B));
  const first = S.place(W1);
  const second = S.place(W2);
  state = S.addWaypoint(S.addWaypoint(state, first), second);
  state = S.removeWaypoint(state, first);
  // The lookup for the first waypoint answers after it was removed: nothing changes.
  assert.ok(!S.holds(state, first));
  assert.deepEqual(S.namePlace(state, first, "gone"), state);
  // The second's answer names the second, now the only waypoint.
  state = S.namePlace(state, second, "at 3rd Ave / Pine St");
  assert.deepEqual(state.via, [{ point: W2, name: "at 3rd Ave / Pine St" }]);
  assert.equal(S.placeLabel(state.via[0]), "at 3rd Ave / Pine St");
});

test("a name keeps the route's pick and departure; a move resets them and drops the name", () => {
  const start = S.place(A, "Here");
  let state = { ...S.setEnd(S.setStart(S.emptyState(), start), S.place(B)), pick: 1, depart: "2021-12-20T08:00" };
  const named = S.namePlace(state, state.end, "There");
  assert.equal(named.pick, 1);
  assert.equal(named.depart, "2021-12-20T08:00");
  assert.equal(named.end.name, "There");
  const moved = S.movePlace(state, start, S.place(W1));
  assert.deepEqual(moved.start, { point: W1, name: null });
  assert.equal(moved.pick, 0);
  assert.equal(moved.depart, null);
});

test("a place without a name shows its coordinates", () => {
  assert.equal(S.placeLabel(S.place(A)), "47.6153, -122.3208");
  assert.equal(S.placeLabel(null), "");
});

test("the score request carries the points, mode and window; none without both ends", () => {
  assert.equal(S.scoreRequest(S.setStart(S.emptyState(), S.place(A))), null);
  let state = S.setEnd(S.setStart(S.emptyState(), S.place(A)), S.place(B));
  state = S.addWaypoint(state, S.place(W1, "x"));
  assert.deepEqual(S.scoreRequest({ ...state, from: "", depart: "2021-12-20T08:00" }), {
    start: A, end: B, waypoints: [W1], mode: "bike",
    window: { start: "00:00", end: "10:00", days: "weekdays" },
    depart: "2021-12-20T08:00",
  });
});

test("recent commutes: newest first, each once, at most eight", () => {
  let list = [];
  for (let i = 0; i < 10; i++) { list = S.remembered(list, { query: "q" + i, label: "l" + i }); }
  assert.equal(list.length, 8);
  assert.equal(list[0].query, "q9");
  list = S.remembered(list, { query: "q5", label: "again" });
  assert.deepEqual(list.slice(0, 2).map((r) => r.label), ["again", "l9"]);
  assert.equal(list.filter((r) => r.query === "q5").length, 1);
});

test("the chart's today and tomorrow are the forecast's first and second local days", () => {
  const rows = ["2021-12-20T23:00-08:00", "2021-12-21T00:00-08:00", "2021-12-21T01:00-08:00"].map((d) => ({ departure: d }));
  assert.equal(S.viewRows(rows, "week"), rows);
  assert.deepEqual(S.viewRows(rows, "today"), rows.slice(0, 1));
  assert.deepEqual(S.viewRows(rows, "tomorrow"), rows.slice(1));
  assert.deepEqual(S.viewRows(rows.slice(0, 1), "tomorrow"), rows.slice(0, 1));
});
