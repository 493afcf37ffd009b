// Exam-conditions time limit: counts down to the moment the server gave, measured against the
// server's clock at page load (so a wrong clock on the pupil's device does not matter). When it
// reaches zero, a limit that hands the work in reloads the page: the server hands the work in
// and shows the receipt. The server alone decides; this only shows the time.
(function () {
  "use strict";
  var box = document.getElementById("countdown");
  var left = box && box.querySelector("[data-countdown-left]");
  if (!box || !left) return;
  var timeUp = Date.parse(box.getAttribute("data-time-up"));
  var skew = Date.parse(box.getAttribute("data-now")) - Date.now();
  if (isNaN(timeUp) || isNaN(skew)) return;
  var lastMinute = null;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var ms = timeUp - (Date.now() + skew);
    if (ms <= 0) {
      left.textContent = "0:00";
      if (box.getAttribute("data-reload") === "true") {
        window.setTimeout(function () { window.location.reload(); }, 1500);
      }
      return;
    }
    var seconds = Math.ceil(ms / 1000);
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    left.textContent = (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s);
    // Announce once a minute at most, not every second.
    var minute = Math.ceil(seconds / 60);
    box.setAttribute("aria-live", minute !== lastMinute && (minute <= 5 || minute % 10 === 0) ? "polite" : "off");
    lastMinute = minute;
    window.setTimeout(tick, 1000 - ((ms % 1000) || 0) + 5);
  }
  tick();
})();
