// LTI login initiation inside a platform's frame: can this frame keep a cookie? If it can, the
// launch goes on in the frame; if the browser blocks third-party cookies, the page offers a
// new tab instead (the link is already on the page for browsers without JavaScript).
(function () {
  "use strict";
  var box = document.getElementById("lti-cookie-check");
  if (!box) return;
  document.cookie = "lti_probe=1; path=/lti/; max-age=60; SameSite=None; Secure; Partitioned";
  if (document.cookie.indexOf("lti_probe=1") !== -1) {
    window.location.replace(box.getAttribute("data-continue"));
  } else {
    box.querySelector("[data-checking]").hidden = true;
    box.querySelector("[data-blocked]").hidden = false;
  }
})();

// Dynamic registration done: tell the platform to close its registration window.
(function () {
  "use strict";
  if (!document.getElementById("lti-registered")) return;
  var message = { subject: "org.imsglobal.lti.close" };
  if (window.opener) window.opener.postMessage(message, "*");
  if (window.parent !== window) window.parent.postMessage(message, "*");
})();
