/* Phases, and the call's stage: one person large, others in a strip, self in a corner; the
 * speaker is large (audio level with hysteresis), a tap pins one (ADR 0053). */
import { $, noop, root, state, T } from "./signalling.js";

var SAMPLE_MS = 400;
var SWITCH_SAMPLES = 3; // clearly louder for over a second before the large picture moves
var main = null; // the speaker
var pinned = null; // tapped; large until tapped again
var levels = new Map();
var energy = new Map();
var busy = false;
var louder = { id: null, samples: 0 };
var timer = null;

export function setPhase(phase) {
  state.phase = phase;
  root.dataset.phase = phase;
  document.documentElement.dataset.call = phase;
  $("prejoin").hidden = phase !== "prejoin";
  $("waiting-room").hidden = phase !== "waiting";
  $("in-call").hidden = phase !== "in-call";
  $("call-over").hidden = ["left", "ended", "refused"].indexOf(phase) < 0;
}

export function tile(peer, name) {
  var figure = document.createElement("figure");
  figure.className = "tile";
  figure.dataset.peer = peer.id;
  var video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  // A shared screen: show all of it.
  video.addEventListener("resize", function () {
    figure.dataset.fit = video.videoWidth > video.videoHeight * 1.5 ? "contain" : "cover";
  });
  figure.appendChild(video);
  var pick = document.createElement("button");
  pick.type = "button";
  pick.className = "tile__pick";
  pick.addEventListener("click", function () {
    pinned = pinned === peer.id ? null : peer.id;
    arrange();
  });
  figure.appendChild(pick);
  var caption = document.createElement("figcaption");
  ["tile__name", "tile__quality", "tile__state"].forEach(function (name) {
    var span = document.createElement("span");
    span.className = name;
    caption.appendChild(span);
  });
  caption.children[1].dataset.quality = "unknown";
  figure.appendChild(caption);
  $("tiles").appendChild(figure);
  peer.tile = figure;
  label(peer, name);
  arrange();
}
export function label(peer, name) {
  if (name) peer.tile.querySelector(".tile__name").textContent = name;
  peer.name = name || peer.name || "";
  peer.tile.querySelector("video").setAttribute("aria-label", peer.name);
  arrange();
}
export function untile(peer) {
  if (peer.tile && peer.tile.parentNode) peer.tile.parentNode.removeChild(peer.tile);
  var code = document.querySelector("#codes [data-peer='" + peer.id + "']");
  if (code) code.parentNode.removeChild(code);
  levels.delete(peer.id);
  energy.delete(peer.id);
  if (pinned === peer.id) pinned = null;
  if (main === peer.id) main = null;
  arrange();
}

/* Who is large: the pinned one, else the speaker, else the first one there. */
function arrange() {
  var ids = Array.from(state.peers.keys()).filter(function (id) {
    var p = state.peers.get(id);
    return p.tile && p.tile.parentNode;
  });
  if (pinned !== null && ids.indexOf(pinned) < 0) pinned = null;
  if (main === null || ids.indexOf(main) < 0) main = ids.length ? ids[0] : null;
  var large = pinned !== null ? pinned : main;
  var slot = 0;
  ids.forEach(function (id) {
    var peer = state.peers.get(id);
    var isMain = id === large;
    peer.tile.classList.toggle("tile--main", isMain);
    peer.tile.classList.toggle("tile--strip", !isMain);
    if (isMain) delete peer.tile.dataset.slot;
    else peer.tile.dataset.slot = String(slot++);
    var pick = peer.tile.querySelector(".tile__pick");
    pick.hidden = ids.length < 2 || (isMain && pinned === null);
    pick.setAttribute("aria-label", isMain ? T.follow : T.enlarge.replace("{name}", peer.name || ""));
  });
  $("tiles").dataset.remote = String(ids.length);
  $("tiles").dataset.large = large === null ? "" : String(large);
  if (ids.length > 1 && !timer) timer = setInterval(listen, SAMPLE_MS);
  if (ids.length < 2 && timer) { clearInterval(timer); timer = null; }
}

/* Each one's loudness since the last look: audio energy over duration from the audio
 * receiver's stats (a level sampled now and then misses short sounds), kept as a decaying
 * peak so pauses between words do not count; a microphone said to be off never counts. */
function listen() {
  if (busy) return;
  busy = true;
  var jobs = [];
  state.peers.forEach(function (peer, id) {
    var receiver = peer.pc.getReceivers().filter(function (r) { return r.track && r.track.kind === "audio"; })[0];
    if (!receiver || !peer.tile || peer.tile.dataset.audio === "off") { heard(id, 0); return; }
    jobs.push(receiver.getStats().then(function (report) {
      report.forEach(function (r) {
        if (r.type !== "inbound-rtp") return;
        var last = energy.get(id) || { e: 0, d: 0 };
        var now = { e: r.totalAudioEnergy || 0, d: r.totalSamplesDuration || 0 };
        energy.set(id, now);
        heard(id, now.d > last.d ? Math.sqrt((now.e - last.e) / (now.d - last.d)) : 0);
      });
    }, noop));
  });
  Promise.all(jobs).then(decide).then(function () { busy = false; });
}
function heard(id, level) {
  levels.set(id, Math.max(level, (levels.get(id) || 0) * 0.8));
}
function decide() {
  var best = null;
  levels.forEach(function (level, id) {
    if (state.peers.has(id) && (best === null || level > levels.get(best))) best = id;
  });
  if (best === null || best === main) { louder.samples = 0; return; }
  if (levels.get(best) > (levels.get(main) || 0) * 1.5 + 0.02) {
    louder.samples = louder.id === best ? louder.samples + 1 : 1;
    louder.id = best;
  } else {
    louder.samples = 0;
  }
  if (louder.samples >= SWITCH_SAMPLES) {
    main = best;
    louder.samples = 0;
    arrange();
  }
}

/* What the other side says it sends, on its tile. */
export function onMedia(frame) {
  var peer = state.peers.get(frame.from);
  if (!peer) return;
  if (typeof frame.audio === "boolean") peer.tile.dataset.audio = frame.audio ? "on" : "off";
  if (typeof frame.video === "boolean") peer.tile.dataset.video = frame.video ? "on" : "off";
}
