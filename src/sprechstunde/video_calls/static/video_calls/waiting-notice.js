/* "Someone is waiting", on every staff page of a case manager (base.html): asks who waits in
 * the video calls of the caseload, shows a notice with a link to the call and plays a short
 * tone when someone new arrives. Polls every 8 s while the tab is visible, not at all while
 * it is hidden, and backs off (up to 2 min) while the server cannot be reached. The last
 * answer is kept for the tab (sessionStorage), so the notice stays in place across pages. */
(function () {
  "use strict";
  var box = document.getElementById("video-waiting");
  if (!box || !window.fetch) return;
  var INTERVAL = 8000;
  var MAX_DELAY = 120000;
  var KEY = "sprechstunde.waiting";
  var delay = INTERVAL;
  var timer = null;
  var stopped = false;
  var seen = -1;

  function beep() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      var ctx = new Ctx();
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.1;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.2);
      osc.onended = function () { ctx.close(); };
    } catch (e) { /* the visible notice remains */ }
  }

  function remember(rows, count) {
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ at: Date.now(), rows: rows, count: count }));
    } catch (e) { /* private mode: every page starts empty */ }
  }

  function show(rows, quiet) {
    var count = 0;
    box.textContent = "";
    rows.forEach(function (row) {
      count += row.count;
      var p = document.createElement("p");
      p.dataset.appointment = row.appointment;
      p.textContent = box.dataset.text.replace("%(names)s", row.names.join(", ")) + " ";
      var a = document.createElement("a");
      a.href = row.url;
      a.textContent = box.dataset.link;
      p.appendChild(a);
      box.appendChild(p);
    });
    box.hidden = count === 0;
    box.dataset.count = String(count);
    if (!quiet && seen >= 0 && count > seen) beep();
    seen = count;
    return count;
  }

  function schedule() {
    clearTimeout(timer);
    if (!stopped && !document.hidden) timer = setTimeout(poll, delay);
  }

  function poll() {
    fetch(box.dataset.url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (r) {
        // Logged out, or no longer a case manager: this page has nothing more to ask.
        if (r.status === 403 || r.status === 404 || r.redirected) stopped = true;
        return r.ok && !r.redirected ? r.json() : null;
      })
      .then(function (data) {
        if (data) {
          var rows = data.waiting || [];
          remember(rows, show(rows, false));
          delay = INTERVAL;
        } else {
          delay = Math.min(delay * 2, MAX_DELAY);
        }
      })
      .catch(function () { delay = Math.min(delay * 2, MAX_DELAY); })
      .then(schedule);
  }

  try {
    var kept = JSON.parse(sessionStorage.getItem(KEY) || "null");
    if (kept && Date.now() - kept.at < 60000) show(kept.rows || [], true);
  } catch (e) { /* start empty */ }
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      clearTimeout(timer);
    } else {
      delay = INTERVAL;
      poll();
    }
  });
  poll();
})();
