/* The place typeahead every form shares (the commute page, the home page): an ARIA
 * combobox with a listbox over the place search API. attach(inputId, listId,
 * placesUrl, onPick, near) wires an input and its list; onPick([lon, lat], name) gets
 * the chosen place; near(), when given, says where the map looks ([lon, lat] or null)
 * so that nearer places of an equal match come first. Each suggestion shows its kind
 * in words; when nothing fits, the API's message says why. */
(function (global) {
  "use strict";

  function attach(inputId, listId, placesUrl, onPick, near) {
    var input = document.getElementById(inputId), list = document.getElementById(listId);
    var items = [], active = -1, timer = null, seq = 0, message = "";
    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; input.removeAttribute("aria-activedescendant"); }
    function render() {
      list.innerHTML = "";
      items.forEach(function (f, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        // Found by another of its names ("Empire Way S"): say which, so the
        // suggestion does not look unrelated to what was typed.
        var also = f.properties.also_known_as;
        li.textContent = f.properties.name + (also ? " (" + also + ")" : "") + " ";
        var small = document.createElement("small");
        small.textContent = f.properties.kind_label || f.properties.kind;
        li.appendChild(small);
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); pick(i); });
        list.appendChild(li);
      });
      if (!items.length && message) {
        // Nothing to pick: say why ("No match in Seattle for ...", "no 9900 block ...").
        var note = document.createElement("li");
        note.setAttribute("role", "option");
        note.setAttribute("aria-disabled", "true");
        note.className = "hint";
        note.textContent = message;
        list.appendChild(note);
      }
      list.hidden = items.length === 0 && !message;
      input.setAttribute("aria-expanded", items.length ? "true" : "false");
      if (active >= 0) { input.setAttribute("aria-activedescendant", listId + "-" + active); }
    }
    function pick(i) {
      var f = items[i];
      if (!f) { return; }
      input.value = f.properties.name;
      close();
      onPick(f.geometry.coordinates.slice(0, 2), f.properties.name);
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { items = []; message = ""; render(); return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        var at = near ? near() : null;
        var where = at ? "&near=" + at[0].toFixed(5) + "," + at[1].toFixed(5) : "";
        fetch(placesUrl + "?limit=8&q=" + encodeURIComponent(q) + where)
          .then(function (r) { return r.ok ? r.json() : { features: [] }; })
          .then(function (fc) { if (mine === seq) { items = fc.features || []; message = fc.message || ""; active = items.length ? 0 : -1; render(); } })
          .catch(function () { items = []; message = ""; render(); });
      }, 150);
    });
    input.addEventListener("keydown", function (ev) {
      if (list.hidden) { return; }
      if (ev.key === "ArrowDown") { active = Math.min(items.length - 1, active + 1); render(); ev.preventDefault(); }
      else if (ev.key === "ArrowUp") { active = Math.max(0, active - 1); render(); ev.preventDefault(); }
      else if (ev.key === "Enter") { if (active >= 0) { ev.preventDefault(); pick(active); } }
      else if (ev.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }


  global.CrimeTypeahead = { attach: attach };
})(window);
