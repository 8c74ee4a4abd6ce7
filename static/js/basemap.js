/* A Leaflet map of Seattle that works without internet tiles.
 * The city limits come from our own PostGIS (/boundaries/city.geojson) and are always
 * drawn; tiles are added only when the server configures a tile URL. */
(function (global) {
  "use strict";

  function readConfig() {
    var node = document.getElementById("site-config");
    return node ? JSON.parse(node.textContent) : {};
  }

  function create(elementId, options) {
    options = options || {};
    var element = document.getElementById(elementId);
    var config = readConfig();
    var map = L.map(element, {
      center: config.center,
      zoom: options.zoom || 11,
      minZoom: 10,
      maxZoom: 18,
      preferCanvas: true,
    });
    if (config.tilesUrl) {
      L.tileLayer(config.tilesUrl, { attribution: config.tilesAttribution, maxZoom: 19 }).addTo(map);
    }
    var boundaryUrl = element.dataset.boundaryUrl || "/boundaries/city.geojson";
    return fetch(boundaryUrl)
      .then(function (r) { return r.json(); })
      .then(function (geojson) {
        var outline = L.geoJSON(geojson, {
          style: { color: "#334", weight: 1.5, fill: true, fillColor: "#e8ecf2", fillOpacity: 0.35 },
          interactive: false,
        }).addTo(map);
        if (outline.getLayers().length) { map.fitBounds(outline.getBounds()); }
        element.dataset.ready = "1";
        return { map: map, outline: outline };
      });
  }

  global.CrimeMap = { create: create, readConfig: readConfig };
})(window);
