/* The request form (诉求).
   - Opened from a household page or a visit as /requests/new#household=…&label=…&visit=…: the
     hash names the household, so the one stored page serves every household offline.
   - A photo chosen on the phone is shrunk here (canvas, JPEG) to at most 200 KB before the form
   goes into the outbox: it travels inside the record, as a data: URL in the hidden field
   named by data-shrink. Not an image: said at once, and nothing else on the form is lost.
   The worker's handling photo (the case page's handle form) is shrunk the same way. */
(function () {
  "use strict";
  var T = window.LINLI_T || {};
  var LIMIT = 200 * 1024, SIDES = [1600, 1280, 1024, 800, 640, 480], QUALITIES = [0.8, 0.65, 0.5];

  function bytesOf(dataUrl) {
    var b64 = dataUrl.slice(dataUrl.indexOf(",") + 1), pad = (b64.match(/=+$/) || [""])[0].length;
    return b64.length * 3 / 4 - pad;
  }

  function load(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file), img = new Image();
      img.onload = function () { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("not an image")); };
      img.src = url;
    });
  }

  function shrink(img) {
    var canvas = document.createElement("canvas"), ctx = canvas.getContext("2d");
    for (var s = 0; s < SIDES.length; s++) {
      var scale = Math.min(1, SIDES[s] / Math.max(img.naturalWidth, img.naturalHeight));
      canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
      canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      for (var q = 0; q < QUALITIES.length; q++) {
        var data = canvas.toDataURL("image/jpeg", QUALITIES[q]);
        if (bytesOf(data) <= LIMIT) return data;
      }
    }
    return null;
  }

  function init(input) {
    if (input.dataset.shrinkReady) return;
    input.dataset.shrinkReady = "1";
    var form = input.form, hidden = form.querySelector('input[name="' + input.dataset.shrink + '"]');
    var note = form.querySelector("[data-photo-note]"), preview = form.querySelector("[data-photo-preview]");
    input.removeAttribute("name");  // the shrunk copy is sent, never the original file
    function say(text, bad) {
      if (!note) return;
      note.textContent = text; note.hidden = !text; note.classList.toggle("error", !!bad);
    }
    input.addEventListener("change", function () {
      hidden.value = ""; if (preview) { preview.hidden = true; preview.removeAttribute("src"); }
      var file = input.files && input.files[0];
      if (!file) { say(""); return; }
      say(T.photoShrinking || "…");
      load(file).then(function (img) {
        var data = shrink(img);
        if (!data) { input.value = ""; say(T.photoTooLarge, true); return; }
        hidden.value = data;
        if (preview) { preview.src = data; preview.hidden = false; }
        say((T.photoReady || "") + " " + Math.ceil(bytesOf(data) / 1024) + " KB");
        form.dataset.photoBytes = String(bytesOf(data));
      }, function () { input.value = ""; say(T.photoNotImage, true); });
    });
    // the form is emptied after a save: so is the photo
    form.addEventListener("linli:saved", function () {
      setTimeout(function () { hidden.value = ""; if (preview) preview.hidden = true; say(""); }, 0);
    });
  }

  function fromHash(form) {
    if (form.dataset.hashReady) return;
    form.dataset.hashReady = "1";
    var params = new URLSearchParams(location.hash.slice(1));
    var household = params.get("household");
    if (!household || !/^\d{1,10}$/.test(household)) return;
    form.dataset.household = household;
    var field = form.querySelector("input[name=household_id]");
    if (field) field.value = household;
    var grid = form.querySelector("[data-grid-choice]");
    if (grid) { grid.hidden = true; grid.querySelector("select").disabled = true; }
    var label = form.querySelector("[data-household-label]");
    if (label) { label.querySelector("span").textContent = params.get("label") || "#" + household; label.hidden = false; }
    var visit = params.get("visit"), visitField = form.querySelector("input[name=visit_uuid]");
    if (visit && visitField && /^[0-9a-f-]{36}$/.test(visit)) visitField.value = visit;
  }

  function scan(root) {
    (root || document).querySelectorAll("input[type=file][data-shrink]").forEach(init);
    (root || document).querySelectorAll("form[data-hash-household]").forEach(fromHash);
  }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (e) { scan(e.target); });
})();
