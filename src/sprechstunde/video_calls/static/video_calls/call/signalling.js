/* The page's shared state (configuration and strings from json_script "call-config",
 * helpers) and the signalling websocket, reconnecting with backoff. Imports nothing. */
var configNode = document.getElementById("call-config");

export var root = document.getElementById("call");
export var config = configNode ? JSON.parse(configNode.textContent) : null;
export var T = (config && config.texts) || {};

export var VIDEO = { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15, max: 15 } };
export var BITRATE = { good: 250000, fair: 150000, poor: 90000 };

export var state = {
  phase: "prejoin",
  me: config && config.me,
  session: randomHex(16),
  iceServers: [],
  policy: "all",
  mic: null,
  asking: null, // a getUserMedia under way
  cam: null,
  screen: null,
  micOn: false,
  camOn: false,
  audioOnly: false,
  localStream: new MediaStream(),
  peers: new Map(),
  offerWaits: new Map(),
  roster: [],
  locked: false,
  ws: null,
  backoff: 300,
  joinRequested: false,
  hello: false,
  welcomed: false,
  spare: null,
  answerPc: null, // made ahead for the next offer to answer (ADR 0094)
  early: null, // who was there at "hello", for offers right behind the join (ADR 0094)
  stopped: false,
  waitingCount: 0,
  weakChecks: 0,
  quality: "unknown"
};

export function $(id) { return document.getElementById(id); }
export function noop() {}
export function randomHex(bytes) {
  var a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return Array.prototype.map.call(a, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
}
/* Work off the way to the first offer: when the page is idle, within a second (ADR 0055). */
export function later(fn) {
  if (window.requestIdleCallback) window.requestIdleCallback(fn, { timeout: 1000 });
  else setTimeout(fn, 100);
}
export function setStatus(text) { $("call-status").textContent = text || ""; }
export function pressed(button, on) { if (button) button.setAttribute("aria-pressed", on ? "true" : "false"); }

var handler = null;

export function send(frame) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
}

/* Opened during the pre-join check ("lobby", seen by nobody): joining is one frame. */
export function connect(onFrame) {
  if (onFrame) handler = onFrame;
  if (state.stopped) return;
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var lobby = !state.joinRequested;
  var ws = new WebSocket(scheme + location.host + config.ws + "?s=" + state.session + (lobby ? "&m=lobby" : ""));
  state.ws = ws;
  state.hello = false;
  ws.born = Date.now();
  ws.onopen = function () {
    state.backoff = 300;
    if (lobby) sendJoin();
  };
  ws.onmessage = function (event) {
    ws.heard = Date.now();
    var frame;
    try { frame = JSON.parse(event.data); } catch (e) { return; }
    handler(frame);
  };
  ws.onclose = function (event) {
    if (state.ws !== ws) return;
    state.ws = null;
    state.hello = false;
    if (!state.stopped && event.code !== 4403 && event.code !== 4410) retry();
  };
}
function retry() {
  setStatus(T.reconnecting);
  setTimeout(connect, state.backoff);
  state.backoff = Math.min(state.backoff * 2, 5000);
}
/* A lost link leaves the socket open until TCP gives up: with no answer to a ping (or no
 * open) within 4 s it is replaced (ADR 0056). */
export function probe() {
  var ws = state.ws;
  if (!ws) return;
  var since = ws.readyState ? !(ws.heard > ws.pinged) && ws.pinged : ws.born;
  if (!since) { ws.pinged = Date.now(); send({ type: "ping" }); }
  else if (Date.now() - since > 4000) { state.ws = null; ws.onclose = null; ws.close(); retry(); }
}

/* Once per socket, as soon as it is open (frames are answered in order). */
export function sendJoin() {
  var ws = state.ws;
  if (!state.joinRequested || !ws || ws.readyState !== WebSocket.OPEN || ws.joinSent) return;
  ws.joinSent = true;
  send({ type: "join" });
}
