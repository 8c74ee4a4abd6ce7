// Live progress on an ImportRun's admin page: poll its JSON status while it runs,
// then reload once so the page shows the final counts.
import { getJson } from "./lib/api.js";

const RUNNING = new Set(["pending", "running"]);

function watch(box) {
  const bar = document.getElementById("import-progress-bar");
  const text = document.getElementById("import-progress-text");
  async function poll() {
    let s;
    try {
      s = await getJson(box.dataset.statusUrl, null, { credentials: "same-origin", cache: "no-store" });
    } catch (err) {
      window.setTimeout(poll, 3000);
      return;
    }
    if (bar) { bar.value = s.progress; }
    const label = Math.round(s.progress * 100) + "% (" + s.status + ")";
    if (text) { text.textContent = label; }
    box.textContent = "Import " + s.status + ": " + label;
    if (s.done) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
  }
  poll();
}

const box = document.getElementById("import-status");
if (box && RUNNING.has(box.dataset.status)) { watch(box); }
