// Installable site (alerts' manifest and service worker at the site's root). Loaded
// on every page as a module (templates/base.html).
function register() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) { return; }
  const link = document.querySelector('link[rel="manifest"]');
  const worker = link && link.getAttribute("data-service-worker");
  if (!worker) { return; }
  window.addEventListener("load", () => {
    navigator.serviceWorker.register(worker, { scope: "/" }).catch(() => {
      /* installing is optional: the site works without it */
    });
  });
}

register();
