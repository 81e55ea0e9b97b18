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
   used, not sent with every page that has the form. Without JavaScript the panel links to a
   form page that carries them. Only <option> elements are taken from the answer: after the
   session has ended it is a 401 (or, were it followed, a redirect to the login page), never
   put into the page. */
(function () {
  "use strict";
  document.addEventListener("focusin", function (event) {
    var list = event.target && event.target.list;
    var source = list && list.getAttribute("data-src");
    if (!source || !window.fetch || !window.DOMParser) { return; }
    list.removeAttribute("data-src");
    fetch(source, {
      credentials: "same-origin",
      redirect: "error",
      headers: { "X-Los-Fragment": "1" } // pages_actions.FETCH_HEADER (a test compares them)
    })
      .then(function (answer) {
        var type = answer.headers.get("Content-Type") || "";
        if (!answer.ok || answer.redirected || type.indexOf("text/html") !== 0) {
          throw new Error(String(answer.status));
        }
        return answer.text();
      })
      .then(function (text) {
        var parsed = new DOMParser().parseFromString(
          "<datalist>" + text + "</datalist>", "text/html");
        var found = parsed.querySelectorAll("datalist > option");
        var options = document.createDocumentFragment();
        for (var i = 0; i < found.length; i += 1) {
          var option = document.createElement("option");
          option.value = found[i].value;
          option.textContent = found[i].textContent;
          options.appendChild(option);
        }
        list.replaceChildren(options);
      })
      .catch(function () { list.setAttribute("data-src", source); });
  });
})();
