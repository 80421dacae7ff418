// Search form: models follow the chosen dataset, the query field follows the mode, text only for text models,
// and a file over the size limit is refused here before it is uploaded (the server checks again).
(function () {
  "use strict";
  var form = document.getElementById("search-form");
  if (!form) return;
  // (not form.dataset: a form's named controls shadow its properties, and one control is named "dataset")
  function attr(name) { return form.getAttribute("data-" + name); }
  var models = JSON.parse(attr("models") || "{}");
  var textModels = JSON.parse(attr("text-models") || "[]");
  var dataset = document.getElementById("dataset"), model = document.getElementById("model");
  var errorBox = document.getElementById("client-error"), busy = document.getElementById("busy");
  var fileInput = document.getElementById("video");

  function mode() { var c = form.querySelector("input[name=mode]:checked"); return c ? c.value : "video"; }

  function showMode() {
    var m = mode();
    form.querySelectorAll(".query").forEach(function (q) { q.hidden = q.dataset.mode !== m; });
  }

  function updateText() {
    var ok = textModels.indexOf(model.value) >= 0;
    var radio = form.querySelector("input[name=mode][value=text]");
    radio.disabled = !ok;
    document.getElementById("mode-text-label").classList.toggle("disabled", !ok);
    if (!ok && radio.checked) { form.querySelector("input[name=mode][value=video]").checked = true; showMode(); }
  }

  function fillModels() {
    var chosen = model.value;
    model.innerHTML = "";
    (models[dataset.value] || []).forEach(function (m) {
      var o = document.createElement("option"); o.value = o.textContent = m; if (m === chosen) o.selected = true;
      model.appendChild(o);
    });
    updateText();
  }

  function refuse(text) { errorBox.textContent = text; errorBox.hidden = false; }

  if (dataset) dataset.addEventListener("change", fillModels);
  if (model) model.addEventListener("change", updateText);
  form.querySelectorAll("input[name=mode]").forEach(function (r) { r.addEventListener("change", showMode); });
  if (fileInput) fileInput.addEventListener("change", function () { errorBox.hidden = true; });

  form.addEventListener("submit", function (ev) {
    var max = parseInt(attr("max-bytes"), 10);
    if (mode() === "video") {
      var f = fileInput.files[0];
      if (!f && !document.getElementById("kept-upload")) {  // none kept from the last search either
        ev.preventDefault(); refuse("no file chosen: pick a video (or a .pose file) to search with"); return;
      }
      if (f && max && f.size > max) {
        ev.preventDefault();
        refuse("'" + f.name + "' is " + (f.size / 1e6).toFixed(1) + " MB; the upload limit is " + attr("max-mb") + " MB (trim or re-encode it)");
        return;
      }
    }
    // a search by id or text is a plain link (GET), so its URL can be shared; an upload has to be POSTed
    form.method = mode() === "video" ? "post" : "get";
    form.enctype = mode() === "video" ? "multipart/form-data" : "application/x-www-form-urlencoded";
    errorBox.hidden = true;
    busy.hidden = false;
  });

  showMode();
  if (model) updateText();
})();
