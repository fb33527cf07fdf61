// Tables wider than a phone scroll sideways inside their .table-wrap: such a wrapper becomes a
// named, focusable region, so that the keyboard can scroll it too (WCAG 2.1.1); one that fits
// is left out of the tab order. Named after its table's caption.
"use strict";
(function () {
  function update() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        var caption = wrap.querySelector("caption");
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        if (caption && caption.textContent.trim()) {
          wrap.setAttribute("aria-label", caption.textContent.trim());
        }
      } else if (wrap.getAttribute("tabindex") === "0") {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    });
  }
  window.addEventListener("DOMContentLoaded", function () {
    update();
    // Live rows (the overview) and a narrower window change what overflows.
    var observer = new ResizeObserver(update);
    document.querySelectorAll(".table-wrap, .table-wrap > table").forEach(function (element) {
      observer.observe(element);
    });
  });
})();
