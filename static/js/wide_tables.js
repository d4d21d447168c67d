// A table wider than a phone's screen scrolls inside itself, its figures whole (registry.css: .table-wide),
// rather than breaking numbers across lines or widening the page. A region that scrolls must be reachable from
// the keyboard and named: each table's region (the template's .scroll, else one made here) is named after the
// table's caption or its section's heading, and focusable while it overflows. Without this script the tables
// still read: they wrap as before.
// A chart is drawn for a desktop's width; shrunk to a phone's its labels were a few pixels high. On a phone it keeps
// the width it is drawn for (registry.css: .chart-wide) and scrolls in a region of its own, named after the chart.
(function () {
  "use strict";

  function nameOf(element) {
    if (element.tagName.toLowerCase() === "svg") {
      var title = element.querySelector("title");
      return element.getAttribute("aria-label") || (title ? title.textContent.trim() : document.title);
    }
    if (element.caption) {
      return element.caption.textContent.trim();
    }
    for (var node = element; node && node.tagName !== "MAIN"; node = node.parentElement) {
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

  function regionOf(element) {
    var region = element.closest(".scroll");
    if (!region) {
      region = document.createElement("div");
      region.className = "scroll";
      element.parentNode.insertBefore(region, element);
      region.appendChild(element);
    }
    if (element.tagName.toLowerCase() === "svg") {
      region.classList.add("chart-wide");
      region.style.setProperty("--chart-width", element.viewBox.baseVal.width + "px");
    } else {
      region.classList.add("table-wide");
    }
    if (!region.hasAttribute("role")) {
      region.setAttribute("role", "region");
      region.setAttribute("aria-label", nameOf(element));
      region.dataset.named = "here";
    }
    return region;
  }

  function mark() {
    document.querySelectorAll("main table, main svg.chart").forEach(function (element) {
      var region = regionOf(element);
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
