// The one API client: every page's requests to this site's JSON API go through here,
// so errors read the same everywhere. Every API error is {status, code, parameter,
// detail} (core.api_errors); a network failure is an ApiError with status 0.

export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail);
    this.name = "ApiError";
    this.status = status;   // the HTTP status; 0 when the server was not reached
    this.body = body;       // the error object the API sent, when it sent one
  }
}

/** `path` with `params` (an object; null or undefined values left out) as its query. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined) { query.set(key, String(value)); }
  }
  const text = query.toString();
  if (!text) { return path; }
  return path + (path.includes("?") ? "&" : "?") + text;
}

async function send(url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, "Could not reach the server.", null);
  }
  let body = null;
  try { body = await response.json(); } catch (err) { body = null; }
  if (!response.ok) {
    const detail = (body && body.detail) || "The server answered " + response.status;
    throw new ApiError(response.status, detail, body);
  }
  return body;
}

/** GET a JSON answer; throws ApiError on an error status or no connection. */
export function getJson(path, params, init) {
  return send(withQuery(path, params), { headers: { Accept: "application/json" }, ...init });
}

/** POST a JSON body and read the JSON answer; throws ApiError like getJson. */
export function postJson(path, body, init) {
  return send(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
    ...init,
  });
}

/** Place search (places.api): a GeoJSON FeatureCollection, maybe with a `message`
 * saying why nothing fits. `near` is [lon, lat] or null. */
export function searchPlaces(url, text, near, limit = 8) {
  const at = near ? near[0].toFixed(5) + "," + near[1].toFixed(5) : null;
  return getJson(url, { limit, q: text, near: at });
}

/** The name people know for a point (reverse place search): a FeatureCollection. */
export function reversePlace(url, point) {
  return getJson(url, { lat: point[1], lon: point[0] });
}
