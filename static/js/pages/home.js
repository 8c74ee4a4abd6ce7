// The home page: "Where are you going?" opens the scored commute (/commute/ with its
// URL parameters), and the map shows this hour's busiest places from the active
// forecast (the forecast page's heat, lib/heat.js).
import { readJson, siteConfig } from "../lib/config.js";
import { getJson, searchPlaces } from "../lib/api.js";
import { createMap } from "../lib/map.js";
import { createHeat, fillLegend } from "../lib/heat.js";
import { attachTypeahead } from "../lib/typeahead.js";
import { encodePoint } from "./commute_state.js";
import { dayTimeLabel } from "../lib/dates.js";

const config = readJson("home-config");
const form = document.getElementById("trip-form");
const error = document.getElementById("trip-error");
const picked = { start: null, end: null };
window.homePage = { picked };

function field(name) { return document.getElementById("trip-" + name); }

for (const name of ["start", "end"]) {
  attachTypeahead(field(name), field(name + "-options"), {
    placesUrl: config.placesUrl,
    onPick: (point, label) => { picked[name] = { point, name: label }; },
  });
  // Typing again after a pick means another place.
  field(name).addEventListener("input", () => { picked[name] = null; });
}

// A box typed in but not picked from the list takes the search's first answer.
async function resolve(name) {
  if (picked[name]) { return picked[name]; }
  const text = field(name).value.trim();
  if (!text) { throw new Error(name === "start" ? "Where do you start?" : "Where are you going?"); }
  let fc;
  try { fc = await searchPlaces(config.placesUrl, text, null, 1); }
  catch (err) { if (err.status === 0) { throw err; } fc = { features: [] }; }
  const f = (fc.features || [])[0];
  if (!f) { throw new Error("No place in Seattle matches \u201c" + text + "\u201d."); }
  return { point: f.geometry.coordinates.slice(0, 2), name: f.properties.name };
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  try {
    const [start, end] = await Promise.all([resolve("start"), resolve("end")]);
    field("start-point").value = encodePoint(start.point);
    field("end-point").value = encodePoint(end.point);
    field("start-name").value = start.name;
    field("end-name").value = end.name;
    form.submit();
  } catch (err) { error.textContent = err.message; }
});

// --- this hour's busiest places ---
const when = document.getElementById("busiest-when");

function hourLabel(iso) { return dayTimeLabel(iso, siteConfig().timeZone); }

async function showBusiest() {
  const view = await createMap("map");
  window.homeMap = view;
  if (!config.forecastUrl) { return; }  // the page says "No forecast yet"
  const [grid, hour] = await Promise.all([getJson(config.gridUrl), getJson(config.forecastUrl, { hours: 1 })]);
  const values = Float32Array.from(hour.values[0]);
  const past = new Date(hour.hour_starts[0]).getTime() + 3600e3 < Date.now();
  when.textContent = (past ? "The newest forecast there is, for " : "The forecast for ") +
    hourLabel(hour.hour_starts[0]) + ": " + hour.city_total[0].toFixed(1) +
    " reported incidents expected in the whole city in that hour.";
  const heat = createHeat(view, grid);
  heat.onChange = (result) => { fillLegend(document.getElementById("legend-classes"), result.bounds); };
  await heat.ready;
  heat.show(values);
  document.getElementById("map").dataset.heat = "1";
}

showBusiest().catch((err) => {
  when.textContent = err.status === 404 ? "No forecast has been made yet."
    : "The forecast could not be loaded (" + err.message + ").";
});
