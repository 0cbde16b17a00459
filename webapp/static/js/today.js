/* Today's list: visits saved on this phone but not yet synced count in the progress
   line and mark their household as waiting. The server's counts are the base
   (data-today-done, data-week-done); the outbox adds what it holds for households
   still open today (data-open-today) or this week (data-open-week). */
(function () {
  "use strict";

  function idSet(text) {
    var set = {};
    (text || "").split(" ").forEach(function (id) { if (id) set[id] = true; });
    return set;
  }

  function initToday() {
    var line = document.querySelector("[data-today-progress]");
    if (!line || !window.Outbox) return;
    var user = Number(document.body.dataset.user);
    var openToday = idSet(line.dataset.openToday), openWeek = idSet(line.dataset.openWeek);
    var today = line.dataset.today, weekStart = line.dataset.weekStart;
    Outbox.mine(user).then(function (list) {
      var day = {}, week = {};
      list.forEach(function (r) {
        if (r.kind !== "visit" || r.state !== "waiting" || !r.payload) return;
        var hid = String(r.payload.household_id), when = String(r.payload.occurred_at || "").slice(0, 10);
        if (when === today && openToday[hid]) day[hid] = true;
        if (when >= weekStart && when <= today && openWeek[hid]) week[hid] = true;
      });
      var waiting = Object.keys(day).length, waitingWeek = Object.keys(week).length;
      line.querySelector("[data-count=today]").textContent = Number(line.dataset.todayDone) + waiting;
      line.querySelector("[data-count=week]").textContent = Number(line.dataset.weekDone) + waitingWeek;
      line.querySelector("[data-count=waiting]").textContent = Math.max(waiting, waitingWeek);
      line.querySelector("[data-waiting]").hidden = !(waiting || waitingWeek);
      line.dataset.waiting = String(Math.max(waiting, waitingWeek));
      document.querySelectorAll("li[data-household]").forEach(function (li) {
        var mark = li.querySelector("[data-waiting-mark]"), on = !!day[li.dataset.household];
        li.classList.toggle("waiting", on);
        if (mark) mark.hidden = !on;
      });
    }).catch(function () { /* no IndexedDB: the server's counts stand */ });
  }

  // Attached by the data-today-progress attribute; again after htmx swaps the list.
  if (window.htmx) htmx.onLoad(initToday);
  else document.addEventListener("DOMContentLoaded", initToday);
  try { new BroadcastChannel("linli-outbox").onmessage = initToday; } catch (e) { /* old browser */ }
})();
