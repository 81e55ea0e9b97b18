// Hover details for the KPI page's charts. The server draws the charts as SVG (they show
// without this script); here, pointing at or touching a period or a bar shows its numbers
// (its title, which the browser shows too, but slowly) at once, beside the pointer.
(function () {
  "use strict";
  var tip = null;

  function show(event) {
    var spot = event.target.closest ? event.target.closest(".hit, .bar") : null;
    var title = spot && spot.closest(".chart") ? spot.querySelector("title") : null;
    if (!title) { hide(); return; }
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "chart-tip";
      tip.setAttribute("role", "status");
      document.body.appendChild(tip);
    }
    tip.textContent = title.textContent;
    tip.hidden = false;
    var x = event.pageX, y = event.pageY;
    var room = document.documentElement.clientWidth - tip.offsetWidth - 8;
    tip.style.left = Math.max(4, Math.min(x + 12, room)) + "px";
    tip.style.top = (y + 16) + "px";
  }

  function hide() { if (tip) tip.hidden = true; }

  document.addEventListener("pointermove", show);
  document.addEventListener("pointerdown", show);
  // Placed in page coordinates, the tip stays by its period when the page scrolls.
  document.documentElement.addEventListener("pointerleave", hide);
})();
