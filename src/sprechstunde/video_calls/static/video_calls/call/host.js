/* The case manager's panel: who waits, who is in, let in, remove, lock, end for everyone,
 * with a tone when someone new waits. Loaded on the host's page only, before main.js. */
import { $, pressed, root, send, state, T } from "./signalling.js";

function renderHost(list) {
  var waitingList = $("waiting-list");
  if (!waitingList) return;
  var waiting = list.filter(function (p) { return p.state === "waiting" && p.present; });
  var inside = list.filter(function (p) { return p.state === "admitted" && p.present; });
  waitingList.textContent = "";
  waiting.forEach(function (p) {
    waitingList.appendChild(personRow(p, [["admit", T.admit, "button"], ["remove", T.remove, "button button--secondary"]]));
  });
  if (!waiting.length) waitingList.appendChild(textRow(T.nobodyWaiting));
  var inList = $("participant-list");
  inList.textContent = "";
  inside.forEach(function (p) {
    inList.appendChild(personRow(p, p.id === state.me || p.role === "staff" ? [] : [["remove", T.remove, "button button--secondary"]]));
  });
  var alert = $("waiting-alert");
  alert.hidden = !waiting.length;
  alert.textContent = waiting.length ? T.someoneWaiting : "";
  if (waiting.length > state.waitingCount) beep();
  state.waitingCount = waiting.length;
  var lock = $("lock-call");
  pressed(lock, state.locked);
  lock.textContent = state.locked ? T.unlock : T.lock;
}
function textRow(text) {
  var li = document.createElement("li");
  li.className = "muted";
  li.textContent = text;
  return li;
}
function personRow(p, actions) {
  var li = document.createElement("li");
  li.dataset.participant = p.id;
  li.dataset.state = p.state;
  var name = document.createElement("span");
  name.textContent = p.name + " (" + (p.second_device ? T.secondDevice : (T.roles[p.role] || p.role)) + ")";
  li.appendChild(name);
  actions.forEach(function (a) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = a[2];
    b.dataset.action = a[0];
    b.textContent = a[1];
    b.setAttribute("aria-label", a[1] + ": " + p.name);
    b.addEventListener("click", function () { send({ type: a[0], participant: p.id }); });
    li.appendChild(b);
  });
  return li;
}

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
  } catch (e) { /* no sound: the visible notice remains */ }
}

function wireHost() {
  var end = $("ctl-end");
  if (end) end.addEventListener("click", function () { if (window.confirm(T.confirmEnd)) send({ type: "end" }); });
  var admitAll = $("admit-all");
  if (admitAll) admitAll.addEventListener("click", function () { send({ type: "admit_all" }); });
  var lock = $("lock-call");
  if (lock) lock.addEventListener("click", function () { send({ type: "lock", locked: !state.locked }); });
}

if ($("waiting-list")) {
  root.addEventListener("roster", function (event) { renderHost(event.detail); });
  wireHost();
}
