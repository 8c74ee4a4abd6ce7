/* A Leaflet map of Seattle that needs no outside server.
 * The city limits come from our own PostGIS (/boundaries/city.geojson) and are always
 * drawn. The streets: raster tiles from MAP_TILES_URL when the server configures one,
 * else the bundled OpenStreetMap streets as vector tiles made by this site
 * (/tiles/streets/{z}/{x}/{y}.pbf, drawn by Leaflet.VectorGrid): no map view is
 * sent to a third party in that mode. */
(function (global) {
  "use strict";

  function readConfig() {
    var node = document.getElementById("site-config");
    return node ? JSON.parse(node.textContent) : {};
  }

  var scriptPromises = {};
  function loadScript(src) {
    if (!scriptPromises[src]) {
      scriptPromises[src] = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = src;
        s.onload = resolve;
        s.onerror = function () { reject(new Error("could not load " + src)); };
        document.head.appendChild(s);
      });
    }
    return scriptPromises[src];
  }

  // rank: 0 motorway, 1 trunk, 2 primary, 3 secondary, 4 tertiary, 5-6 links,
  // 7 residential/unclassified, 8 living street (streets/services/street_tiles.py).
  function streetStyle(props, zoom) {
    var rank = props.rank;
    var grow = Math.max(0, zoom - 11);
    // Freeways in grey-blue, the rest white: no warm colour a heat map could use.
    if (rank <= 1) { return { color: "#8d97aa", weight: 1.8 + grow * 0.7, opacity: 0.9 }; }
    if (rank <= 3) { return { color: "#ffffff", weight: 1.4 + grow * 0.6, opacity: 1 }; }
    if (rank <= 6) { return { color: "#ffffff", weight: 1 + grow * 0.45, opacity: 1 }; }
    return { color: "#ffffff", weight: 0.6 + grow * 0.35, opacity: 0.95 };
  }

  function addStreets(map, config) {
    return loadScript(config.vectorGridUrl).then(function () {
      var layer = L.vectorGrid.protobuf(config.streetTilesUrl, {
        rendererFactory: L.canvas.tile,
        vectorTileLayerStyles: { streets: streetStyle },
        interactive: false,
        maxNativeZoom: 18,
        maxZoom: 18,
        attribution: config.streetsAttribution,
      });
      layer.addTo(map);
      map.getContainer().classList.add("street-basemap");
      return layer;
    }).catch(function () { return null; /* the outline alone still works */ });
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
    var streets = Promise.resolve(null);
    if (config.tilesUrl) {
      L.tileLayer(config.tilesUrl, { attribution: config.tilesAttribution, maxZoom: 19 }).addTo(map);
    } else if (config.streetTilesUrl) {
      streets = addStreets(map, config);
    }
    var boundaryUrl = element.dataset.boundaryUrl || "/boundaries/city.geojson";
    var outlineReady = fetch(boundaryUrl)
      .then(function (r) { return r.json(); })
      .then(function (geojson) {
        return L.geoJSON(geojson, {
          style: { color: "#334", weight: 1.5, fill: true, fillColor: "#e8ecf2", fillOpacity: 0.25 },
          interactive: false,
        }).addTo(map);
      });
    return Promise.all([outlineReady, streets]).then(function (parts) {
      var outline = parts[0];
      if (outline.getLayers().length) { map.fitBounds(outline.getBounds()); }
      element.dataset.ready = "1";
      element.dataset.streets = parts[1] ? "vector" : (config.tilesUrl ? "raster" : "none");
      return { map: map, outline: outline, streets: parts[1] };
    });
  }

  global.CrimeMap = { create: create, readConfig: readConfig };
})(window);
