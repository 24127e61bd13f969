/* Video call page: pre-join check, waiting room, full-mesh WebRTC with perfect negotiation,
 * trickle ICE, verification codes (SAS), chat, screen sharing, quality adaptation.
 * No libraries, no build step: native ES modules, one per concern (docs/decisions/0053).
 * This module wires them: it reads the server's frames and the buttons.
 * Read-only test hook: window.sprechstundeCall (see docs/video-verification.md). */
import { onChat, wireChat } from "./chat.js";
import { renderHost, wireHost } from "./host.js";
import { onMedia, setPhase } from "./layout.js";
import {
  dropMic, listDevices, setAudioOnly, setBoth, setCamera, setMic, setScreen, stopAll, syncButtons
} from "./media.js";
import {
  applyIce, closePeer, dropSpare, onRoster, onSignal, prewarm, restart, restartAll, useIce
} from "./negotiation.js";
import { connect, send, sendJoin } from "./signalling.js";
import { $, config, noop, root, setStatus, state, T } from "./state.js";
import { collectStats, snapshot, startStatsLoop } from "./stats.js";

function handle(frame) {
  switch (frame.type) {
    case "hello":
      state.me = frame.me;
      state.hello = true;
      useIce(frame);
      prewarm();
      break;
    case "welcome":
      state.me = frame.me;
      useIce(frame);
      setStatus("");
      if (frame.state === "admitted") enterCall(frame.participants || []);
      else showWaiting(frame.locked);
      if (state.welcomed) {
        // Back after the socket dropped: most likely the network changed under us, so the
        // media path is dead too. Restart ICE now instead of waiting for ICE to notice.
        state.peers.forEach(function (p) { applyIce(p); restart(p); });
        dropSpare(); // its TURN allocation was made from the old address
        prewarm();
      }
      state.welcomed = true;
      break;
    case "waiting": showWaiting(frame.locked); break;
    case "admitted": useIce(frame); enterCall([]); break;
    case "roster": roster(frame.participants, frame.locked); break;
    case "signal": onSignal(frame); break;
    case "chat": onChat(frame); break;
    case "media": onMedia(frame); break;
    case "left": var gone = state.peers.get(frame.participant); if (gone) closePeer(gone); break;
    case "ice_servers":
      useIce(frame);
      state.peers.forEach(function (p) { applyIce(p); });
      if (state.spare) { dropSpare(); prewarm(); }
      break;
    case "ended": over("ended", frame.message || T.ended); break;
    case "refused": over("refused", frame.message); break;
    case "error": setStatus(frame.message || ""); break;
    default: break;
  }
}

function roster(list, locked) {
  onRoster(list, locked);
  renderHost(list);
}

function showWaiting(locked) {
  setPhase("waiting");
  setStatus(locked ? T.locked : T.waiting);
}

function enterCall(participants) {
  if (state.phase !== "in-call") {
    setPhase("in-call");
    setStatus(T.inCall);
    startStatsLoop();
  }
  if (participants.length) roster(participants, state.locked);
}

function over(phase, text) {
  state.stopped = true;
  state.peers.forEach(closePeer);
  stopAll();
  if (state.ws) { var ws = state.ws; state.ws = null; ws.close(); }
  dropSpare();
  setPhase(phase);
  $("call-over-text").textContent = text || "";
  $("rejoin-button").hidden = phase !== "left";
  setStatus(text || "");
}

function wire() {
  $("prejoin-camera").addEventListener("click", function () { setCamera(!state.camOn); });
  $("prejoin-mic").addEventListener("click", function () { setMic(!state.micOn); });
  $("prejoin-both").addEventListener("click", function () { setBoth(); });
  $("camera-select").addEventListener("change", function () { if (state.camOn) setCamera(true); });
  $("mic-select").addEventListener("change", function () {
    dropMic();
    if (state.micOn) setMic(true);
  });
  $("audio-only").addEventListener("change", function (event) { setAudioOnly(event.target.checked); });
  $("join-button").addEventListener("click", function () {
    $("join-button").disabled = true;
    setStatus(T.connecting);
    state.joinRequested = true;
    if (!state.ws) connect();
    else sendJoin();
    // else: the lobby socket is still opening; it sends the join once open.
  });
  $("ctl-mic").addEventListener("click", function () { setMic(!state.micOn); });
  $("ctl-camera").addEventListener("click", function () { setCamera(!state.camOn); });
  $("ctl-audio-only").addEventListener("click", function () { setAudioOnly(!state.audioOnly); });
  if (navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia && !/Android|iPhone|iPad/i.test(navigator.userAgent)) {
    $("ctl-screen").hidden = false;
    $("ctl-screen").addEventListener("click", function () { setScreen(!state.screen); });
  }
  $("ctl-leave").addEventListener("click", function () {
    send({ type: "leave" });
    over("left", T.left);
  });
  $("rejoin-button").addEventListener("click", function () { location.reload(); });
  wireHost();
  wireChat();
  window.addEventListener("online", restartAll);
  if (navigator.connection && navigator.connection.addEventListener) {
    navigator.connection.addEventListener("change", restartAll);
  }
  setInterval(function () { send({ type: "ping" }); }, 25000);
  // TURN credentials are short-lived: fetch fresh ones so ICE restarts can allocate again.
  setInterval(function () { send({ type: "ice_servers" }); }, 600000);
  /* Leaving the page: close every peer connection, the spare too. Chromium then gives their
   * TURN allocations back at once; left to the page's end, they stay on coturn until they
   * expire (10 min) and count against the person's quota there (`user-quota`, per
   * participant across page loads), so a few reloads would leave a relay-only call without
   * media. A page restored from the back-forward cache starts afresh. */
  window.addEventListener("pagehide", function () {
    if (state.phase === "in-call") send({ type: "leave" });
    state.peers.forEach(function (peer) { try { peer.pc.close(); } catch (e) { /* closed */ } });
    dropSpare();
  });
  window.addEventListener("pageshow", function (event) { if (event.persisted) location.reload(); });
}

if (root && config) {
  wire();
  setPhase("prejoin");
  syncButtons();
  listDevices().catch(noop);
  connect(handle);

  /* Read-only hook for tests and benchmarks (no state can be changed through it). */
  window.sprechstundeCall = Object.freeze({
    phase: function () { return state.phase; },
    me: function () { return state.me; },
    peerIds: function () { return Array.from(state.peers.keys()); },
    peerConnection: function (id) { var p = state.peers.get(id); return p ? p.pc : null; },
    sas: function () { var out = {}; state.peers.forEach(function (p, id) { out[id] = p.sas; }); return out; },
    stats: snapshot,
    collectStats: collectStats,
    roster: function () { return state.roster.slice(); },
    quality: function () { return state.quality; }
  });
}
