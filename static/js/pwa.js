// Installable site (alerts' manifest and service worker at the site's root).
(function () {
  "use strict";
  if (!("serviceWorker" in navigator) || !window.isSecureContext) { return; }
  var link = document.querySelector('link[rel="manifest"]');
  var worker = link && link.getAttribute("data-service-worker");
  if (!worker) { return; }
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(worker, { scope: "/" }).catch(function () {
      /* installing is optional: the site works without it */
    });
  });
})();
