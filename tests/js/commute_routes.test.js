// The commute page's route keys, styles and chart marks (static/js/pages/commute_routes.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import * as R from "../../static/js/pages/commute_routes.js";

test("the shortest and each alternative have a key, a colour and a dash of their own", () => {
  const routes = [{ kind: "shortest" }, { kind: "alternative" }, { kind: "alternative" }];
  assert.deepEqual(routes.map(R.routeKey), ["S", "1", "2"]);
  const styles = [0, 1, 2].map((i) => R.routeStyle(i, false));
  assert.equal(new Set(styles.map((s) => s.color)).size, 3);
  assert.equal(new Set(styles.map((s) => String(s.dashArray))).size, 3);
  assert.ok(R.routeStyle(1, true).weight > R.routeStyle(1, false).weight);
});

test("the chart's line takes the picked route's colour and key", () => {
  const routes = [{ kind: "shortest" }, { kind: "alternative" }, { kind: "alternative" }];
  const lines = routes.map((r, i) => R.chartSeries(r, i, routes.length));
  assert.deepEqual(lines.map((l) => l.label), ["Route S", "Route 1", "Route 2"]);
  assert.deepEqual(lines.map((l) => l.borderColor), [0, 1, 2].map((i) => R.routeStyle(i, true).color));
  assert.equal(lines[0].backgroundColor, "rgba(31,79,163,.15)");  // #1f4fa3, faint
  assert.equal(R.chartSeries(routes[0], 0, 1).label, "This route");  // no keys shown
});

test("an alternative's key sits where it is farthest from the shortest route", () => {
  const shortest = [[0, 0], [0, 0.001], [0, 0.002]];
  const alt = [[0, 0], [0.001, 0.0005], [0.003, 0.001], [0.001, 0.0015], [0, 0.002]];
  assert.deepEqual(R.keyPoint(alt, shortest), [0.003, 0.001]);
  assert.deepEqual(R.keyPoint(shortest, shortest), [0, 0.001]);
});

test("a departure is in the window by its Seattle weekday and clock, both ends in", () => {
  const w = { start: "07:00", end: "10:00", days: ["mon", "tue", "wed", "thu", "fri"] };
  assert.equal(R.inWindow("2022-01-03T07:00:00-08:00", w), true);   // Monday 7 am
  assert.equal(R.inWindow("2022-01-03T10:00:00-08:00", w), true);
  assert.equal(R.inWindow("2022-01-03T11:00:00-08:00", w), false);
  assert.equal(R.inWindow("2022-01-01T08:00:00-08:00", w), false);  // a Saturday
});

test("the chart marks the window's hours and the one best departure", () => {
  const rows = ["2022-01-03T06:00:00-08:00", "2022-01-03T07:00:00-08:00", "2022-01-03T08:00:00-08:00"]
    .map((departure, i) => ({ departure, expected: [0.1, 0.11, 0.12][i] }));
  const departures = {
    window: { start: "07:00", end: "08:00", days: ["mon"] },
    best: [{ departure: "2022-01-03T08:00:00-08:00" }, { departure: "2022-01-03T07:00:00-08:00" }],
  };
  const marks = R.chartMarks(rows, departures);
  assert.deepEqual(marks.window, [null, 1, 1]);
  assert.deepEqual(marks.best, [null, null, 0.12]);
});
