/* Linli outbox: records saved on this phone until the server has stored them.
   Shared by the pages and the service worker (importScripts). Records are
   never dropped silently: the server's answer for each one either removes it
   (stored) or keeps it as "stuck" with the reason (rejected). */
(function (global) {
  "use strict";
  var DB_NAME = "linli", STORE = "outbox", dbPromise = null, running = null;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = function () {
          var s = req.result.createObjectStore(STORE, { keyPath: "uuid" });
          s.createIndex("user", "user");
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { dbPromise = null; reject(req.error); };
      });
    }
    return dbPromise;
  }

  // Run fn(store) in one transaction; resolve with what its request gave, once committed.
  function tx(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        // strict: a saved record is on disk before the page says so
        var t = db.transaction(STORE, mode, { durability: mode === "readwrite" ? "strict" : "default" }), result;
        var req = fn(t.objectStore(STORE));
        if (req) req.onsuccess = function () { result = req.result; };
        t.oncomplete = function () { resolve(result); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  }

  function changed() {
    try { new BroadcastChannel("linli-outbox").postMessage("changed"); } catch (e) { /* old browser */ }
  }

  var Outbox = {
    add: function (kind, user, payload, priority) {
      var rec = { uuid: crypto.randomUUID(), kind: kind, user: user, payload: payload,
                  priority: priority || 0, recorded_at: new Date().toISOString(), state: "waiting" };
      return tx("readwrite", function (s) { return s.add(rec); }).then(function () { changed(); return rec; });
    },
    all: function () { return tx("readonly", function (s) { return s.getAll(); }); },
    mine: function (user) {
      return Outbox.all().then(function (list) {
        return list.filter(function (r) { return r.user === user; })
          .sort(function (a, b) { return a.recorded_at < b.recorded_at ? -1 : 1; });
      });
    },
    remove: function (uuid) {
      return tx("readwrite", function (s) { return s.delete(uuid); }).then(changed);
    },
    update: function (rec) {
      return tx("readwrite", function (s) { return s.put(rec); }).then(changed);
    },
    retry: function (uuid) {
      return tx("readonly", function (s) { return s.get(uuid); }).then(function (rec) {
        if (!rec) return;
        rec.state = "waiting"; delete rec.reason; delete rec.code;
        return Outbox.update(rec);
      });
    },
    // Send what waits, for the user the cookies belong to only. Resolves with
    // {sent, needLogin}; rejects when the network or server failed (retry later).
    sync: function () {
      if (running) return running;
      var work = function () { return doSync(); };
      var p = (global.navigator && navigator.locks) ? navigator.locks.request("linli-sync", work) : work();
      running = p.then(function (r) { running = null; return r; }, function (e) { running = null; throw e; });
      return running;
    }
  };

  function session() {
    return fetch("/api/session", { credentials: "same-origin", cache: "no-store" }).then(function (res) {
      if (res.status === 401) return null;
      if (!res.ok) throw new Error("session " + res.status);
      return res.json();
    });
  }

  function doSync() {
    return Outbox.all().then(function (list) {
      var waiting = list.filter(function (r) { return r.state === "waiting"; });
      if (!waiting.length) return { sent: 0 };
      return session().then(function (who) {
        if (!who) return { sent: 0, needLogin: true };
        var mine = waiting.filter(function (r) { return r.user === who.user; }).sort(function (a, b) {
          return (b.priority - a.priority) || (a.recorded_at < b.recorded_at ? -1 : 1);
        });
        return sendAll(mine, who, 50, false);
      });
    });
  }

  function sendAll(records, who, size, csrfRetried) {
    if (!records.length) return Promise.resolve({ sent: 0 });
    var batch = records.slice(0, size);
    var body = JSON.stringify({ records: batch.map(function (r) {
      return { uuid: r.uuid, kind: r.kind, recorded_at: r.recorded_at, payload: r.payload };
    }) });
    return fetch("/api/sync", { method: "POST", credentials: "same-origin", body: body,
      headers: { "Content-Type": "application/json", "X-CSRFToken": who.csrf_token } })
      .then(function (res) {
        if (res.status === 401) return { sent: 0, needLogin: true };
        if (res.status === 413 && size > 1) return sendAll(records, who, Math.ceil(size / 2), csrfRetried);
        if (res.status === 400) {
          return res.json().catch(function () { return {}; }).then(function (err) {
            if (err.error === "csrf" && !csrfRetried) {
              return session().then(function (fresh) {
                return fresh ? sendAll(records, fresh, size, true) : { sent: 0, needLogin: true };
              });
            }
            throw new Error("sync refused: " + (err.error || res.status));
          });
        }
        if (!res.ok) throw new Error("sync " + res.status);
        return res.json().then(function (data) {
          var byUuid = {};
          batch.forEach(function (r) { byUuid[r.uuid] = r; });
          var steps = data.results.map(function (a) {
            var rec = byUuid[a.uuid];
            if (!rec) return null;
            if (a.status === "stored") return Outbox.remove(a.uuid);
            rec.state = "stuck"; rec.code = a.code; rec.reason = a.reason;
            return Outbox.update(rec);
          });
          return Promise.all(steps).then(function () {
            return sendAll(records.slice(batch.length), who, size, csrfRetried).then(function (rest) {
              return { sent: batch.length + (rest.sent || 0), needLogin: rest.needLogin };
            });
          });
        });
      });
  }

  global.Outbox = Outbox;
})(typeof self !== "undefined" ? self : this);
