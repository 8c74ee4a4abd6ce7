/* The home page: "Where are you going?" opens the scored commute (/commute/ with its
 * URL parameters), and the map shows this hour's busiest places from the active
 * forecast (CrimeHeat, the forecast page's heat). */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("home-config").textContent);
  var form = document.getElementById("trip-form");
  var error = document.getElementById("trip-error");
  var picked = { start: null, end: null };
  window.homePage = { picked: picked };

  function field(name) { return document.getElementById("trip-" + name); }
  // The commute page's encoding: "lat,lon" (static/js/commute.js decodePoint).
  function encode(p) { return p[1].toFixed(5) + "," + p[0].toFixed(5); }

  ["start", "end"].forEach(function (name) {
    CrimeTypeahead.attach("trip-" + name, "trip-" + name + "-options", config.placesUrl, function (p, label) {
      picked[name] = { point: p, name: label };
    });
    // Typing again after a pick means another place.
    field(name).addEventListener("input", function () { picked[name] = null; });
  });

  // A box typed in but not picked from the list takes the search's first answer.
  function resolve(name) {
    if (picked[name]) { return Promise.resolve(picked[name]); }
    var text = field(name).value.trim();
    if (!text) { return Promise.reject(new Error(name === "start" ? "Where do you start?" : "Where are you going?")); }
    return fetch(config.placesUrl + "?limit=1&q=" + encodeURIComponent(text))
      .then(function (r) { return r.ok ? r.json() : { features: [] }; })
      .then(function (fc) {
        var f = (fc.features || [])[0];
        if (!f) { throw new Error("No place in Seattle matches \u201c" + text + "\u201d."); }
        return { point: f.geometry.coordinates.slice(0, 2), name: f.properties.name };
      });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    error.textContent = "";
    Promise.all([resolve("start"), resolve("end")]).then(function (places) {
      field("start-point").value = encode(places[0].point);
      field("end-point").value = encode(places[1].point);
      field("start-name").value = places[0].name;
      field("end-name").value = places[1].name;
      form.submit();
    }).catch(function (err) { error.textContent = err.message; });
  });

  // --- this hour's busiest places ---
  var when = document.getElementById("busiest-when");

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }
  function hourLabel(iso) {
    return new Date(iso).toLocaleString("en-US", {
      timeZone: CrimeMap.readConfig().timeZone, weekday: "long", day: "numeric", month: "long",
      year: "numeric", hour: "numeric", minute: "2-digit",
    });
  }

  CrimeMap.create("map").then(function (handle) {
    window.homeMap = handle;
    if (!config.forecastUrl) { return null; }  // the page says "No forecast yet"
    return Promise.all([getJSON(config.gridUrl), getJSON(config.forecastUrl + "?hours=1")]).then(function (parts) {
      var grid = parts[0], hour = parts[1];
      var values = Float32Array.from(hour.values[0]);
      var past = new Date(hour.hour_starts[0]).getTime() + 3600e3 < Date.now();
      when.textContent = (past ? "The newest forecast there is, for " : "The forecast for ") +
        hourLabel(hour.hour_starts[0]) + ": " + hour.city_total[0].toFixed(1) +
        " reported incidents expected in the whole city in that hour.";
      var heat = CrimeHeat.create(handle, grid);
      heat.onChange = function (result) {
        CrimeHeat.fillLegend(document.getElementById("legend-classes"), result.bounds);
      };
      return heat.ready.then(function () {
        heat.show(values);
        document.getElementById("map").dataset.heat = "1";
      });
    });
  }).catch(function (err) {
    when.textContent = /404/.test(err.message) ? "No forecast has been made yet."
      : "The forecast could not be loaded (" + err.message + ").";
  });
})();
