// The API client's pure part (static/js/lib/api.js): queries built the same way
// for every page.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, withQuery } from "../../static/js/lib/api.js";

test("a query leaves out empty values and appends to a path that has one", () => {
  assert.equal(withQuery("/api/places/", { limit: 8, q: "e pine & broadway", near: null }), "/api/places/?limit=8&q=e+pine+%26+broadway");
  assert.equal(withQuery("/x?a=1", { b: 2 }), "/x?a=1&b=2");
  assert.equal(withQuery("/x", {}), "/x");
  assert.equal(withQuery("/x"), "/x");
});

test("an API error carries the status and the API's detail as its message", () => {
  const err = new ApiError(400, "start: not a point", { code: "invalid" });
  assert.ok(err instanceof Error);
  assert.equal(err.message, "start: not a point");
  assert.equal(err.status, 400);
});
