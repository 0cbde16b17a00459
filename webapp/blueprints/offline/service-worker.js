/* Linli service worker, written by hand: app shell, pages for offline use, and
   the IndexedDB outbox synced on `sync` (Background Sync) and on request.
   VERSION covers everything the phone caches (templates and translations too), so
   every deploy installs a new worker. Stored pages ("linli-pages") are never removed
   here: only the page script does that, on logout or when the server confirms that
   another user signed in on this phone. A page that was not stored is answered with
   an offline notice inside the stored layout, never by clearing anything. */
"use strict";
var VERSION = "__VERSION__";
var SHELL = "linli-shell-" + VERSION;
var PAGES = "linli-pages";
var SHELL_URLS = ["/offline", "/outbox", "/static/css/app.css", "/static/js/app.js", "/static/js/outbox.js", "/static/js/meals.js", "/static/js/today.js", "/static/js/requests.js",
  "/static/vendor/htmx.min.js", "/manifest.webmanifest", "/static/icons/icon-192.png", "/i18n/zh_Hans.js", "/i18n/en.js"];
// main parts only, put into the user's stored layout (/shell) when offline
var SHELL_FRAGMENTS = ["/offline", "/outbox"];

importScripts("/static/js/outbox.js");

function fragmentKey(path) { return path + "?_fragment=1"; }

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (c) {
    return c.addAll(SHELL_URLS).then(function () {
      return Promise.all(SHELL_FRAGMENTS.map(function (path) {
        return fetch(path, { headers: { "HX-Request": "true" }, cache: "no-store" }).then(function (res) {
          if (!res.ok) throw new Error(path + " " + res.status);
          return c.put(fragmentKey(path), res);
        });
      }));
    });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("linli-shell-") === 0 && k !== SHELL; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// A page composed here carries the security headers the server gave the stored layout (CSP…).
var KEPT_HEADERS = ["Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
                    "Cross-Origin-Opener-Policy", "Permissions-Policy"];
function html(text, like) {
  var headers = new Headers({ "Content-Type": "text/html; charset=utf-8" });
  if (like) KEPT_HEADERS.forEach(function (name) { var v = like.headers.get(name); if (v) headers.set(name, v); });
  return new Response(text, { headers: headers });
}

function match(cacheName, key) {
  return caches.open(cacheName).then(function (c) { return c.match(key, { ignoreVary: true }); });
}

// A main part (fragment) put into the user's stored layout; null if either is missing.
function compose(fragment) {
  return Promise.all([fragment, match(PAGES, "/shell")]).then(function (found) {
    if (!found[0] || !found[1]) return null;
    return Promise.all([found[0].text(), found[1].text()]).then(function (texts) {
      return html(texts[1].replace("<!--linli-main-->", function () { return texts[0]; }), found[1]);
    });
  });
}

// What the phone can show for a page without network, best first:
// the stored page → the stored fragment in the layout → a page of the app shell in the
// layout (outbox, offline notice) → the shell's own copy (no user signed in yet).
function fromCache(request) {
  var url = new URL(request.url);
  var path = url.pathname;
  return match(PAGES, request).then(function (hit) {
    return hit || (url.search ? null : compose(match(PAGES, fragmentKey(path))));
  }).then(function (hit) {
    if (hit) return hit;
    var own = SHELL_FRAGMENTS.indexOf(path) !== -1 ? path : "/offline";
    return compose(match(SHELL, fragmentKey(own))).then(function (page) {
      return page || match(SHELL, own);
    });
  });
}

// Network first, but a stairwell's weak signal must not leave the worker staring at a blank
// page: after a few seconds the stored copy is shown (and refreshed if the network answers).
var NETWORK_WAIT_MS = 6000;

function storable(response) {
  var type = response.headers.get("Content-Type") || "";
  return response.ok && !response.redirected && type.indexOf("text/html") === 0;
}

function networkFirst(request) {
  var network = fetch(request).then(function (response) {
    if (storable(response)) {
      var copy = response.clone();
      caches.open(PAGES).then(function (c) { return c.put(request, copy); });
    }
    return response;
  });
  var slow = new Promise(function (resolve) {
    setTimeout(function () {
      match(PAGES, request).then(function (hit) { if (hit) resolve(hit); });
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

// Back online: the browser fires `sync`. The network may still be failing (a flapping signal),
// or a page may be sending at that moment (the outbox sends one at a time, and that page may be
// closed before it is done): the event tries again a few times, 2 to 30 s apart. It starts no new
// try after SYNC_TRIES_MS, so that a try that hangs to its timeouts (20 s for the session, 60 s
// for a batch) still ends within the browser's limit for a sync event (3 minutes in Chromium); a
// rejection then leaves it to the browser's own retry minutes later. What the server refused for
// good (a 400, a storage error) is not tried again here. Pages hear of the changes through the
// outbox's BroadcastChannel.
var SYNC_RETRY_MS = [2000, 4000, 8000, 15000, 30000, 30000];
var SYNC_TRIES_MS = 90000;
function passing(error) {  // fetch's network failure, or a timeout
  return error && (error.name === "TypeError" || error.name === "AbortError" || error.busy);
}
function syncUntilSent(startedAt, tries) {
  function again(error) {
    if (!passing(error) || tries >= SYNC_RETRY_MS.length ||
        Date.now() + SYNC_RETRY_MS[tries] - startedAt > SYNC_TRIES_MS) throw error;
    return new Promise(function (resolve) { setTimeout(resolve, SYNC_RETRY_MS[tries]); }).then(function () {
      return syncUntilSent(startedAt, tries + 1);
    });
  }
  return self.Outbox.sync().then(function (result) {
    if (!result || !result.busy) return result;
    var busy = new Error("outbox busy");
    busy.busy = true;
    return again(busy);
  }, again);
}
self.addEventListener("sync", function (event) {
  if (event.tag === "linli-outbox") event.waitUntil(syncUntilSent(Date.now(), 0));
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
