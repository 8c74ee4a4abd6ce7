// The forecast page: a week of hourly forecasts fetched once per category (compact q8
// arrays), drawn as the heat layer (lib/heat.js); switching hours only redraws it.
import { readJson, siteConfig } from "../lib/config.js";
import { getJson, reversePlace } from "../lib/api.js";
import { createMap } from "../lib/map.js";
import { createHeat, fillLegend } from "../lib/heat.js";
import { cellGrid, decodeLevels, levelValues, nearestCell, valuesOf } from "./forecast_cells.js";
import { dayTimeLabel } from "../lib/dates.js";

const config = readJson("forecast-config");
const mapEl = document.getElementById("map");
const slider = document.getElementById("hour-slider");
const label = document.getElementById("hour-label");
const select = document.getElementById("category-select");
const playButton = document.getElementById("play-button");
const state = { grid: null, weeks: {}, week: null, hour: 0, category: select.value, timer: null, chart: null, cell: null, map: null };
window.forecastPage = state; // for the browser tests and a console

// The q8 encoding comes from the server (config.q8, predictions.services.payloads.Q8).
let levels = null;
let view = null;
let heat = null;
let outlineGroup = null;

function hourValues(week, hour) {
  if (!week.decoded[hour]) { week.decoded[hour] = decodeLevels(week.values[hour]); }
  return valuesOf(week.decoded[hour], levels);
}

async function loadWeek(category) {
  if (state.weeks[category]) { return state.weeks[category]; }
  const week = await getJson(config.forecastUrl, { encoding: "q8", hours: 168, category, start: config.start });
  week.decoded = [];
  state.weeks[category] = week;
  return week;
}

// With the weekday and the year (lib/dates.js): "Mon 6 Dec 2021, 8:00 AM".
function fmtHour(iso) { return dayTimeLabel(iso, siteConfig().timeZone); }

function updateLegend(result) {
  const week = state.week, h = state.hour;
  if (!week || !result) { return; }
  fillLegend(document.getElementById("legend-classes"), result.bounds);
  const size = Math.round(state.grid.cellSize * result.level.k);
  document.getElementById("legend-city").textContent =
    "Whole city this hour: " + week.city_total[h].toFixed(1) + " expected reported incidents. " +
    "Coloured in " + size + " m squares at this zoom" + (result.level.k > 1 ? " (zoom in for 150 m)." : ".");
}

function showHour(h) {
  state.hour = h;
  slider.value = String(h);
  label.textContent = fmtHour(state.week.hour_starts[h]);
  mapEl.dataset.hour = String(h);
  heat.show(hourValues(state.week, h));  // heat.onChange updates the legend
}

async function setCategory(category) {
  state.category = category;
  mapEl.dataset.forecastReady = "0";
  const week = await loadWeek(category);
  state.week = week;
  if (!levels) { levels = levelValues(config.q8); }
  slider.max = String(week.hours - 1);
  mapEl.dataset.category = category;
  showHour(Math.min(state.hour, week.hours - 1));
  mapEl.dataset.forecastReady = "1";
  if (state.cell != null) { showCell(state.cell); }
}

// Where a click is, in words (the place index's reverse lookup): never a cell id.
async function placeName(lon, lat) {
  if (!config.reverseUrl) { return null; }
  try {
    const fc = await reversePlace(config.reverseUrl, [Number(lon.toFixed(6)), Number(lat.toFixed(6))]);
    const f = (fc.features || [])[0];
    return f ? f.properties.name : null;
  } catch (err) { return null; }
}

async function showCell(i) {
  state.cell = i;
  const g = state.grid;
  outlineGroup.clearLayers();
  view.box(outlineGroup, [g.lon[i] - g.dlon[i], g.lat[i] - g.dlat], [g.lon[i] + g.dlon[i], g.lat[i] + g.dlat],
    { color: "#123", weight: 2, fill: false, interactive: false });
  const p = await getJson(config.pointUrl, {
    lat: g.lat[i], lon: g.lon[i], hours: state.week.hours, category: state.category, start: config.start,
  });
  const panel = document.getElementById("cell-panel");
  panel.hidden = false;
  // Named as people know it: the neighbourhood, and the nearest named place
  // where the place index can say (never a cell id).
  const title = document.getElementById("cell-title");
  const where = p.neighbourhood || "This 150 m square";
  title.textContent = where + ": the week ahead";
  panel.dataset.place = where;
  placeName(g.lon[i], g.lat[i]).then((near) => {
    if (near && state.cell === i) {
      title.textContent = where + ", " + near + ": the week ahead";
      panel.dataset.place = where + ", " + near;
    }
  });
  const d = p.drivers;
  const trend = d.recent_vs_long_run == null ? "no incidents in the past year" :
    (d.recent_vs_long_run > 1.2 ? "recent activity is above its long-run level" :
      d.recent_vs_long_run < 0.8 ? "recent activity is below its long-run level" : "recent activity is near its long-run level");
  document.getElementById("cell-drivers").textContent =
    "What drives it: long-run level " + d.long_run_per_week + " incidents/week (past year), recent " +
    d.recent_per_week + "/week (last 4 weeks): " + trend + ". Forecast for this week: " +
    d.forecast_week_total + " expected.";
  const data = {
    labels: p.hour_starts.map(fmtHour),
    datasets: [
      { label: "Forecast (expected per hour)", data: p.expected, borderColor: "#b3261e", pointRadius: 0, borderWidth: 1.5 },
      { label: "Past year, same hour of week (mean)", data: p.history_same_hour_of_week, borderColor: "#1f4fa3", pointRadius: 0, borderWidth: 1, borderDash: [4, 3] },
    ],
  };
  // Chart.js is a classic script (vendor/chartjs) loaded before this module.
  if (window.Chart) {
    if (state.chart) { state.chart.destroy(); }
    state.chart = new window.Chart(document.getElementById("cell-chart"), {
      type: "line", data,
      options: { animation: false, responsive: true, interaction: { mode: "index", intersect: false },
        scales: { x: { ticks: { maxTicksLimit: 7 } }, y: { beginAtZero: true } } },
    });
  }
  panel.dataset.ready = "1";
}

function togglePlay() {
  if (state.timer) {
    clearInterval(state.timer); state.timer = null;
    playButton.textContent = "Play"; playButton.setAttribute("aria-pressed", "false");
    return;
  }
  playButton.textContent = "Pause"; playButton.setAttribute("aria-pressed", "true");
  state.timer = setInterval(() => showHour((state.hour + 1) % state.week.hours), 600);
}

async function init() {
  view = await createMap("map");
  state.map = view.map;
  outlineGroup = view.group();
  const grid = await getJson(config.gridUrl);
  state.grid = cellGrid(grid);
  heat = createHeat(view, grid);
  heat.onChange = updateLegend;
  await heat.ready;
  await setCategory(select.value);
  slider.addEventListener("input", () => showHour(parseInt(slider.value, 10)));
  select.addEventListener("change", () => setCategory(select.value));
  playButton.addEventListener("click", togglePlay);
  view.onClick((point) => {
    const i = nearestCell(state.grid, point);
    if (i >= 0) { showCell(i); }
  });
}

init().catch((err) => {
  label.textContent = "Could not load the forecast: " + err.message;
  console.error(err);
});
