/* A form that came back with something to correct: its error summary ([data-autofocus],
 * tabindex="-1", role="alert") takes the focus when the page loads, so that a reader with a
 * keyboard or a screen reader starts at what to correct (its links lead to the fields).
 * A file of its own: the Content-Security-Policy forbids inline script.
 */
(function () {
  "use strict";

  function start() {
    var summary = document.querySelector("[data-autofocus]");
    if (summary) summary.focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
