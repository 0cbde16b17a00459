/* The request form (诉求).
   - Opened from a household page or a visit as /requests/new#household=…&label=…&visit=…: the
     hash names the household, so the one stored page serves every household offline.
   - A photo chosen on the phone is shrunk here (canvas, JPEG) to at most 200 KB before the form
   goes into the outbox: it travels inside the record, as a data: URL in the hidden field
   named by data-shrink. Not an image: said at once, and nothing else on the form is lost.
   The worker's handling photo (the case page's handle form) is shrunk the same way.
   - Every photo field has two inputs for the one hidden field: 拍照 (capture="environment") and
   从相册选择; a later pick, from either, replaces the earlier one.
   - The file is decoded without a blob: URL, which the page's Content-Security-Policy
   (img-src 'self' data:) blocks: createImageBitmap(file) (turned upright by its EXIF
   orientation, as <img> shows it), or else FileReader's data: URL into an Image. */
(function () {
  "use strict";
  var T = window.LINLI_T || {};
  var LIMIT = 200 * 1024, SIDES = [1600, 1280, 1024, 800, 640, 480], QUALITIES = [0.8, 0.65, 0.5];

  function bytesOf(dataUrl) {
    var b64 = dataUrl.slice(dataUrl.indexOf(",") + 1), pad = (b64.match(/=+$/) || [""])[0].length;
    return b64.length * 3 / 4 - pad;
  }

  // → {source for drawImage, width, height, close()}; rejects when the file is not an image
  function viaDataUrl(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onerror = function () { reject(new Error("unreadable")); };
      reader.onload = function () {
        var img = new Image();
        img.onload = function () {
          if (!img.naturalWidth) { reject(new Error("not an image")); return; }
          resolve({ source: img, width: img.naturalWidth, height: img.naturalHeight, close: function () {} });
        };
        img.onerror = function () { reject(new Error("not an image")); };
        img.src = reader.result;
      };
      reader.readAsDataURL(file);
    });
  }

  function load(file) {
    if (!window.createImageBitmap) return viaDataUrl(file);
    var bitmap;
    try { bitmap = createImageBitmap(file, { imageOrientation: "from-image" }); } catch (e) { return viaDataUrl(file); }
    return bitmap.then(function (b) {
      return { source: b, width: b.width, height: b.height, close: function () { if (b.close) b.close(); } };
    }, function () { return viaDataUrl(file); });  // a format only <img> knows, or not an image at all
  }

  function shrink(pic) {
    var canvas = document.createElement("canvas"), ctx = canvas.getContext("2d");
    for (var s = 0; s < SIDES.length; s++) {
      var scale = Math.min(1, SIDES[s] / Math.max(pic.width, pic.height));
      canvas.width = Math.max(1, Math.round(pic.width * scale));
      canvas.height = Math.max(1, Math.round(pic.height * scale));
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(pic.source, 0, 0, canvas.width, canvas.height);
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
    var form = input.form, name = input.dataset.shrink;
    var hidden = form.querySelector('input[name="' + name + '"]');
    var note = form.querySelector("[data-photo-note]"), preview = form.querySelector("[data-photo-preview]");
    input.removeAttribute("name");  // the shrunk copy is sent, never the original file
    function say(text, bad) {
      if (!note) return;
      note.textContent = text; note.hidden = !text; note.classList.toggle("error", !!bad);
    }
    function clear() {
      hidden.value = ""; delete form.dataset.photoBytes;
      if (preview) { preview.hidden = true; preview.removeAttribute("src"); }
    }
    input.addEventListener("change", function () {
      var pick = (Number(hidden.dataset.pick) || 0) + 1;  // a later pick wins over one still shrinking
      hidden.dataset.pick = String(pick);
      clear();
      var file = input.files && input.files[0];
      if (!file) { say(""); return; }
      // the other input of this field (拍照 / 从相册选择) lets go of its file: this one replaces it
      form.querySelectorAll('input[type=file][data-shrink="' + name + '"]').forEach(function (other) {
        if (other !== input) other.value = "";
      });
      say(T.photoShrinking || "…");
      load(file).then(function (pic) {
        var data;
        if (hidden.dataset.pick !== String(pick)) { pic.close(); return; }
        try { data = shrink(pic); } finally { pic.close(); }
        if (!data) { input.value = ""; say(T.photoTooLarge, true); return; }
        hidden.value = data;
        if (preview) { preview.src = data; preview.hidden = false; }
        say((T.photoReady || "") + " " + Math.ceil(bytesOf(data) / 1024) + " KB");
        form.dataset.photoBytes = String(bytesOf(data));
      }, function () {
        if (hidden.dataset.pick !== String(pick)) return;
        input.value = ""; say(T.photoNotImage, true);
      });
    });
    // the form is emptied after a save: so is the photo (once per field, however many inputs feed it)
    if (hidden.dataset.savedReady) return;
    hidden.dataset.savedReady = "1";
    form.addEventListener("linli:saved", function () {
      setTimeout(function () { clear(); say(""); }, 0);
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
