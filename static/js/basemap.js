/* A Leaflet map of Seattle that needs no outside server.
 * The city limits come from our own PostGIS (/boundaries/city.geojson) and are always
 * drawn. The streets: raster tiles from MAP_TILES_URL when the server configures one,
 * else the site's own base map: vector tiles made by this site
 * (/tiles/streets/{z}/{x}/{y}.pbf: streets, water, parks, names) drawn by MapLibre GL
 * with the style in static/map/style.json and glyphs made from a free font: no map
 * view is sent to a third party in that mode. */
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

  // The base map: MapLibre GL draws the site's own vector tiles (streets, water, parks,
  // names) with the site's own glyphs, under Leaflet's overlays (maplibre-gl-leaflet).
  // MapLibre 6 is an ES module; it is imported after the page has drawn, so the page's
  // own script and text never wait for the map library.
  var maplibreReady = null;
  function loadMaplibre(config) {
    if (!maplibreReady) {
      var css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = config.maplibreCssUrl;
      document.head.appendChild(css);
      maplibreReady = import(config.maplibreUrl).then(function (maplibregl) {
        maplibregl.setWorkerUrl(new URL(config.maplibreWorkerUrl, location.href).href);
        global.maplibregl = maplibregl;
        return loadScript(config.maplibreLeafletUrl);
      });
    }
    return maplibreReady;
  }

  // The style's URLs are relative in the file; MapLibre's workers need them absolute.
  function absolute(path) { return new URL(path, location.href).href.replace(/%7B/g, "{").replace(/%7D/g, "}"); }

  function loadStyle(config) {
    return fetch(config.mapStyleUrl).then(function (r) {
      if (!r.ok) { throw new Error("map style: HTTP " + r.status); }
      return r.json();
    }).then(function (style) {
      style.sources.base.tiles = [absolute(config.streetTilesUrl)];
      style.glyphs = absolute(config.glyphsUrl);
      return style;
    });
  }

  function addStreets(map, config) {
    return Promise.all([loadMaplibre(config), loadStyle(config)]).then(function (parts) {
      var style = parts[1];
      var layer = L.maplibreGL({
        style: style,
        interactive: false,
        // Labels appear at once: a fade is a dozen extra frames, each a long task
        // where WebGL is software-rendered.
        fadeDuration: 0,
        pixelRatio: 1,
      });
      layer.addTo(map);
      map.getContainer().classList.add("street-basemap");
      var gl = layer.getMaplibreMap();
      return new Promise(function (resolve) {
        if (gl.loaded()) { resolve(layer); } else { gl.once("load", function () { resolve(layer); }); }
      });
    }).catch(function (err) {
      console.warn("base map unavailable:", err);
      return null; /* the outline alone still works */
    });
  }

  // MapLibre (a 300 KB module and a WebGL context) starts when the map is on screen
  // and the browser is idle: the page's text and controls come first, and a map
  // further down a phone's page costs nothing until it is scrolled to.
  function whenVisible(element) {
    return new Promise(function (resolve) {
      var idle = global.requestIdleCallback || function (fn) { return setTimeout(fn, 1); };
      if (!("IntersectionObserver" in global)) { idle(resolve); return; }
      var seen = new IntersectionObserver(function (entries) {
        if (entries.some(function (e) { return e.isIntersecting; })) {
          seen.disconnect();
          idle(resolve, { timeout: 1500 });
        }
      }, { rootMargin: "200px" });
      seen.observe(element);
    });
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
      // Quarter zooms: the city fills its frame instead of sitting small in it.
      zoomSnap: 0.25,
      preferCanvas: true,
    });
    var streets = Promise.resolve(null);
    if (config.tilesUrl) {
      L.tileLayer(config.tilesUrl, { attribution: config.tilesAttribution, maxZoom: 19 }).addTo(map);
    } else if (config.streetTilesUrl) {
      streets = whenVisible(element).then(function () { return addStreets(map, config); });
    }
    var boundaryUrl = element.dataset.boundaryUrl || "/boundaries/city.geojson";
    var outlineReady = fetch(boundaryUrl)
      .then(function (r) { return r.json(); })
      .then(function (geojson) {
        // Over the base map the outline is a line only: a fill would tint the water.
        return L.geoJSON(geojson, {
          style: { color: "#334", weight: 1.5, fill: !config.streetTilesUrl, fillColor: "#e8ecf2", fillOpacity: 0.25 },
          interactive: false,
        }).addTo(map);
      });
    // The page's own layers need only the outline; the base map comes in behind them
    // when MapLibre has loaded (#map[data-streets] says which base map it became).
    streets.then(function (layer) {
      glMaps[elementId] = layer ? layer.getMaplibreMap() : null;
      element.dataset.streets = layer ? "vector" : (config.tilesUrl ? "raster" : "none");
    });
    return outlineReady.then(function (outline) {
      if (outline.getLayers().length) { map.fitBounds(outline.getBounds()); }
      element.dataset.ready = "1";
      return { map: map, outline: outline, streets: streets };
    });
  }

  // The MapLibre map under each Leaflet map, by element id (for what reads the base
  // map's rendered features: the browser tests).
  var glMaps = {};
  function baseMap(elementId) { return glMaps[elementId] || null; }

  global.CrimeMap = { create: create, readConfig: readConfig, baseMap: baseMap };
})(window);
