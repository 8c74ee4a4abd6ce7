// The site's shell, so the commute opens like an app (issue 20). Same origin only:
// requests to any other host, and everything live or private (the API, the notes'
// pages, the admin, the street tiles), go to the network untouched.
"use strict";
var CACHE = "shell-{{ version }}";
var SHELL = {{ shell|safe }};
var STATIC = "{{ static_prefix }}";
var LIVE = ["/api/", "/notes/", "/admin/", "/tiles/"];

self.addEventListener("install", function (event) {
  // One missing file must not stop the rest from being kept.
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.allSettled(SHELL.map(function (url) { return cache.add(url); }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (LIVE.some(function (prefix) { return url.pathname.indexOf(prefix) === 0; })) { return; }
  if (url.pathname.indexOf(STATIC) === 0) {
    // Static files: from the cache, else fetched once and kept.
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
        }
        return response;
      });
    }));
    return;
  }
  if (request.mode === "navigate") {
    // Pages: the network first (forecasts change hourly), the kept copy offline.
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(url.pathname).then(function (hit) {
        return hit || caches.match(SHELL[0]);
      });
    }));
  }
});
