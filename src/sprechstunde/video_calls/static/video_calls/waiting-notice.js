/* "Someone is waiting" on staff appointment pages: polls who waits in today's video calls,
 * shows a notice with a link to the call and plays a short tone when someone new arrives. */
(function () {
  "use strict";
  var box = document.getElementById("video-waiting");
  if (!box) return;
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

  function show(rows) {
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
    if (seen >= 0 && count > seen) beep();
    seen = count;
  }

  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) show(data.waiting || []); })
      .catch(function () { /* try again at the next tick */ });
  }
  poll();
  setInterval(poll, 8000);
})();
