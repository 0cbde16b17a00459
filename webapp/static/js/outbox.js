/* Linli outbox: records saved on this phone until the server has stored them.
   Shared by the pages and the service worker (importScripts). Records are
   never dropped silently: the server's answer for each one either removes it
   (stored) or keeps it as "stuck" with the reason (rejected). */
(function (global) {
  "use strict";
  var DB_NAME = "linli", STORE = "outbox", dbPromise = null, running = null;
  var REPEATED = 3, RESTING_MS = 10 * 60000;

  // A request that never answers (a dead connection in a stairwell) must not hold the sync
  // (and its lock) for ever: it is given up after a while and tried again; the server's ingest is
  // idempotent, so a request that did land late doubles nothing.
  function timedFetch(url, options, ms) {
    var limit = global.LINLI_FETCH_TIMEOUT_MS || ms;
    if (typeof AbortController !== "function") return fetch(url, options);
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, limit);
    options.signal = ctl.signal;
    // not cleared on an answer: its body is read later, and the limit covers that too
    return fetch(url, options).catch(function (e) { clearTimeout(timer); throw e; });
  }

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
    // One intent, one record: the form fixes its UUID when it opens, so a second tap on save
    // (or a second submit) finds the record already there and adds nothing.
    add: function (kind, user, payload, priority, uuid) {
      var rec = { uuid: uuid || crypto.randomUUID(), kind: kind, user: user, payload: payload,
                  priority: priority || 0, recorded_at: new Date().toISOString(), state: "waiting", attempts: 0 };
      return tx("readwrite", function (s) {
        var found = s.get(rec.uuid);
        found.onsuccess = function () { if (!found.result) s.add(rec); else rec = found.result; };
      }).then(function () { changed(); return rec; });
    },
    get: function (uuid) { return tx("readonly", function (s) { return s.get(uuid); }); },
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
        rec.state = "waiting"; rec.attempts = 0; delete rec.reason; delete rec.code;
        return Outbox.update(rec);
      });
    },
    // Send what waits, for the user the cookies belong to only. Resolves with
    // {sent, failed, needLogin}; rejects when the network failed (retry later).
    sync: function () {
      if (running) return running;
      var work = function () { return doSync(); };
      // one sender at a time across the pages and the service worker; while another one sends,
      // this one does not wait for it (it could wait for ever): it says busy and is tried again
      var p = (global.navigator && navigator.locks)
        ? navigator.locks.request("linli-sync", { ifAvailable: true }, function (lock) {
          return lock ? work() : { sent: 0, busy: true };
        }) : work();
      running = p.then(function (r) { running = null; return r; }, function (e) { running = null; throw e; });
      return running;
    }
  };

  function session() {
    return timedFetch("/api/session", { credentials: "same-origin", cache: "no-store" }, 20000).then(function (res) {
      if (res.status === 401) return null;
      if (!res.ok) throw new Error("session " + res.status);
      return res.json();
    });
  }

  function doSync() {
    return Outbox.all().then(function (list) {
      // a record that failed again and again is tried every few minutes, not with every sync
      var resting = function (r) {
        return (r.attempts || 0) >= REPEATED && Date.now() - Date.parse(r.failed_at) < RESTING_MS;
      };
      var waiting = list.filter(function (r) { return r.state === "waiting" && !resting(r); });
      if (!waiting.length) {
        // only resting records: say when the first one may be tried again, so a retry is planned
        var until = list.filter(function (r) { return r.state === "waiting"; }).map(function (r) {
          return Date.parse(r.failed_at) + RESTING_MS;
        });
        return until.length ? { sent: 0, restingUntil: Math.min.apply(null, until) } : { sent: 0 };
      }
      return session().then(function (who) {
        if (!who) return { sent: 0, needLogin: true };
        var mine = waiting.filter(function (r) { return r.user === who.user; }).sort(function (a, b) {
          return (b.priority - a.priority) || (a.recorded_at < b.recorded_at ? -1 : 1);
        });
        // what the leader's team view shows: records still waiting on this phone, and refused ones
        var device = { pending: waiting.length, rejected: list.filter(function (r) { return r.state === "stuck"; }).length };
        return sendAll(mine, who, 50, false, device);
      });
    });
  }

  // A record the server could not process (5xx) when sent alone: counted, with a reason, and
  // offered for download or deletion once it has failed a few times (see app.js).
  var SERVER_ERROR = "server_error";
  function failedAlone(rec, status) {
    return Outbox.get(rec.uuid).then(function (cur) {
      if (!cur) return;
      cur.attempts = (cur.attempts || 0) + 1;
      cur.code = SERVER_ERROR; cur.reason = String(status); cur.failed_at = new Date().toISOString();
      return Outbox.update(cur);
    });
  }

  // Send in batches of `size`. A batch the server answers with 5xx is split in halves, down to
  // single records, so one record the server cannot process never holds back the others.
  // Resolves {sent, failed, needLogin}; rejects only when the network fails.
  function sendAll(records, who, size, csrfRetried, device) {
    var total = { sent: 0, failed: 0 };
    var i = 0;
    function next() {
      if (i >= records.length || total.needLogin) return Promise.resolve(total);
      var batch = records.slice(i, i + size);
      i += batch.length;
      return sendBatch(batch).then(next);
    }
    function sendBatch(batch) {
      var body = JSON.stringify({ records: batch.map(function (r) {
        return { uuid: r.uuid, kind: r.kind, recorded_at: r.recorded_at, payload: r.payload };
      }), device: device });
      return timedFetch("/api/sync", { method: "POST", credentials: "same-origin", body: body,
        headers: { "Content-Type": "application/json", "X-CSRFToken": who.csrf_token } }, 60000)
        .then(function (res) {
          if (res.status === 401) { total.needLogin = true; return; }
          if ((res.status === 413 || res.status >= 500) && batch.length > 1) {
            var half = Math.ceil(batch.length / 2);
            return sendBatch(batch.slice(0, half)).then(function () {
              return total.needLogin ? null : sendBatch(batch.slice(half));
            });
          }
          if (res.status >= 500) { total.failed++; return failedAlone(batch[0], res.status); }
          if (res.status === 400) {
            return res.json().catch(function () { return {}; }).then(function (err) {
              if (err.error === "csrf" && !csrfRetried) {
                csrfRetried = true;
                return session().then(function (fresh) {
                  if (!fresh) { total.needLogin = true; return; }
                  who = fresh;
                  return sendBatch(batch);
                });
              }
              throw new Error("sync refused: " + (err.error || res.status));
            });
          }
          if (!res.ok) throw new Error("sync " + res.status);
          return res.json().then(function (data) {
            var byUuid = {};
            batch.forEach(function (r) { byUuid[r.uuid] = r; });
            return Promise.all(data.results.map(function (a) {
              var rec = byUuid[a.uuid];
              if (!rec) return null;
              if (a.status === "stored") { total.sent++; return Outbox.remove(a.uuid); }
              rec.state = "stuck"; rec.code = a.code; rec.reason = a.reason;
              return Outbox.update(rec);
            }));
          });
        });
    }
    return next();
  }

  Outbox.REPEATED = REPEATED;
  global.Outbox = Outbox;
})(typeof self !== "undefined" ? self : this);
