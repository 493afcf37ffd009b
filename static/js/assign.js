// The assign form's "Pupils" (templates/analysis/_pupils_choice.html): only the ticked class's
// pupils are offered; with no class or several ticked the pupils are set aside (the server refuses
// chosen pupils with several classes anyway). Without this script every class's list shows.
(function () {
  "use strict";
  var choice = document.querySelector("[data-pupil-choice]");
  if (!choice) return;
  var form = choice.closest("form");
  var note = choice.querySelector("[data-pupil-choice-note]");
  function update() {
    var ticked = Array.prototype.map.call(
      form.querySelectorAll("input[name=classroom]:checked, select[name=classroom] option:checked"),
      function (input) { return input.value; }
    );
    var one = ticked.length === 1;
    choice.querySelectorAll(".pupil-group").forEach(function (group) {
      var shown = one && group.getAttribute("data-class") === ticked[0];
      group.hidden = !shown;
      group.querySelectorAll("input").forEach(function (input) { input.disabled = !shown; });
    });
    if (note) note.hidden = one;
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "classroom") update();
  });
  update();
})();
