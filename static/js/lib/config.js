// What the server hands every page's script: JSON in <script type="application/json">
// elements (Django's json_script), never inline code, so the CSP needs no nonce for it.

/** The JSON inside the element with this id; {} when the page has none. */
export function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

/** The site's settings every page reads (core.context_processors.site): the map's
 * tiles, style, glyphs and library URLs, Seattle's centre and its time zone. */
export function siteConfig() {
  return readJson("site-config");
}
