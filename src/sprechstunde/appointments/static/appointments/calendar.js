// Keyboard shortcuts for the staff day and week views (progressive enhancement):
// ArrowLeft / ArrowRight go to the previous / next day or week, "t" back to today.
// Links carry aria-keyshortcuts so assistive technology announces them.
(function () {
  "use strict";
  function isTyping(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || isTyping(event.target)) {
      return;
    }
    var selector = null;
    if (event.key === "ArrowLeft") {
      selector = "a[rel=prev][data-calendar-nav]";
    } else if (event.key === "ArrowRight") {
      selector = "a[rel=next][data-calendar-nav]";
    } else if (event.key === "t") {
      selector = "a[data-calendar-today]";
    }
    var link = selector && document.querySelector(selector);
    if (link) {
      event.preventDefault();
      window.location.assign(link.href);
    }
  });
})();
