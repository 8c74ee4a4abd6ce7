// The one map adapter every page uses: a Leaflet map of Seattle that needs no outside
// server, and the few drawing verbs the pages need. Points are GeoJSON order,
// [lon, lat], everywhere in this API; the swap to Leaflet's [lat, lng] happens here only.
//
// The city limits come from our own PostGIS (/boundaries/city.geojson) and are always
// drawn. The streets: raster tiles from MAP_TILES_URL when the server configures one,
// else the site's own base map: vector tiles made by this site
// (/tiles/streets/{z}/{x}/{y}.pbf: streets, water, parks, names) drawn by MapLibre GL
// with the style in static/map/style.json and glyphs made from a free font: no map
// view is sent to a third party in that mode.
//
// Leaflet itself is a classic script (django-leaflet's {% leaflet_js %}) that the
// page loads before its module; `L` is its global.
import { siteConfig } from "./config.js";

const L = window.L;

const scriptPromises = {};
function loadScript(src) {
  if (!scriptPromises[src]) {
    scriptPromises[src] = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error("could not load " + src));
      document.head.appendChild(s);
    });
  }
  return scriptPromises[src];
}

// The base map: MapLibre GL draws the site's own vector tiles (streets, water, parks,
// names) with the site's own glyphs, under Leaflet's overlays (maplibre-gl-leaflet).
// MapLibre is an ES module; it is imported after the page has drawn, so the page's
// own script and text never wait for the map library.
let maplibreReady = null;
function loadMaplibre(config) {
  if (!maplibreReady) {
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = config.maplibreCssUrl;
    document.head.appendChild(css);
    maplibreReady = import(config.maplibreUrl).then((maplibregl) => {
      maplibregl.setWorkerUrl(new URL(config.maplibreWorkerUrl, location.href).href);
      window.maplibregl = maplibregl;  // maplibre-gl-leaflet reads the global
      return loadScript(config.maplibreLeafletUrl);
    });
  }
  return maplibreReady;
}

// The style's URLs are relative in the file; MapLibre's workers need them absolute.
function absolute(path) {
  return new URL(path, location.href).href.replace(/%7B/g, "{").replace(/%7D/g, "}");
}

async function loadStyle(config) {
  const r = await fetch(config.mapStyleUrl);
  if (!r.ok) { throw new Error("map style: HTTP " + r.status); }
  const style = await r.json();
  style.sources.base.tiles = [absolute(config.streetTilesUrl)];
  style.glyphs = absolute(config.glyphsUrl);
  return style;
}

async function addStreets(map, config) {
  try {
    const [, style] = await Promise.all([loadMaplibre(config), loadStyle(config)]);
    const layer = L.maplibreGL({
      style,
      interactive: false,
      // Labels appear at once: a fade is a dozen extra frames, each a long task
      // where WebGL is software-rendered.
      fadeDuration: 0,
      pixelRatio: 1,
    });
    layer.addTo(map);
    map.getContainer().classList.add("street-basemap");
    const gl = layer.getMaplibreMap();
    await new Promise((resolve) => {
      if (gl.loaded()) { resolve(); } else { gl.once("load", resolve); }
    });
    return layer;
  } catch (err) {
    console.warn("base map unavailable:", err);
    return null; /* the outline alone still works */
  }
}

// MapLibre (a 300 KB module and a WebGL context) starts when the map is on screen
// and the browser is idle: the page's text and controls come first, and a map
// further down a phone's page costs nothing until it is scrolled to.
function whenVisible(element) {
  return new Promise((resolve) => {
    const idle = window.requestIdleCallback || ((fn) => setTimeout(fn, 1));
    if (!("IntersectionObserver" in window)) { idle(resolve); return; }
    const seen = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        seen.disconnect();
        idle(resolve, { timeout: 1500 });
      }
    }, { rootMargin: "200px" });
    seen.observe(element);
  });
}

// With a preview (static/map/preview, drawn by MapLibre once: manage.py
// render_map_preview) MapLibre waits for someone to reach for the map: a pointer over
// it, a touch, a wheel, the keyboard in it, or a zoom closer than the preview's
// images. Its first frames cost seconds of main thread where WebGL is
// software-rendered (phones without a GPU, headless browsers); the preview, two
// images per zoom, costs none.
const REACH = ["pointerover", "pointermove", "pointerdown", "touchstart", "wheel", "keydown", "focusin"];
const starters = {};
function whenReached(map, element, maxZoom) {
  return new Promise((resolve) => {
    const zoomed = () => { if (map.getZoom() > maxZoom + 0.5) { go(); } };
    function go() {
      REACH.forEach((name) => element.removeEventListener(name, go, true));
      map.off("zoomend", zoomed);
      resolve();
    }
    REACH.forEach((name) => element.addEventListener(name, go, { capture: true, passive: true }));
    map.on("zoomend", zoomed);
    starters[element.id] = go;
  });
}

/** Start the base map of a map drawn with a preview now (what a reach does). */
export function startBaseMap(elementId) { if (starters[elementId]) { starters[elementId](); } }

// The preview: at each zoom the image drawn nearest to it, the map under the page's
// heat (pane "heat") and its labels over it, as MapLibre draws them. Returns what
// removes it.
function showPreview(map, preview) {
  map.createPane("previewLabels").style.zIndex = 350;
  map.getPane("previewLabels").style.pointerEvents = "none";
  let shown = null, layers = [];
  function pick() {
    const z = map.getZoom();
    let best = preview.images[0];
    preview.images.forEach((im) => { if (Math.abs(im.z - z) < Math.abs(best.z - z)) { best = im; } });
    if (best === shown) { return; }
    shown = best;
    layers.forEach((l) => map.removeLayer(l));
    layers = [
      L.imageOverlay(best.base, best.bounds, { pane: "tilePane", alt: "", attribution: preview.attribution }).addTo(map),
      L.imageOverlay(best.labels, best.bounds, { pane: "previewLabels", alt: "" }).addTo(map),
    ];
  }
  pick();
  map.on("zoomend", pick);
  map.getContainer().classList.add("street-basemap");
  return () => {
    map.off("zoomend", pick);
    layers.forEach((l) => map.removeLayer(l));
  };
}

// The MapLibre map under each Leaflet map, by element id (for what reads the base
// map's rendered features: the heat layer, the browser tests).
const glMaps = {};

/** The MapLibre map under the map in this element, or null (none, or not yet). */
export function baseMap(elementId) { return glMaps[elementId] || null; }

/** [lon, lat] -> Leaflet's [lat, lng]. */
export function toLatLng(point) { return [point[1], point[0]]; }

/** Leaflet's LatLng -> [lon, lat], rounded to 6 decimals (about 0.1 m). */
export function fromLatLng(ll) {
  return [Math.round(ll.lng * 1e6) / 1e6, Math.round(ll.lat * 1e6) / 1e6];
}

/** Draw a map of Seattle in the element with this id. Resolves, when the city limits
 * are drawn (the page's own layers need only them), to a MapView; the base map comes
 * in behind later (#id[data-streets] says which it became: vector|raster|none).
 * options.zoom: the first zoom (11). */
export async function createMap(elementId, options = {}) {
  const element = document.getElementById(elementId);
  const config = siteConfig();
  const map = L.map(element, {
    center: config.center,
    zoom: options.zoom || 11,
    minZoom: 10,
    maxZoom: 18,
    // Quarter zooms: the city fills its frame instead of sitting small in it.
    zoomSnap: 0.25,
    preferCanvas: true,
  });
  // The page's heat goes in its own pane, under the base map's labels (the
  // preview's, pane "previewLabels"; MapLibre draws the heat under its own).
  map.createPane("heat").style.zIndex = 300;
  // The city limits over the heat, in a pane of their own that lets clicks through
  // (a canvas over the whole map would take a click meant for a square below).
  map.createPane("outline").style.zIndex = 380;
  map.getPane("outline").style.pointerEvents = "none";
  const preview = !config.tilesUrl && config.streetTilesUrl ? config.mapPreview : null;
  // With a preview the city's box came with the page: the first view is the city at
  // once, not after the city limits arrive, and not animated (frames of work before
  // anything can be read).
  if (preview) { map.fitBounds(preview.city, { animate: false }); }
  let streets = Promise.resolve(null);
  if (config.tilesUrl) {
    L.tileLayer(config.tilesUrl, { attribution: config.tilesAttribution, maxZoom: 19 }).addTo(map);
  } else if (preview) {
    element.dataset.streets = "preview";
    const maxZoom = Math.max(...preview.images.map((im) => im.z));
    const removePreview = showPreview(map, preview);
    streets = whenReached(map, element, maxZoom)
      .then(() => addStreets(map, config))
      .then((layer) => { if (layer) { removePreview(); } return layer; });
  } else if (config.streetTilesUrl) {
    streets = whenVisible(element).then(() => addStreets(map, config));
  }
  streets.then((layer) => {
    glMaps[elementId] = layer ? layer.getMaplibreMap() : null;
    element.dataset.streets = layer ? "vector" : (config.tilesUrl ? "raster" : "none");
  });
  const boundaryUrl = element.dataset.boundaryUrl || "/boundaries/city.geojson";
  const geojson = await (await fetch(boundaryUrl)).json();
  // Over the base map the outline is a line only: a fill would tint the water.
  const outline = L.geoJSON(geojson, {
    style: { color: "#334", weight: 1.5, fill: !config.streetTilesUrl, fillColor: "#e8ecf2", fillOpacity: 0.25 },
    interactive: false, pane: "outline",
  }).addTo(map);
  if (!preview && outline.getLayers().length) { map.fitBounds(outline.getBounds(), { animate: false }); }
  element.dataset.ready = "1";
  return new MapView(map, outline, streets, element);
}

/** A drawn map and the verbs pages draw with. `map` is the Leaflet map itself, for
 * what the verbs do not cover (and the browser tests). */
export class MapView {
  constructor(map, outline, streets, element) {
    this.map = map;
    this.outline = outline;
    this.streets = streets;   // Promise of the MapLibre layer, or null
    this.element = element;
  }

  /** The centre of the view, [lon, lat]. */
  center() { return fromLatLng(this.map.getCenter()); }

  /** A group of drawn things, cleared together (group.clearLayers()). */
  group() { return L.layerGroup().addTo(this.map); }

  /** Calls fn([lon, lat]) for every click on the map itself. */
  onClick(fn) { this.map.on("click", (e) => fn(fromLatLng(e.latlng))); }

  /** A labelled pin: options {cls, text, title, onMove([lon, lat]), onClick()}.
   * Draggable and reachable by keyboard. */
  pin(group, point, { cls = "", text = "", title = "", onMove, onClick } = {}) {
    const marker = L.marker(toLatLng(point), {
      icon: L.divIcon({ className: "cm-pin " + cls, html: text, iconSize: [24, 24] }),
      draggable: true, keyboard: true, title, alt: title,
    }).addTo(group);
    if (onMove) { marker.on("dragend", () => onMove(fromLatLng(marker.getLatLng()))); }
    if (onClick) { marker.on("click", () => onClick()); }
    return marker;
  }

  /** A line through [lon, lat] points: style is Leaflet's path options; options
   * {tooltip, onClick()} (a click on the line does not reach the map). */
  line(group, points, style, { tooltip, onClick } = {}) {
    const line = L.polyline(points.map(toLatLng), style);
    if (tooltip) { line.bindTooltip(tooltip); }
    if (onClick) {
      line.on("click", (ev) => { L.DomEvent.stopPropagation(ev); onClick(); });
    }
    return line.addTo(group);
  }

  /** A small fixed label on the map (not draggable): options {cls, text, title,
   * onClick()}; a button for the keyboard and screen readers, like a pin. */
  badge(group, point, { cls = "", text = "", title = "", onClick } = {}) {
    const marker = L.marker(toLatLng(point), {
      icon: L.divIcon({ className: "map-badge " + cls, html: text, iconSize: [28, 28] }),
      keyboard: true, title, alt: title, riseOnHover: true,
    }).addTo(group);
    if (onClick) {
      marker.on("click", (ev) => { L.DomEvent.stopPropagation(ev); onClick(); });
    }
    return marker;
  }

  /** A rectangle from its south-west to its north-east corner ([lon, lat] each);
   * options {onClick([lon, lat])}: the click's point. */
  box(group, southWest, northEast, style, { onClick } = {}) {
    const box = L.rectangle([toLatLng(southWest), toLatLng(northEast)], style);
    if (onClick) { box.on("click", (e) => onClick(fromLatLng(e.latlng))); }
    return box.addTo(group);
  }

  /** A popup at a [lon, lat] point holding this element; options as Leaflet's. */
  popup(point, element, options) {
    return L.popup(options).setLatLng(toLatLng(point)).setContent(element).openOn(this.map);
  }

  /** An empty box in a corner of the map ("bottomright", ...): a legend's home. */
  corner(position, className, id) {
    const control = L.control({ position });
    control.onAdd = () => {
      const div = L.DomUtil.create("div", className);
      if (id) { div.id = id; }
      return div;
    };
    control.addTo(this.map);
    return control.getContainer();
  }

  /** Show all of a drawn layer (a GeoJSON outline). */
  fitLayer(layer) { this.map.fitBounds(layer.getBounds()); }

  /** A GeoJSON layer in the group; options as Leaflet's L.geoJSON. */
  geojson(group, data, options) { return L.geoJSON(data, options).addTo(group); }

  /** Each line in the group as its [lon, lat] points (what is drawn, for tests). */
  linesOf(group) {
    return group.getLayers().map((l) => l.getLatLngs().map((ll) => [ll.lng, ll.lat]));
  }

  /** Show all these [lon, lat] points, with `pad` (a share of the box) around them. */
  fitPoints(points, pad = 0.3) {
    if (!points.length) { return; }
    this.map.fitBounds(L.latLngBounds(points.map(toLatLng)).pad(pad));
  }

  /** Bring these lines (lists of [lon, lat]) into view when they are not all in it,
   * or when the map is zoomed out further than street level (13). */
  showLines(lines, pad = 0.15) {
    let bounds = null;
    lines.forEach((points) => {
      const b = L.latLngBounds(points.map(toLatLng));
      bounds = bounds ? bounds.extend(b) : b;
    });
    if (!bounds || !bounds.isValid()) { return; }
    if (!this.map.getBounds().contains(bounds) || this.map.getZoom() < 13) {
      this.map.fitBounds(bounds.pad(pad));
    }
  }
}

// The browser tests read the base map by element id (CrimeMap.baseMap(id)).
window.CrimeMap = Object.assign(window.CrimeMap || {}, { baseMap, startBaseMap, readConfig: siteConfig });
