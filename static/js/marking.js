// Teacher pages: marking helpers and print buttons. No inline handlers (CSP).
(function () {
  "use strict";

  // <button data-print> prints the page (the print stylesheet hides the chrome).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) window.print();
  });

  function marksInput(form) {
    return form.querySelector('input[type="number"][name$="-marks"]');
  }

  // Picking a level narrows the mark box to that level's band; the server checks it too.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches('.mark-form input[type="radio"][data-min]')) {
      var input = marksInput(target.form);
      if (!input) return;
      var low = parseInt(target.getAttribute("data-min"), 10);
      var high = parseInt(target.getAttribute("data-max"), 10);
      input.min = String(low);
      input.max = String(high);
      var value = parseInt(input.value, 10);
      if (isNaN(value) || value < low || value > high) input.value = String(low);
    }
    // A comment chosen from the bank is added to the comment box, then the menu resets
    // (so the server does not add it a second time).
    if (target.matches('.mark-form select[name$="-bank_entry"]') && target.value) {
      var box = target.form.querySelector('textarea[name$="-comment"]');
      var text = target.options[target.selectedIndex].text;
      if (box && box.value.indexOf(text) === -1) {
        box.value = box.value.trim() ? box.value.replace(/\s+$/, "") + "\n" + text : text;
      }
      target.value = "";
      if (box) box.focus();
    }
  });

  function focusItem(item) {
    if (!item) return;
    var heading = item.querySelector(".mark-item__heading");
    (heading || item).focus();
    item.scrollIntoView({ block: "start" });
  }

  // After an htmx save the answer is swapped in again: keep keyboard focus inside it,
  // on the first invalid field if the save was refused.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var item = event.detail && event.detail.elt;
    if (!item || !item.classList || !item.classList.contains("mark-item")) return;
    var invalid = item.querySelector('[aria-invalid="true"], .errorlist');
    if (invalid) {
      var field = item.querySelector('[aria-invalid="true"]') || item.querySelector(".mark-item__heading");
      field.focus();
    } else {
      focusItem(item);
    }
  });

  // "Save and next": the server names the next answer to move to.
  document.addEventListener("marking-focus", function (event) {
    var item = event.target && event.target.classList && event.target.classList.contains("mark-item")
      ? event.target
      : null;
    window.setTimeout(function () { focusItem(item); }, 0);
  });

  // A comment just saved to the bank is offered at once on every other answer's form.
  // The server sends it in a "comment-bank-added" event; the text goes in as text, never HTML.
  document.body.addEventListener("comment-bank-added", function (event) {
    var entry = event.detail || {};
    if (!entry.id || typeof entry.text !== "string") return;
    document.querySelectorAll('.mark-form select[name$="-bank_entry"]').forEach(function (select) {
      var known = Array.prototype.some.call(select.options, function (option) {
        return option.value === String(entry.id);
      });
      if (!known) {
        var option = document.createElement("option");
        option.value = String(entry.id);
        option.textContent = entry.text;
        select.appendChild(option);
      }
      var field = select.closest(".bank-field");
      if (field) field.hidden = false;
    });
  });

  // A failed request (server error, lost connection) must never look like a saved one:
  // the status line shows an alert in the error colour.
  function notSaved(message) {
    var status = document.getElementById("marking-status");
    if (!status || !message) return;
    var alert = document.createElement("span");
    alert.className = "marking-status__error";
    alert.setAttribute("role", "alert");
    alert.textContent = message;
    status.replaceChildren(alert);
  }
  document.body.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 401) return; // app.js shows the session banner
    var status = document.getElementById("marking-status");
    notSaved(status ? status.getAttribute("data-msg-server") : "");
  });
  document.body.addEventListener("htmx:sendError", function () {
    var status = document.getElementById("marking-status");
    notSaved(status ? status.getAttribute("data-msg-network") : "");
  });
})();
