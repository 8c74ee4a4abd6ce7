#!/usr/bin/env bash
# Copy the map library from node_modules (npm ci, versions pinned in package.json) into
# static/vendor, where the site serves it from (no CDN). Run after changing a version in
# package.json; the copies are committed, so a fresh machine needs nothing from here.
set -euo pipefail
cd "$(dirname "$0")/.."
strip_map() { sed '/^\/\/# sourceMappingURL=/d' "$1" > "$2"; }
mkdir -p static/vendor/maplibre-gl static/vendor/maplibre-gl-leaflet
for f in maplibre-gl.mjs maplibre-gl-worker.mjs; do
  strip_map "node_modules/maplibre-gl/dist/$f" "static/vendor/maplibre-gl/$f"
done
cp node_modules/maplibre-gl/dist/maplibre-gl.css static/vendor/maplibre-gl/
strip_map node_modules/@maplibre/maplibre-gl-leaflet/leaflet-maplibre-gl.js \
  static/vendor/maplibre-gl-leaflet/leaflet-maplibre-gl.js
echo "vendored maplibre-gl $(node -p 'require("./node_modules/maplibre-gl/package.json").version')"
