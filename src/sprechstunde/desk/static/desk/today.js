/* The today page keeps itself current: every 15 s while the tab is visible it asks the
 * server for the sections, sending the digest of what it shows. The answer is 204 when
 * nothing changed, or JSON with the new sections, which replace the old ones in place: the focused
 * link keeps its focus, and the status region announces the new summary. Backs off (up to
 * 2 min) while the server cannot be reached; stops once logged out. */
(function () {
  "use strict";
  var box = document.getElementById("desk-sections");
  var status = document.getElementById("desk-status");
  if (!box || !window.fetch) return;
  var INTERVAL = 15000;
  var MAX_DELAY = 120000;
  var delay = INTERVAL;
  var timer = null;
  var stopped = false;

  function summaryOf(root) {
    var grid = root.querySelector("[data-summary]");
    return grid ? grid.getAttribute("data-summary") : "";
  }

  function focusedHref() {
    var active = document.activeElement;
    if (!active || !box.contains(active) || !active.getAttribute) return null;
    return active.getAttribute("href");
  }

  function replace(html, digest) {
    var before = summaryOf(box);
    var href = focusedHref();
    var parsed = new DOMParser().parseFromString(html, "text/html");
    box.replaceChildren.apply(box, Array.prototype.slice.call(parsed.body.childNodes));
    box.setAttribute("data-digest", digest || "");
    if (href) {
      var links = box.querySelectorAll("a[href]");
      for (var i = 0; i < links.length; i++) {
        if (links[i].getAttribute("href") === href) { links[i].focus(); break; }
      }
    }
    var after = summaryOf(box);
    if (status && after && after !== before) status.textContent = after;
  }

  function schedule() {
    clearTimeout(timer);
    if (!stopped && !document.hidden) timer = setTimeout(poll, delay);
  }

  function poll() {
    var url = box.getAttribute("data-url") + "?digest=" +
      encodeURIComponent(box.getAttribute("data-digest") || "");
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 403 || r.status === 404 || r.redirected) {
          stopped = true;
          return null;
        }
        if (r.status === 204) return "";
        if (!r.ok) throw new Error("status " + r.status);
        return r.json().then(function (data) { replace(data.html, data.digest); return ""; });
      })
      .then(function () { delay = INTERVAL; })
      .catch(function () { delay = Math.min(delay * 2, MAX_DELAY); })
      .then(schedule);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      clearTimeout(timer);
    } else {
      delay = INTERVAL;
      poll();
    }
  });
  schedule();
})();
