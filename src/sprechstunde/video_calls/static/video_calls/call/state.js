/* What every part of the call page shares: the configuration from the template (json_script
 * "call-config"), its strings, the page's state, and a few small helpers. Imports nothing. */
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
export function setStatus(text) { $("call-status").textContent = text || ""; }
export function pressed(button, on) { if (button) button.setAttribute("aria-pressed", on ? "true" : "false"); }
