/* Linli service worker, written by hand: app shell, pages for offline use, and
   the IndexedDB outbox synced on `sync` (Background Sync) and on request.
   Records the server refuses are kept as "stuck" (see outbox.js), never dropped. */
"use strict";
var VERSION = "__VERSION__";
var SHELL = "linli-shell-" + VERSION;
var PAGES = "linli-pages";
var SHELL_URLS = ["/offline", "/outbox", "/static/css/app.css", "/static/js/app.js", "/static/js/outbox.js",
  "/static/vendor/htmx.min.js", "/manifest.webmanifest", "/static/icons/icon-192.png", "/i18n/zh_Hans.js", "/i18n/en.js"];

importScripts("/static/js/outbox.js");

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (c) { return c.addAll(SHELL_URLS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("linli-shell-") === 0 && k !== SHELL; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// A page stored by 准备离线 as a fragment: put it into the cached layout shell.
function composed(url) {
  return Promise.all([caches.match(url.pathname + "?_fragment=1"), caches.match("/shell")]).then(function (found) {
    if (!found[0] || !found[1]) return null;
    return Promise.all([found[0].text(), found[1].text()]).then(function (texts) {
      return new Response(texts[1].replace("<!--linli-main-->", texts[0]),
                          { headers: { "Content-Type": "text/html; charset=utf-8" } });
    });
  });
}

function fromCache(request) {
  var url = new URL(request.url);
  return caches.match(request, { ignoreVary: true }).then(function (hit) {
    if (hit) return hit;
    if (url.pathname === "/") return caches.match("/today", { ignoreVary: true });
    return composed(url);
  }).then(function (hit) { return hit || caches.match("/offline"); });
}

// Network first, but a stairwell's weak signal must not leave the worker staring at a blank
// page: after a few seconds the stored copy is shown (and refreshed if the network answers).
var NETWORK_WAIT_MS = 6000;

function networkFirst(request) {
  var network = fetch(request).then(function (response) {
    var type = response.headers.get("Content-Type") || "";
    if (response.ok && !response.redirected && type.indexOf("text/html") === 0) {
      var copy = response.clone();
      caches.open(PAGES).then(function (c) { return c.put(request, copy); });
    }
    return response;
  });
  var slow = new Promise(function (resolve) {
    setTimeout(function () {
      fromCache(request).then(function (hit) {
        if (hit && hit.url.indexOf("/offline") === -1) resolve(hit);
      });
    }, NETWORK_WAIT_MS);
  });
  return Promise.race([network, slow]).catch(function () { return fromCache(request); });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(request));
  } else if (url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/i18n/") === 0 ||
             url.pathname === "/manifest.webmanifest") {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
  }
});

// Back online: the browser fires `sync`; a rejection makes it try again later. Pages hear of
// the changes through the outbox's BroadcastChannel.
self.addEventListener("sync", function (event) {
  if (event.tag === "linli-outbox") event.waitUntil(self.Outbox.sync());
});

// Web Push: show the notice; clicking it opens the alert.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data ? event.data.text() : "" }; }
  var options = { body: data.body || "", data: { url: data.url || "/" }, icon: "/static/icons/icon-192.png",
                  requireInteraction: true, lang: "zh-CN" };
  if (data.tag) { options.tag = data.tag; options.renotify = true; }
  event.waitUntil(self.registration.showNotification(data.title || "邻里", options));
});

function openUrl(url) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    var client = list[0];
    if (client && client.navigate) {
      return client.navigate(url).then(function (c) {
        return (c || client).focus ? (c || client).focus().catch(function () { return c; }) : c;
      });
    }
    return self.clients.openWindow(url);
  });
}

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(openUrl(new URL(target, self.location.origin).href));
});
