/* Linli pages: offline stamp, outbox forms, sync with backoff, 准备离线, outbox page. */
(function () {
  "use strict";
  var T = window.LINLI_T || {};
  var body = document.body;
  var user = body.dataset.user ? Number(body.dataset.user) : null;
  var $ = function (sel) { return document.querySelector(sel); };
  var PAGES = "linli-pages";
  var hasOutbox = !!(window.indexedDB && window.crypto && crypto.randomUUID && window.Outbox);

  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/service-worker.js", { scope: "/" });

  // A different user (or none, after logout) on this phone: remove the last user's cached pages.
  var last = localStorage.getItem("linli-user") || "";
  if (String(user || "") !== last) {
    if (last && window.caches) {
      caches.keys().then(function (keys) {
        keys.filter(function (k) { return k.indexOf(PAGES) === 0; }).forEach(function (k) { caches.delete(k); });
      });
      localStorage.removeItem("linli-prepared-at");
    }
    localStorage.setItem("linli-user", String(user || ""));
  }

  // Offline: say when the page shown was last updated.
  function fmt(iso) { var d = new Date(iso); return isNaN(d) ? iso : d.toLocaleString("zh-CN", { hour12: false }); }
  function stamp() {
    var el = $("#stamp");
    var marker = document.querySelector("main [data-rendered]") || body;  // a fragment's own time
    if (!navigator.onLine && marker.dataset.rendered) {
      el.textContent = T.offline + " · " + T.cachedAt + " " + fmt(marker.dataset.rendered);
      el.hidden = false;
    } else { el.hidden = true; }
  }
  stamp();
  window.addEventListener("offline", stamp);

  if (!hasOutbox || !user) return;

  // Badge and old-record warning.
  function refresh() {
    return Outbox.mine(user).then(function (list) {
      var badge = $("#outbox-badge"), count = $("#outbox-count");
      if (count) count.textContent = String(list.length);
      if (badge) badge.hidden = list.length === 0;
      var old = list.some(function (r) { return Date.now() - Date.parse(r.recorded_at) > 3 * 86400e3; });
      var warn = $("#old-warning");
      if (warn) { warn.textContent = T.oldRecords; warn.hidden = !old; }
      if ($("#outbox-waiting")) renderOutbox(list);
      return list;
    });
  }
  try { new BroadcastChannel("linli-outbox").onmessage = refresh; } catch (e) { /* no channel */ }

  // Sync now, and again with backoff while records wait: 1 s, 2 s, 4 s … 30 s.
  var delay = 1000, timer = null;
  function requestSync() {
    clearTimeout(timer);
    return Outbox.sync().then(function (r) {
      delay = 1000;
      var warn = $("#old-warning");
      if (r && r.needLogin && warn) { warn.textContent = T.relogin; warn.hidden = false; }
      return refresh();
    }, function () {
      timer = setTimeout(requestSync, delay);
      delay = Math.min(delay * 2, 30000);
      return refresh();
    });
  }
  window.addEventListener("online", function () { stamp(); delay = 1000; requestSync(); });
  function backgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register("linli-outbox");
    }).catch(function () {});
  }

  // Forms marked data-outbox are saved on the phone first, then synced.
  function payloadOf(form) {
    var data = new FormData(form), out = {};
    data.forEach(function (value, key) {
      if (key === "csrf_token" || key === "uuid") return;
      if (key === "residents_seen" || key === "needs") (out[key] = out[key] || []).push(value);
      else out[key] = value;
    });
    if (form.dataset.household) out.household_id = Number(form.dataset.household);
    return out;
  }
  function nowLocal() {
    var d = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 16);
  }
  document.querySelectorAll("input[data-now]").forEach(function (el) { el.value = nowLocal(); });
  document.querySelectorAll("form[data-outbox]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var priority = Number(form.dataset.priority || 10);
      var note = form.querySelector("[data-saved]");
      if (note) note.hidden = true;
      Outbox.add(form.dataset.outbox, user, payloadOf(form), priority).then(function (rec) {
        var saved = form.querySelector("[data-saved]");
        if (saved) { saved.textContent = T.saved; saved.hidden = false; saved.scrollIntoView({ block: "center" }); }
        if (form.hasAttribute("data-sos")) sosPressed(rec, saved);
        form.dataset.savedCount = String(Number(form.dataset.savedCount || 0) + 1);
        form.reset();
        form.querySelectorAll("input[data-now]").forEach(function (el) { el.value = nowLocal(); });
        if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
        backgroundSync();
        return refresh().then(requestSync);
      });
    });
  });

  // SOS: saved and queued like any record; the phone and SMS fallbacks show at once.
  function sosPressed(rec, saved) {
    var panel = $("#sos-fallback");
    if (panel) {
      var when = new Date().toLocaleString("zh-CN", { hour12: false });
      var sms = $("#sms-worker");
      if (sms) sms.href = sms.href.split("?")[0] + "?body=" + encodeURIComponent(panel.dataset.sms + when);
      panel.hidden = false;
    }
    if (saved) saved.textContent = navigator.onLine ? T.saved : T.sosQueued;
    var check = function () {
      Outbox.all().then(function (list) {
        if (!list.some(function (r) { return r.uuid === rec.uuid; })) { if (saved) saved.textContent = T.sosSent; }
        else setTimeout(check, 1000);
      });
    };
    check();
  }

  // Install Linli to the home screen (residents are invited to).
  var installBtn = $("#install");
  if (installBtn) window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();
    installBtn.hidden = false;
    installBtn.onclick = function () { installBtn.hidden = true; event.prompt(); };
  });

  // Push notifications on the settings page.
  var pushOn = $("#push-on"), pushOff = $("#push-off"), pushStatus = $("#push-status");
  function b64(s) {
    var pad = "=".repeat((4 - s.length % 4) % 4), raw = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  function postJson(url, data) {
    return fetch("/api/session", { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (who) {
        return fetch(url, { method: "POST", credentials: "same-origin", body: JSON.stringify(data),
          headers: { "Content-Type": "application/json", "X-CSRFToken": who.csrf_token } });
      });
  }
  if (pushOn && pushOff) {
    if (!("PushManager" in window) || !("serviceWorker" in navigator)) { pushStatus.textContent = T.pushUnsupported; }
    else navigator.serviceWorker.ready.then(function (reg) {
      return reg.pushManager.getSubscription().then(function (sub) {
        pushOn.hidden = !!sub; pushOff.hidden = !sub;
        if (sub) pushStatus.textContent = T.pushOn;
        pushOn.onclick = function () {
          Notification.requestPermission().then(function () {
            return fetch("/api/push/key", { credentials: "same-origin" }).then(function (r) { return r.json(); });
          }).then(function (k) {
            return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(k.publicKey) });
          }).then(function (s) { return postJson("/api/push/subscribe", s.toJSON()); })
            .then(function () { pushStatus.textContent = T.pushOn; pushOn.hidden = true; pushOff.hidden = false; })
            .catch(function () { pushStatus.textContent = T.pushUnsupported; });
        };
        pushOff.onclick = function () {
          reg.pushManager.getSubscription().then(function (s) {
            if (!s) return;
            return postJson("/api/push/unsubscribe", { endpoint: s.endpoint }).then(function () { return s.unsubscribe(); });
          }).then(function () { pushStatus.textContent = T.pushOff; pushOn.hidden = false; pushOff.hidden = true; });
        };
      });
    });
  }

  // 准备离线: store this user's pages for use without network, with progress.
  var prep = $("[data-prepare]");
  if (prep) prep.addEventListener("click", function () {
    var status = $("#prepare-status");
    status.textContent = T.preparing;
    prep.disabled = true;
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
    fetch("/offline/manifest.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (m) {
        return caches.open(PAGES).then(function (cache) {
          // whole pages, then each household as a fragment (same URL, HX-Request) for the shell
          var jobs = m.pages.map(function (u) { return { url: u, key: u, headers: {} }; }).concat(
            m.fragments.map(function (u) { return { url: u, key: u + "?_fragment=1", headers: { "HX-Request": "true" } }; }));
          var i = 0, done = 0, failed = false;
          function next() {
            if (i >= jobs.length || failed) return Promise.resolve();
            var job = jobs[i++];
            return fetch(job.url, { credentials: "same-origin", cache: "no-store", headers: job.headers }).then(function (res) {
              if (!res.ok || res.redirected) { failed = true; throw new Error(job.url + " " + res.status); }
              return cache.put(job.key, res);
            }).then(function () {
              done++;
              status.textContent = T.preparing + " " + done + " / " + jobs.length;
              return next();
            });
          }
          return Promise.all([next(), next(), next(), next()]);
        });
      })
      .then(function () {
        var at = new Date().toISOString();
        localStorage.setItem("linli-prepared-at", at);
        status.textContent = T.prepared + " · " + fmt(at);
        status.dataset.done = "1";
      }, function () { status.textContent = T.prepareFailed; })
      .then(function () { prep.disabled = false; });
  });

  // The outbox page: what waits on this phone, what the server refused, a file of both.
  function renderOutbox(list) {
    var tpl = $("#outbox-row");
    var waiting = $("#outbox-waiting"), stuck = $("#outbox-stuck");
    waiting.textContent = ""; stuck.textContent = "";
    list.forEach(function (r) {
      var li = tpl.content.firstElementChild.cloneNode(true);
      li.dataset.uuid = r.uuid;
      li.querySelector("[data-what]").textContent = r.kind + " · " + (r.payload.household_id ? "#" + r.payload.household_id : "");
      li.querySelector("[data-when]").textContent = " " + fmt(r.recorded_at);
      li.querySelector("[data-reason]").textContent = r.reason || "";
      if (r.state === "stuck") {
        li.querySelector("[data-actions]").hidden = false;
        li.querySelector("[data-retry]").onclick = function () { Outbox.retry(r.uuid).then(requestSync); };
        li.querySelector("[data-drop]").onclick = function () {
          if (confirm(T.confirmDrop)) Outbox.remove(r.uuid).then(refresh);
        };
        stuck.appendChild(li);
      } else { waiting.appendChild(li); }
    });
    $("#outbox-summary").textContent = T.waiting + ": " + list.filter(function (r) { return r.state !== "stuck"; }).length +
      " · " + T.stuck + ": " + list.filter(function (r) { return r.state === "stuck"; }).length;
  }
  var dl = $("#outbox-download");
  if (dl) dl.addEventListener("click", function () {
    Outbox.mine(user).then(function (list) {
      var blob = new Blob([JSON.stringify({ exported_at: new Date().toISOString(), user: user, records: list }, null, 2)],
                          { type: "application/json" });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = "linli-outbox-" + new Date().toISOString().slice(0, 10) + ".json";
      document.body.appendChild(a); a.click(); a.remove();
    });
  });
  var now = $("#sync-now");
  if (now) now.addEventListener("click", function () { delay = 1000; requestSync(); });

  refresh().then(function (list) { if (list.some(function (r) { return r.state === "waiting"; })) requestSync(); });
})();
