// The place box every form shares (the commute page, the home page): an ARIA 1.2
// combobox (an input with a listbox popup) over the place search API. The keyboard
// works as a screen reader user expects: Down/Up move the active option (announced
// through aria-activedescendant), Enter picks it, Escape closes the list. Each
// suggestion shows its kind in words; when nothing fits, the API's message says why.
import { searchPlaces } from "./api.js";

const WAIT_MS = 150;   // typing pause before a search
const MIN_CHARS = 2;

/** Wire the input (role=combobox, aria-controls=list's id) and its <ul role=listbox>.
 * options: placesUrl, onPick(point [lon, lat], name), near() -> [lon, lat] or null
 * (where the map looks, so nearer places of an equal match come first). */
export function attachTypeahead(input, list, { placesUrl, onPick, near = null }) {
  let items = [];
  let active = -1;
  let timer = null;
  let seq = 0;
  let message = "";

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    active = -1;
    input.removeAttribute("aria-activedescendant");
  }

  function render() {
    list.innerHTML = "";
    items.forEach((f, i) => {
      const li = document.createElement("li");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === active ? "true" : "false");
      // Found by another of its names ("Empire Way S"): say which, so the
      // suggestion does not look unrelated to what was typed.
      const also = f.properties.also_known_as;
      li.textContent = f.properties.name + (also ? " (" + also + ")" : "") + " ";
      const small = document.createElement("small");
      small.textContent = f.properties.kind_label || f.properties.kind;
      li.appendChild(small);
      // mousedown, not click: the input keeps focus, so blur does not close first.
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); pick(i); });
      list.appendChild(li);
    });
    if (!items.length && message) {
      // Nothing to pick: say why ("No match in Seattle for ...", "no 9900 block ...").
      const note = document.createElement("li");
      note.setAttribute("role", "option");
      note.setAttribute("aria-disabled", "true");
      note.className = "hint";
      note.textContent = message;
      list.appendChild(note);
    }
    list.hidden = items.length === 0 && !message;
    input.setAttribute("aria-expanded", items.length ? "true" : "false");
    if (active >= 0) { input.setAttribute("aria-activedescendant", list.id + "-" + active); }
  }

  function pick(i) {
    const f = items[i];
    if (!f) { return; }
    input.value = f.properties.name;
    close();
    onPick(f.geometry.coordinates.slice(0, 2), f.properties.name);
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (text.length < MIN_CHARS) { items = []; message = ""; render(); return; }
    timer = setTimeout(async () => {
      const mine = ++seq;
      let fc;
      try {
        fc = await searchPlaces(placesUrl, text, near ? near() : null);
      } catch (err) {
        fc = { features: [] };   // the server refused or was not reached: no list
      }
      if (mine !== seq) { return; }
      items = fc.features || [];
      message = fc.message || "";
      active = items.length ? 0 : -1;
      render();
    }, WAIT_MS);
  });

  input.addEventListener("keydown", (ev) => {
    if (list.hidden) { return; }
    if (ev.key === "ArrowDown") { active = Math.min(items.length - 1, active + 1); render(); ev.preventDefault(); }
    else if (ev.key === "ArrowUp") { active = Math.max(0, active - 1); render(); ev.preventDefault(); }
    else if (ev.key === "Enter") { if (active >= 0) { ev.preventDefault(); pick(active); } }
    else if (ev.key === "Escape") { close(); }
  });

  input.addEventListener("blur", () => { setTimeout(close, 100); });
}
