// Live progress on an ImportRun's admin page: poll its JSON status while it runs,
// then reload once so the page shows the final counts.
(function () {
  "use strict";
  var box = document.getElementById("import-status");
  if (!box) return;
  var running = { pending: true, running: true };
  if (!running[box.dataset.status]) return;
  var bar = document.getElementById("import-progress-bar");
  var text = document.getElementById("import-progress-text");
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (bar) bar.value = s.progress;
        var label = Math.round(s.progress * 100) + "% (" + s.status + ")";
        if (text) text.textContent = label;
        box.textContent = "Import " + s.status + ": " + label;
        if (s.done) window.location.reload();
        else window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
