// Dates on the pages (static/js/lib/dates.js): weekday and year always, Seattle's clock.
import assert from "node:assert/strict";
import { test } from "node:test";

import { dayLabel, dayTimeLabel, hourLabel } from "../../static/js/lib/dates.js";

const TZ = "America/Los_Angeles";

test("a day has its weekday and its year, on Seattle's clock", () => {
  assert.equal(dayLabel("2022-01-01T10:00:00-08:00", TZ), "Sat 1 Jan 2022");
  // 07:00 UTC on 1 Jan is still 31 Dec in Seattle.
  assert.equal(dayLabel("2022-01-01T07:00:00Z", TZ), "Fri 31 Dec 2021");
});

test("a departure is its day and its clock time", () => {
  assert.equal(hourLabel("2022-01-04T10:00:00-08:00", TZ), "10:00 AM");
  assert.equal(dayTimeLabel("2022-01-04T10:00:00-08:00", TZ), "Tue 4 Jan 2022, 10:00 AM");
});
