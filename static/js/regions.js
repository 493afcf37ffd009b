// Visual sources: regions of an image. Two jobs, each only where its markup is on the page.
//
// 1. Everywhere an image source is shown: place the numbered boxes ([data-box], "left top width
//    height" in percent of the image) over the picture. Positions are set through the CSSOM, so
//    the page needs no style attributes (CSP).
// 2. The pupil's workspace ([data-visual-cite]): each region is a button over the image. Click
//    it, or Tab to it and press Enter, to cite it for the chosen question; cited regions are
//    outlined, worked out from the chips under the answers (li[data-cited-region]).
// 3. The teacher's region editor ([data-region-editor]): drag a rectangle on the image (mouse,
//    pen or finger: pointer events) to fill in the "Add a region" numbers; typing the numbers
//    draws the rectangle too, so the keyboard can do everything.
(function () {
  "use strict";

  function place(element) {
    var box = (element.getAttribute("data-box") || "").split(" ").map(parseFloat);
    if (box.length !== 4 || box.some(isNaN)) return;
    element.style.left = box[0] + "%";
    element.style.top = box[1] + "%";
    if (element.classList.contains("visual__hotspot")) {
      element.style.width = box[2] + "%";
      element.style.height = box[3] + "%";
    }
    element.hidden = false;
  }

  document.querySelectorAll(".visual__number[data-box]").forEach(place);

  // --- The pupil's workspace ------------------------------------------------------------------

  var root = document.getElementById("workspace");
  var editable = root && root.getAttribute("data-editable") === "true";
  var figures = root ? Array.prototype.slice.call(root.querySelectorAll("[data-visual-cite]")) : [];
  var questionPicker = document.getElementById("cite-target");

  function citedIds() {
    var ids = {};
    root.querySelectorAll("li[data-cited-region]").forEach(function (chip) {
      ids[chip.getAttribute("data-cited-region")] = true;
    });
    return ids;
  }

  function showCited() {
    var ids = citedIds();
    root.querySelectorAll("[data-region-outline]").forEach(function (rect) {
      rect.classList.toggle("visual__outline--cited", !!ids[rect.getAttribute("data-region-outline")]);
    });
    root.querySelectorAll(".visual__hotspot").forEach(function (button) {
      var cited = !!ids[button.getAttribute("data-region-id")];
      button.classList.toggle("visual__hotspot--cited", cited);
    });
    root.querySelectorAll("[data-region-item]").forEach(function (item) {
      item.classList.toggle("visual__region--cited", !!ids[item.getAttribute("data-region-item")]);
    });
  }

  function targetArticle(picker) {
    var id = picker ? picker.value : null;
    var article = id && root.querySelector('.question[data-response-id="' + id + '"]');
    return article || root.querySelector(".question[data-response-id]");
  }

  function cite(button, picker) {
    var article = targetArticle(picker);
    if (!article || !window.htmx) return;
    var responseId = article.getAttribute("data-response-id");
    window.htmx.ajax("POST", article.getAttribute("data-evidence-url"), {
      source: article,
      target: "#evidence-" + responseId,
      swap: "innerHTML",
      values: { region: button.getAttribute("data-region-id") }
    });
  }

  figures.forEach(function (figure, index) {
    if (!editable || !questionPicker) return; // handed in: the outlines only
    var buttons = figure.querySelectorAll(".visual__hotspot");
    if (!buttons.length) return;
    // "Cite for: [question]", a copy of the workspace's own question picker, kept in step with it.
    var row = document.createElement("div");
    row.className = "visual__target";
    var label = document.createElement("label");
    var picker = questionPicker.cloneNode(true);
    picker.id = "region-target-" + index;
    label.setAttribute("for", picker.id);
    label.textContent = figure.getAttribute("data-cite-label");
    picker.value = questionPicker.value;
    row.appendChild(label);
    row.appendChild(picker);
    figure.insertBefore(row, figure.firstChild);
    picker.addEventListener("change", function () { questionPicker.value = picker.value; });
    root.addEventListener("focusin", function (event) {
      var article = event.target.closest && event.target.closest(".question[data-response-id]");
      if (article) picker.value = article.getAttribute("data-response-id");
    });
    buttons.forEach(function (button) {
      place(button);
      button.addEventListener("click", function () { cite(button, picker); });
    });
  });

  if (root && figures.length) {
    showCited();
    document.body.addEventListener("htmx:afterSettle", showCited);
  }

  // --- The teacher's region editor ------------------------------------------------------------

  var editor = document.querySelector("[data-region-editor]");
  if (!editor) return;
  var surface = editor.querySelector("[data-draw-surface]");
  var image = surface.querySelector("img");
  var draft = surface.querySelector("[data-draft]");
  var form = editor.querySelector("[data-new-region]");
  var fields = {};
  ["x", "y", "w", "h"].forEach(function (name) { fields[name] = form.querySelector('[name="new-' + name + '"]'); });
  var labelField = form.querySelector('[name="new-label"]');

  function clamp(value) { return Math.max(0, Math.min(100, value)); }
  function round(value) { return Math.round(value * 10) / 10; }

  function showDraft(box) {
    draft.setAttribute("x", box.x);
    draft.setAttribute("y", box.y);
    draft.setAttribute("width", box.w);
    draft.setAttribute("height", box.h);
    draft.classList.toggle("visual__draft--shown", box.w > 0 && box.h > 0);
  }

  function typedBox() {
    var box = {};
    ["x", "y", "w", "h"].forEach(function (name) { box[name] = parseFloat(fields[name].value) || 0; });
    return box;
  }

  Object.keys(fields).forEach(function (name) {
    fields[name].addEventListener("input", function () { showDraft(typedBox()); });
  });

  function pointAt(event) {
    var rect = image.getBoundingClientRect();
    return {
      x: clamp((event.clientX - rect.left) / rect.width * 100),
      y: clamp((event.clientY - rect.top) / rect.height * 100)
    };
  }

  var start = null;
  function boxTo(point) {
    var x = Math.min(start.x, point.x), y = Math.min(start.y, point.y);
    return { x: round(x), y: round(y), w: round(Math.abs(point.x - start.x)), h: round(Math.abs(point.y - start.y)) };
  }

  surface.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) return;
    event.preventDefault();
    start = pointAt(event);
    surface.setPointerCapture(event.pointerId);
    showDraft({ x: start.x, y: start.y, w: 0, h: 0 });
  });
  surface.addEventListener("pointermove", function (event) {
    if (start) showDraft(boxTo(pointAt(event)));
  });
  function finish(event) {
    if (!start) return;
    var box = boxTo(pointAt(event));
    start = null;
    if (box.w < 0.5 || box.h < 0.5) { showDraft({ x: 0, y: 0, w: 0, h: 0 }); return; }
    box.w = round(Math.min(box.w, 100 - box.x));
    box.h = round(Math.min(box.h, 100 - box.y));
    Object.keys(fields).forEach(function (name) { fields[name].value = String(box[name]); });
    showDraft(box);
    labelField.focus();
  }
  surface.addEventListener("pointerup", finish);
  surface.addEventListener("pointercancel", function () { start = null; });
})();
