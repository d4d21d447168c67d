// A table wider than a phone's screen scrolls inside itself, its figures whole (registry.css: .table-wide),
// rather than breaking numbers across lines or widening the page. A region that scrolls must be reachable from
// the keyboard and named: each table's region (the template's .scroll, else one made here) is named after the
// table's caption or its section's heading, and focusable while it overflows. Without this script the tables
// still read: they wrap as before.
(function () {
  "use strict";

  function nameOf(table) {
    if (table.caption) {
      return table.caption.textContent.trim();
    }
    for (var node = table; node && node.tagName !== "MAIN"; node = node.parentElement) {
      for (var before = node.previousElementSibling; before; before = before.previousElementSibling) {
        if (/^H[1-4]$/.test(before.tagName)) {
          return before.textContent.trim();
        }
        if (before.tagName === "LEGEND") {
          return before.textContent.trim();
        }
      }
    }
    return document.title;
  }

  function regionOf(table) {
    var region = table.closest(".scroll");
    if (!region) {
      region = document.createElement("div");
      region.className = "scroll";
      table.parentNode.insertBefore(region, table);
      region.appendChild(table);
    }
    region.classList.add("table-wide");
    if (!region.hasAttribute("role")) {
      region.setAttribute("role", "region");
      region.setAttribute("aria-label", nameOf(table));
      region.dataset.named = "here";
    }
    return region;
  }

  function mark() {
    document.querySelectorAll("main table").forEach(function (table) {
      var region = regionOf(table);
      if (region.dataset.named !== "here") {
        return;  // a template's own region keeps its tabindex
      }
      if (region.scrollWidth > region.clientWidth + 1) {
        region.tabIndex = 0;
      } else {
        region.removeAttribute("tabindex");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", mark);
  window.addEventListener("resize", mark);
})();
