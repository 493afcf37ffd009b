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
})();
