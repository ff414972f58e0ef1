// Palisade console: the little that needs a script. Everything works without it.
// - data-confirm="question" on a submit button asks before the form is sent;
// - data-copy="element-id" on a button copies that element's text (tokens, login links).
"use strict";

document.addEventListener("click", function (event) {
  const target = event.target;
  if (!(target instanceof Element)) {
    return;
  }
  const confirmButton = target.closest("[data-confirm]");
  if (confirmButton && !window.confirm(confirmButton.getAttribute("data-confirm"))) {
    event.preventDefault();
    return;
  }
  const copyButton = target.closest("[data-copy]");
  if (copyButton) {
    const source = document.getElementById(copyButton.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        copyButton.textContent = "Copied";
      });
    }
  }
});
