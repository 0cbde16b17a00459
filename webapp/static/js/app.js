/* Linli pages. One small init function per data-* behaviour, run by htmx.onLoad on the page
   and on every piece htmx swaps in; once-per-page work (service worker, stored pages, sync)
   runs at start. No behaviour can switch another one off. */
(function () {
  "use strict";
  var T = window.LINLI_T || {};
  var body = document.body;
  var PAGES = "linli-pages";
  var KEYS = { user: "linli-user", essentials: "linli-essentials", versions: "linli-versions",
               etag: "linli-versions-etag", preparedAt: "linli-prepared-at", households: "linli-households",
               pagesAt: "linli-pages-at" };
  var hasOutbox = !!(window.indexedDB && window.crypto && crypto.randomUUID && window.Outbox);
  var DAY = 86400e3;
  var $ = function (sel) { return document.querySelector(sel); };

  // The user this page belongs to: the layout says; the shell's own outbox page (stored before
  // anyone signed in) falls back to the last user the server confirmed on this phone.
  function pageUser() { return body.dataset.user ? Number(body.dataset.user) : null; }
  function phoneUser() { var u = localStorage.getItem(KEYS.user); return u ? Number(u) : null; }
  var user = pageUser();

  function fmt(iso) { var d = new Date(iso); return isNaN(d) ? iso : d.toLocaleString("zh-CN", { hour12: false }); }
  function fragmentKey(path) { return path + "?_fragment=1"; }
  // A stored page keeps the server's security headers (CSP…), so pages built from it offline carry them.
  var KEPT_HEADERS = ["Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
                      "Cross-Origin-Opener-Policy", "Permissions-Policy"];
  function htmlResponse(text, from) {
    var headers = new Headers({ "Content-Type": "text/html; charset=utf-8" });
    if (from) KEPT_HEADERS.forEach(function (name) { var v = from.get(name); if (v) headers.set(name, v); });
    return new Response(text, { headers: headers });
  }
  // Background requests never follow a redirect: a session that ended must not fetch the login
  // page behind the user's back (its new session would void the CSRF token of the form they see).
  function get(url, headers) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: headers || {}, redirect: "manual" });
  }

  // ---------------------------------------------------------------- stored pages
  function clearStored() {
    [KEYS.essentials, KEYS.versions, KEYS.etag, KEYS.preparedAt, KEYS.households, KEYS.pagesAt]
      .forEach(function (k) { localStorage.removeItem(k); });
    return window.caches ? caches.delete(PAGES) : Promise.resolve();
  }

  // Store a whole page under its own URL (a redirect is stored as the page it led to).
  function storePage(cache, url) {
    return get(url).then(function (res) {
      if (!res.ok || (res.headers.get("Content-Type") || "").indexOf("text/html") !== 0) throw new Error(url + " " + res.status);
      return res.text().then(function (text) { return cache.put(url, htmlResponse(text, res.headers)); });
    });
  }

  // What every role needs offline without pressing anything: its home (also under "/", the
  // installed icon's start_url), the layout shell, and the pages its features contribute.
  function storeEssentials(force) {
    if (!window.caches || !user) return Promise.resolve(null);
    var mark = user + ":" + body.dataset.version;
    if (!force && localStorage.getItem(KEYS.essentials) === mark) return Promise.resolve(null);
    return get("/offline/manifest.json").then(function (r) {
      if (!r.ok) throw new Error("manifest " + r.status);
      return r.json();
    }).then(function (m) {
      if (m.user !== user) return null;
      return caches.open(PAGES).then(function (cache) {
        return storePage(cache, m.home).then(function () {
          return cache.match(m.home).then(function (home) { return cache.put("/", home); });
        }).then(function () {
          return Promise.all(["/shell"].concat(m.pages.filter(function (u) { return u !== m.home; }))
            .map(function (u) { return storePage(cache, u); }));
        });
      }).then(function () {
        localStorage.setItem(KEYS.essentials, mark);
        localStorage.setItem(KEYS.pagesAt, String(Date.now()));
        return m;
      });
    });
  }

  // Stored pages go only on logout, or when the server confirms another user on this phone.
  // A page that merely says so (it may be a stored copy) is checked with the server first.
  function confirmUser() {
    if (!user || !navigator.onLine) return Promise.resolve();
    var last = phoneUser();
    var check = last === user ? Promise.resolve(user) : get("/api/session").then(function (res) {
      return res.ok ? res.json().then(function (who) { return who.user; }) : null;
    });
    return check.then(function (confirmed) {
      if (!confirmed || confirmed !== user) return;
      var cleared = (last && last !== confirmed) ? clearStored() : Promise.resolve();
      return cleared.then(function () {
        localStorage.setItem(KEYS.user, String(confirmed));
        return storeEssentials(false);
      });
    }).catch(function () { /* offline after all: keep everything */ });
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/service-worker.js", { scope: "/" }).catch(function () {});
  }
  confirmUser();

  // ---------------------------------------------------------------- offline stamp
  function stamp() {
    var el = $("#stamp");
    if (!el) return;
    var marker = Array.prototype.filter.call(document.querySelectorAll("main [data-rendered]"),
                                             function (m) { return m.dataset.rendered; })[0] || body;
    if (!navigator.onLine && marker.dataset.rendered) {
      el.textContent = T.offline + " · " + T.cachedAt + " " + fmt(marker.dataset.rendered);
      el.hidden = false;
    } else { el.hidden = true; }
  }
  stamp();
  window.addEventListener("offline", stamp);

  // ---------------------------------------------------------------- outbox: badge and sync
  function refresh() {
    if (!hasOutbox || !(user || phoneUser())) return Promise.resolve([]);
    return Outbox.mine(user || phoneUser()).then(function (list) {
      var badge = $("#outbox-badge"), count = $("#outbox-count");
      if (count) count.textContent = String(list.length);
      if (badge) badge.hidden = list.length === 0;
      var old = list.some(function (r) { return Date.now() - Date.parse(r.recorded_at) > 3 * DAY; });
      var warn = $("#old-warning");
      if (warn && !warn.dataset.relogin) { warn.textContent = T.oldRecords; warn.hidden = !old; }
      document.querySelectorAll("[data-outbox-page]").forEach(function (el) { renderOutbox(el, list); });
      return list;
    });
  }
  if (hasOutbox) try { new BroadcastChannel("linli-outbox").onmessage = refresh; } catch (e) { /* no channel */ }

  // Sync now, and again with backoff while records wait: 1 s, 2 s, 4 s … 30 s.
  var delay = 1000, timer = null;
  function requestSync() {
    // not only the page's user: a stored outbox page opened offline may not know who it belongs to;
    // Outbox.sync itself sends only the records of the user the server says the cookies belong to
    if (!hasOutbox || !(user || phoneUser())) return Promise.resolve(null);
    clearTimeout(timer);
    var retry = function () {
      timer = setTimeout(requestSync, delay);
      delay = Math.min(delay * 2, 30000);
    };
    return Outbox.sync().then(function (r) {
      var warn = $("#old-warning");
      if (r && r.needLogin && warn) { warn.textContent = T.relogin; warn.dataset.relogin = "1"; warn.hidden = false; }
      if (r && (r.failed || r.busy)) retry();
      else if (r && r.restingUntil) { delay = 1000; timer = setTimeout(requestSync, Math.max(1000, r.restingUntil - Date.now())); }
      else delay = 1000;
      return refresh().then(function () { return r; });
    }, function () { retry(); return refresh().then(function () { return null; }); });
  }
  window.addEventListener("online", function () { stamp(); delay = 1000; requestSync(); confirmUser(); });
  function backgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register("linli-outbox");
    }).catch(function () {});
  }
  refresh().then(function (list) { if (list.some(function (r) { return r.state === "waiting"; })) requestSync(); });

  // ---------------------------------------------------------------- behaviours
  var behaviours = [];
  function behaviour(selector, init) { behaviours.push([selector, init]); }
  var done = typeof WeakSet === "function" ? new WeakSet() : null;
  function initAll(root) {
    behaviours.forEach(function (b) {
      var found = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll(b[0]) : []);
      if (root.matches && root.matches(b[0])) found.unshift(root);
      found.forEach(function (el) {
        if (done) { if (done.has(el)) return; done.add(el); }
        try { b[1](el); } catch (e) { if (window.console) console.error(e); }  // one fault stays local
      });
    });
  }

  // A way back from the offline notice (no inline script: CSP).
  behaviour("[data-back]", function (btn) {
    btn.addEventListener("click", function () {
      if (history.length > 1) history.back(); else location.href = "/";
    });
  });

  function nowLocal() {
    var d = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 16);
  }
  behaviour("input[data-now]", function (el) { el.value = nowLocal(); });

  // Forms marked data-outbox (h1's macro also writes data-kind, data-priority, data-multi) are
  // saved on the phone first, then sent. The UUID is fixed when the form opens, and the button
  // stays disabled until the save is done: one intent, one record.
  function multiOf(form) {
    return (form.dataset.multi || "residents_seen needs").split(/[\s,]+/).filter(Boolean);
  }
  function payloadOf(form, submitter) {
    var data = new FormData(form), out = {}, multi = multiOf(form);
    // a form with one button per answer (meal outcomes) sends the button that was tapped
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    data.forEach(function (value, key) {
      if (key === "csrf_token" || key === "uuid") return;
      if (multi.indexOf(key) !== -1) (out[key] = out[key] || []).push(value);
      else out[key] = value;
    });
    if (form.dataset.household) out.household_id = Number(form.dataset.household);
    return out;
  }
  function freshUuid(form) {
    var input = form.querySelector("input[name=uuid]");
    if (!input) { input = document.createElement("input"); input.type = "hidden"; input.name = "uuid"; form.appendChild(input); }
    input.value = crypto.randomUUID();
    return input.value;
  }
  function pendingRow(list) {
    var li = document.createElement("li");
    li.className = "pending";
    li.dataset.pending = "1";
    var b = document.createElement("b");
    b.textContent = fmt(new Date().toISOString()) + " ";
    var tag = document.createElement("i");
    tag.className = "tag"; tag.textContent = T.waiting;
    b.appendChild(tag);
    li.appendChild(b);
    list.insertBefore(li, list.firstChild);
  }
  // Online: the household's history as the server now has it (htmx swaps it in).
  function reloadHistory(form, list) {
    return get(location.pathname, { "HX-Request": "true" }).then(function (res) {
      if (!res.ok) throw new Error(res.status);
      return res.text();
    }).then(function (text) {
      var doc = new DOMParser().parseFromString(text, "text/html");
      var fresh = doc.getElementById(list.id);
      if (fresh) { list.replaceWith(fresh); if (window.htmx) htmx.process(fresh); }
    }).catch(function () { /* the record is stored; the list shows it on the next visit */ });
  }

  var SEND_WAIT_MS = 8000;
  behaviour("form[data-outbox]", function (form) {
    if (!hasOutbox) return;
    freshUuid(form);
    var buttons = form.querySelectorAll("button[type=submit], button:not([type])");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submitter = event.submitter;
      if (form.dataset.busy) return;
      var me = user || phoneUser();
      if (!me) return;
      form.dataset.busy = "1";
      buttons.forEach(function (b) { b.disabled = true; });
      var note = form.querySelector("[data-saved]");
      if (note) { note.hidden = true; note.classList.remove("error"); }
      var kind = form.dataset.kind || form.dataset.outbox;
      var uuid = form.querySelector("input[name=uuid]").value;
      var historyList = form.dataset.history ? $(form.dataset.history) : null;
      Outbox.add(kind, me, payloadOf(form, submitter), Number(form.dataset.priority || 10), uuid).then(function (rec) {
        form.dispatchEvent(new CustomEvent("linli:saved", { bubbles: true, detail: rec }));
        if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
        backgroundSync();
        // online: send now (a second round if a sync already running did not take it), but a
        // weak signal does not keep the worker waiting: after a few seconds it is "saved here"
        var deadline = Date.now() + SEND_WAIT_MS;
        var send = function () {
          return requestSync().then(function () { return Outbox.get(rec.uuid); }).then(function (left) {
            if (!left || left.state !== "waiting" || !navigator.onLine || Date.now() > deadline) return left;
            return new Promise(function (resolve) { setTimeout(resolve, 300); }).then(send);
          });
        };
        var sending = navigator.onLine ? send() : Promise.resolve();
        var patience = new Promise(function (resolve) { setTimeout(resolve, SEND_WAIT_MS + 1000); });
        return refresh().then(function () { return Promise.race([sending, patience]); })
          .then(function () { return Outbox.get(rec.uuid); }).then(function (left) {
          var saved = form.querySelector("[data-saved]");
          var text;
          if (!left) text = T.submitted;
          else if (left.state === "stuck") { text = left.reason || T.stuck; if (saved) saved.classList.add("error"); }
          else text = T.saved;
          if (saved) { saved.textContent = text; saved.hidden = false; saved.scrollIntoView({ block: "center" }); }
          if (form.hasAttribute("data-sos")) sosPressed(rec, saved, !left);
          if (historyList) { if (left) pendingRow(historyList); else reloadHistory(form, historyList); }
          form.dataset.savedCount = String(Number(form.dataset.savedCount || 0) + 1);
          form.reset();
          form.querySelectorAll("input[data-now]").forEach(function (el) { el.value = nowLocal(); });
          freshUuid(form);  // the next intent
        });
      }).catch(function (e) {
        var saved = form.querySelector("[data-saved]");
        if (saved) { saved.textContent = T.saveFailed; saved.classList.add("error"); saved.hidden = false; }
        if (window.console) console.error(e);
      }).then(function () {
        delete form.dataset.busy;
        buttons.forEach(function (b) { b.disabled = false; });
      });
    });
  });

  // SOS: saved and queued like any record; the phone and SMS fallbacks show at once, and
  // whenever the phone is offline.
  function fallbackPanel() { return $("#sos-fallback"); }
  function sosPressed(rec, saved, delivered) {
    var panel = fallbackPanel();
    if (panel) {
      var when = new Date().toLocaleString("zh-CN", { hour12: false });
      var sms = $("#sms-worker");
      if (sms) sms.href = sms.href.split("?")[0] + "?body=" + encodeURIComponent(panel.dataset.sms + when);
      panel.hidden = false;
    }
    if (saved) saved.textContent = delivered ? T.sosSent : (navigator.onLine ? T.saved : T.sosQueued);
    if (delivered) sosStatus();
    var check = function () {
      Outbox.get(rec.uuid).then(function (left) {
        if (!left) { if (saved) saved.textContent = T.sosSent; sosStatus(); }
        else setTimeout(check, 1000);
      });
    };
    if (!delivered) check();
  }
  // Who was told and who responded: the status fragment polls itself from then on.
  function sosStatus() {
    if (window.htmx && $("#sos-status")) htmx.ajax("GET", "/me/sos-status", { target: "#sos-status", swap: "outerHTML" });
  }
  // A tap asks; a second large button confirms and 取消 puts it away (why: resident/home.html).
  // The bar's 求助 on every resident page leads here with #sos, which asks at once.
  // (on the button: the form itself already has the outbox behaviour, and an element has one)
  behaviour("[data-sos-ask]", function (ask) {
    var form = ask.form, panel = form && form.querySelector("#sos-confirm");
    if (!panel) return;
    var open = function () { panel.hidden = false; ask.hidden = true; form.querySelector("#sos-yes").focus(); };
    var close = function () { panel.hidden = true; ask.hidden = false; };
    ask.addEventListener("click", function (event) { event.preventDefault(); open(); });
    form.querySelector("#sos-cancel").addEventListener("click", close);
    form.addEventListener("linli:saved", close);
    if (location.hash === "#sos") open();
    window.addEventListener("hashchange", function () { if (location.hash === "#sos") open(); });
  });
  behaviour("#sos-fallback", function (panel) {
    var show = function () { if (!navigator.onLine) panel.hidden = false; };
    show();
    window.addEventListener("offline", show);
  });

  // Install Linli to the home screen (residents are invited to).
  behaviour("#install", function (btn) {
    window.addEventListener("beforeinstallprompt", function (event) {
      event.preventDefault();
      btn.hidden = false;
      btn.addEventListener("click", function () { btn.hidden = true; event.prompt(); }, { once: true });
    });
  });

  // Logout ends what this phone keeps for the user.
  behaviour("#logout-form", function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.cleared) return;
      event.preventDefault();
      clearStored().then(function () {
        localStorage.removeItem(KEYS.user);
        form.dataset.cleared = "1";
        form.submit();
      });
    });
  });

  // Push notifications on the settings page.
  function b64(s) {
    var pad = "=".repeat((4 - s.length % 4) % 4), raw = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  function postJson(url, data) {
    return get("/api/session").then(function (r) { return r.json(); }).then(function (who) {
      return fetch(url, { method: "POST", credentials: "same-origin", body: JSON.stringify(data),
        headers: { "Content-Type": "application/json", "X-CSRFToken": who.csrf_token } });
    });
  }
  behaviour("#push-on", function (pushOn) {
    var pushOff = $("#push-off"), pushStatus = $("#push-status");
    if (!pushOff || !pushStatus) return;
    if (!("PushManager" in window) || !("serviceWorker" in navigator)) { pushStatus.textContent = T.pushUnsupported; return; }
    navigator.serviceWorker.ready.then(function (reg) {
      return reg.pushManager.getSubscription().then(function (sub) {
        pushOn.hidden = !!sub; pushOff.hidden = !sub;
        if (sub) pushStatus.textContent = T.pushOn;
        pushOn.addEventListener("click", function () {
          Notification.requestPermission().then(function () {
            return get("/api/push/key").then(function (r) { return r.json(); });
          }).then(function (k) {
            return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(k.publicKey) });
          }).then(function (s) { return postJson("/api/push/subscribe", s.toJSON()); })
            .then(function () { pushStatus.textContent = T.pushOn; pushOn.hidden = true; pushOff.hidden = false; })
            .catch(function () { pushStatus.textContent = T.pushUnsupported; });
        });
        pushOff.addEventListener("click", function () {
          reg.pushManager.getSubscription().then(function (s) {
            if (!s) return;
            return postJson("/api/push/unsubscribe", { endpoint: s.endpoint }).then(function () { return s.unsubscribe(); });
          }).then(function () { pushStatus.textContent = T.pushOff; pushOn.hidden = false; pushOff.hidden = true; });
        });
      });
    });
  });

  // 准备离线: the pages, then the households in bundles; a refresh fetches only the households
  // whose version changed (nothing at all when the server answers 304).
  var CHUNK = 100, PARALLEL = 2, PAGES_FRESH_MS = 3600e3;
  function preparedNote(status) {
    var at = localStorage.getItem(KEYS.preparedAt);
    if (!at) return;
    var n = localStorage.getItem(KEYS.households) || "0";
    status.textContent = T.prepared + " · " + fmt(at) + " · " + T.households.replace("%(n)s", n);
  }
  function storeHouseholds(cache, url, progress) {
    var known = {};
    try { known = JSON.parse(localStorage.getItem(KEYS.versions) || "{}"); } catch (e) { known = {}; }
    var etag = localStorage.getItem(KEYS.etag);
    var headers = etag && Object.keys(known).length ? { "If-None-Match": etag } : {};
    return get(url, headers).then(function (res) {
      if (res.status === 304) return Object.keys(known).length;
      if (!res.ok) throw new Error("versions " + res.status);
      var newTag = res.headers.get("ETag");
      return res.json().then(function (data) {
        var wanted = data.households, urls = Object.keys(wanted);
        var changed = urls.filter(function (u) { return known[u] !== wanted[u]; });
        var gone = Object.keys(known).filter(function (u) { return !(u in wanted); });
        var chunks = [];
        for (var i = 0; i < changed.length; i += CHUNK) chunks.push(changed.slice(i, i + CHUNK));
        var got = 0, next = 0;
        progress(0, changed.length);
        function worker() {
          if (next >= chunks.length) return Promise.resolve();
          var ids = chunks[next++].map(function (u) { return u.split("/").pop(); });
          return get("/offline/bundle?ids=" + ids.join(",")).then(function (r) {
            if (!r.ok) throw new Error("bundle " + r.status);
            return r.json();
          }).then(function (b) {
            var at = new Date().toISOString();
            return Promise.all(Object.keys(b.fragments).map(function (u) {
              var f = b.fragments[u];
              known[u] = f.v;
              return cache.put(fragmentKey(u), htmlResponse(f.html.replace('data-rendered=""', 'data-rendered="' + at + '"')));
            })).then(function () { got += ids.length; progress(got, changed.length); });
          }).then(worker);
        }
        var workers = [];
        for (var w = 0; w < PARALLEL; w++) workers.push(worker());
        return Promise.all(workers).then(function () {
          return Promise.all(gone.map(function (u) { delete known[u]; return cache.delete(fragmentKey(u)); }));
        }).then(function () {
          localStorage.setItem(KEYS.versions, JSON.stringify(known));
          if (newTag) localStorage.setItem(KEYS.etag, newTag);
          return urls.length;
        });
      });
    });
  }
  behaviour("[data-prepare]", function (prep) {
    var status = $("#prepare-status") || prep;
    preparedNote(status);
    prep.addEventListener("click", function () {
      if (!window.caches || !user) return;
      status.textContent = T.preparing;
      delete status.dataset.done;
      prep.disabled = true;
      if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
      var stale = Date.now() - Number(localStorage.getItem(KEYS.pagesAt) || 0) > PAGES_FRESH_MS;
      storeEssentials(stale).then(function (m) {
        return m || get("/offline/manifest.json").then(function (r) { return r.json(); });
      }).then(function (m) {
        if (!m.households) return 0;
        return caches.open(PAGES).then(function (cache) {
          return storeHouseholds(cache, m.households, function (n, total) {
            status.textContent = T.preparing + " " + n + " / " + total;
          });
        });
      }).then(function (count) {
        localStorage.setItem(KEYS.preparedAt, new Date().toISOString());
        localStorage.setItem(KEYS.households, String(count));
        preparedNote(status);
        status.dataset.done = "1";
      }, function () { status.textContent = T.prepareFailed; })
        .then(function () { prep.disabled = false; });
    });
  });

  // The outbox page: what waits on this phone, why the server refused or could not take a
  // record, and for those stuck, old or failing again and again: download and delete.
  function download(name, records) {
    var blob = new Blob([JSON.stringify({ exported_at: new Date().toISOString(), user: user || phoneUser(),
                                          records: records }, null, 2)], { type: "application/json" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
  }
  function reasonOf(r) {
    if (r.code === "server_error") return T.serverError + " (" + r.reason + ", " + (r.attempts || 1) + ")";
    return r.reason || "";
  }
  function renderOutbox(page, list) {
    var tpl = page.querySelector("#outbox-row");
    var waiting = page.querySelector("#outbox-waiting"), stuck = page.querySelector("#outbox-stuck");
    if (!tpl || !waiting || !stuck) return;
    waiting.textContent = ""; stuck.textContent = "";
    list.forEach(function (r) {
      var li = tpl.content.firstElementChild.cloneNode(true);
      li.dataset.uuid = r.uuid;
      li.querySelector("[data-what]").textContent = r.kind + (r.payload && r.payload.household_id ? " · #" + r.payload.household_id : "");
      li.querySelector("[data-when]").textContent = " " + fmt(r.recorded_at);
      li.querySelector("[data-reason]").textContent = reasonOf(r);
      var troubled = r.state === "stuck" || (r.attempts || 0) >= Outbox.REPEATED || Date.now() - Date.parse(r.recorded_at) > DAY;
      if (troubled) {
        li.dataset.troubled = "1";
        li.querySelector("[data-actions]").hidden = false;
        li.querySelector("[data-retry]").addEventListener("click", function () { Outbox.retry(r.uuid).then(requestSync); });
        li.querySelector("[data-save-one]").addEventListener("click", function () {
          download("linli-record-" + r.uuid.slice(0, 8) + ".json", [r]);
        });
        li.querySelector("[data-drop]").addEventListener("click", function () {
          if (confirm(T.confirmDrop)) Outbox.remove(r.uuid).then(refresh);
        });
      }
      (r.state === "stuck" ? stuck : waiting).appendChild(li);
    });
    page.querySelector("#outbox-summary").textContent = T.waiting + ": " + list.filter(function (r) { return r.state !== "stuck"; }).length +
      " · " + T.stuck + ": " + list.filter(function (r) { return r.state === "stuck"; }).length;
  }
  behaviour("[data-outbox-page]", function (page) {
    var dl = page.querySelector("#outbox-download");
    if (dl) dl.addEventListener("click", function () {
      if (!hasOutbox) return;
      Outbox.mine(user || phoneUser()).then(function (list) {
        download("linli-outbox-" + new Date().toISOString().slice(0, 10) + ".json", list);
      });
    });
    var now = page.querySelector("#sync-now");
    if (now) now.addEventListener("click", function () { delay = 1000; requestSync(); });
    refresh();
  });

  if (window.htmx) htmx.onLoad(initAll);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { initAll(body); });
  else initAll(body);
})();
