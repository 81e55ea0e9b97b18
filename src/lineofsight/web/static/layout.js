/* A table (or preformatted text) wider than a phone's screen scrolls inside its own box
   (los.css). Such a box must be reachable with the keyboard to be scrolled without a pointer:
   each one that overflows and holds nothing focusable becomes a focus stop, and stops being one
   when the screen widens. Without JavaScript the boxes still scroll by touch or trackpad. */
(function () {
  "use strict";
  var FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";
  function mark() {
    var boxes = document.querySelectorAll("main table, main pre");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var wide = box.scrollWidth > box.clientWidth + 1;
      var own = box.getAttribute("data-scroll-stop") === "1";
      if (wide && !box.hasAttribute("tabindex") && !box.querySelector(FOCUSABLE)) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-scroll-stop", "1");
      } else if (!wide && own) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-scroll-stop");
      }
    }
  }
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(mark, 100);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mark);
  } else {
    mark();
  }
})();

/* An owner field's suggestions (a datalist with data-src) are fetched when the field is first
   used, not sent with every page that has the form. Without JavaScript the field takes a
   person's id as typed, without suggestions. */
(function () {
  "use strict";
  document.addEventListener("focusin", function (event) {
    var list = event.target && event.target.list;
    var source = list && list.getAttribute("data-src");
    if (!source || !window.fetch) { return; }
    list.removeAttribute("data-src");
    fetch(source, { credentials: "same-origin" })
      .then(function (answer) {
        if (!answer.ok) { throw new Error(String(answer.status)); }
        return answer.text();
      })
      .then(function (options) { list.innerHTML = options; })
      .catch(function () { list.setAttribute("data-src", source); });
  });
})();
