// The authoring studio: prompt patterns and focus after htmx swaps. No inline handlers (CSP).
(function () {
  "use strict";

  // Choosing a prompt pattern puts it in the question's prompt (then autosave sends it).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-pattern-for]") || !select.value) return;
    var prompt = document.getElementById(select.getAttribute("data-pattern-for"));
    if (!prompt) return;
    prompt.value = select.value;
    select.value = "";
    prompt.focus();
    var ellipsis = prompt.value.indexOf("…");
    if (ellipsis >= 0) prompt.setSelectionRange(ellipsis, ellipsis + 1);
    prompt.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // After a list is swapped in, focus the question that was added or moved.
  document.addEventListener("htmx:afterSwap", function () {
    var target = document.querySelector("[data-focus]");
    if (target) {
      target.removeAttribute("data-focus");
      target.focus();
    }
  });
})();
