// The allocation run's progress bar: polls the page's JSON while the run is going, then reloads the page
// once it has finished so the summary and failures show. Without JavaScript the page refreshes itself.
(function () {
  "use strict";
  var section = document.getElementById("run-progress");
  if (!section || section.dataset.running !== "true") { return; }
  var bar = section.querySelector("progress");
  var done = section.querySelector("[data-done]");
  var notices = section.querySelector("[data-notices]");
  var failures = section.querySelector("[data-failures]");
  function poll() {
    fetch(section.dataset.url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (progress) {
        bar.max = Math.max(progress.total, 1);
        bar.value = progress.done;
        done.textContent = progress.done.toLocaleString() + " / " + progress.total.toLocaleString();
        notices.textContent = progress.notices.toLocaleString();
        failures.textContent = progress.failures.length.toLocaleString();
        if (progress.running) { window.setTimeout(poll, 1000); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
