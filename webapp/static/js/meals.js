/* The volunteer's route: an outcome saved on the phone shows at once on its stop, counts in
   the progress line, and a no-answer opens its checklist, linked to that record's uuid. */
(function () {
  "use strict";
  var T = window.LINLI_T || { waiting: "待同步" };
  function stop(root, recipientId) { return root.querySelector('[data-stop="' + recipientId + '"]'); }

  function mark(root, rec) {
    if (rec.kind === "delivery") {
      var li = stop(root, rec.payload.recipient_id);
      if (!li) return;
      var button = li.querySelector('button[name="outcome"][value="' + rec.payload.outcome + '"]');
      var status = li.querySelector("[data-status]");
      li.dataset.done = "1";
      if (status) status.textContent = (button ? button.textContent : rec.payload.outcome) + " · " + T.waiting;
      if (rec.payload.outcome === "no_answer") {
        var list = li.querySelector("[data-checklist]");
        if (list) {
          list.hidden = false;
          list.querySelectorAll('input[name="delivery_uuid"]').forEach(function (el) { el.setAttribute("value", rec.uuid); el.value = rec.uuid; });
        }
      }
    } else if (rec.kind === "delivery_step") {
      var input = root.querySelector('[data-checklist] input[name="delivery_uuid"][value="' + rec.payload.delivery_uuid + '"]');
      var step = input && input.closest("[data-checklist]").querySelector('[data-step="' + rec.payload.step + '"]');
      if (step) step.textContent = T.waiting;
    }
  }

  function count(root) {
    root.querySelectorAll("[data-route]").forEach(function (section) {
      var stops = section.querySelectorAll("[data-stop]");
      var done = section.querySelectorAll('[data-stop][data-done="1"]').length;
      var line = section.querySelector("[data-progress]");
      if (line) line.textContent = done + " / " + stops.length;
    });
  }

  function init(root) {
    if (!window.Outbox || root.dataset.mealsReady) return;
    root.dataset.mealsReady = "1";
    var user = document.body.dataset.user;
    Outbox.all().then(function (list) {
      list.forEach(function (rec) { if (String(rec.user) === user) mark(root, rec); });
      count(root);
    }).catch(function () {});
    root.addEventListener("linli:saved", function (event) { mark(root, event.detail); count(root); });
  }

  function start(el) {
    if (el.matches && el.matches("[data-meals]")) init(el);
    el.querySelectorAll("[data-meals]").forEach(init);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { start(document.body); });
  else start(document.body);
  if (window.htmx) htmx.onLoad(start);
})();
