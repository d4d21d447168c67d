// A refused form's summary of what is wrong takes the focus when the page loads: the browser scrolls to it (a form
// far down a long page would otherwise come back with the page's top in view and nothing seemingly changed), and a
// screen reader reads it. The summary is the templates' .error-summary (tabindex="-1", role="alert").
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var summary = document.querySelector("main .error-summary");
  if (summary) {
    summary.focus();
  }
});
