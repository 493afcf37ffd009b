// Site-wide behaviour. No inline handlers: the CSP allows only nonce'd scripts.
(function () {
  "use strict";
  // An htmx request answered 401 means the session ended: show the banner, keep the page.
  document.body.addEventListener("session-expired", function () {
    var banner = document.getElementById("session-banner");
    if (banner) banner.hidden = false;
  });
  // Log-out clears drafts kept in this tab (Clear-Site-Data covers other tabs).
  document.querySelectorAll("form.logout-form").forEach(function (form) {
    form.addEventListener("submit", function () {
      try { window.sessionStorage.clear(); } catch (e) { /* storage blocked */ }
    });
  });
  // Confirm destructive or final actions: <form data-confirm="Are you sure?">.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);
  // Slow posts (<form data-busy="Adding students…">): a second click must not send the form again
  // while the first is still being handled; a status line says what is happening meanwhile. For
  // forms whose buttons carry no name (a disabled button's value would not be sent).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.getAttribute || !form.hasAttribute("data-busy")) return;
    if (form.getAttribute("aria-busy") === "true") { event.preventDefault(); return; }
    form.setAttribute("aria-busy", "true");
    var button = form.querySelector("button[type=submit], button:not([type])");
    var status = form.querySelector("[data-busy-status]");
    if (status) status.textContent = form.getAttribute("data-busy");
    if (button) button.disabled = true;
  });
  // Back to a page kept in the browser's cache: the form can be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-busy][aria-busy=true]").forEach(function (form) {
      form.removeAttribute("aria-busy");
      var button = form.querySelector("button[disabled]");
      if (button) button.disabled = false;
      var status = form.querySelector("[data-busy-status]");
      if (status) status.textContent = "";
    });
  });
})();
