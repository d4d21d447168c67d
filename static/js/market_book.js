// The instrument page's book and latest trades, fetched again every few seconds and swapped in place (the page's
// forms are left alone). Without JavaScript the page has a refresh link.
(function () {
  "use strict";
  var section = document.getElementById("book");
  if (!section) { return; }
  function refresh() {
    fetch(section.dataset.url, {credentials: "same-origin"})
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.text(); })
      .then(function (html) { section.innerHTML = html; window.setTimeout(refresh, 2000); })
      .catch(function () { window.setTimeout(refresh, 10000); });
  }
  window.setTimeout(refresh, 2000);
})();
