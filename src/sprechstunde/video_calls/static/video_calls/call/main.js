/* Video call page, native ES modules without a build step (ADR 0053). This one wires the
 * server's frames and the buttons to the others. Test hook: window.sprechstundeCall. */
import { onMedia, setPhase } from "./layout.js";
import {
  dropMic, flipCamera, listDevices, setAudioOnly, setBoth, setCamera, setMic, setScreen, stopAll, syncButtons
} from "./media.js";
import {
  applyIce, closePeer, collectStats, dropSpare, offerEarly, onRoster, onSignal, prepareAnswer, prewarm,
  restart, restartAll, snapshot, startStatsLoop, useIce
} from "./negotiation.js";
import { $, config, connect, later, noop, probe, root, send, sendJoin, setStatus, state, T } from "./signalling.js";

function handle(frame) {
  switch (frame.type) {
    case "hello":
      state.me = frame.me;
      state.hello = true;
      state.early = frame.state === "admitted" ? frame.participants || null : null;
      useIce(frame);
      prewarm();
      offerEarly(); // the join left already (the tap came before the socket was open)
      break;
    case "welcome":
      state.me = frame.me;
      useIce(frame);
      if (frame.state === "admitted") enterCall(frame.participants || []);
      else {
        if (!state.welcomed) state.peers.forEach(closePeer); // offered early, not let in now
        showWaiting(frame.locked);
      }
      if (state.welcomed) {
        // Back after a drop: the network likely changed; restart ICE before ICE notices.
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
    case "chat": chat().then(function (m) { m.onChat(frame); }); break;
    case "media": onMedia(frame); break;
    case "left": var gone = state.peers.get(frame.participant); if (gone) closePeer(gone); break;
    case "ice_servers":
      useIce(frame);
      state.peers.forEach(function (p) { applyIce(p); });
      if (state.spare) { dropSpare(); prewarm(); }
      break;
    case "ended": over("ended", frame.message || T.ended); break;
    case "refused": over("refused", frame.message); break;
    case "error":
      // A signal to someone who has gone meanwhile (an early offer, ADR 0094): closed already.
      if (frame.code === "no_peer" && !state.peers.has(frame.participant)) break;
      setStatus(frame.message || "");
      break;
    default: break;
  }
}

/* Chat and verification codes wait until the call has started (ADR 0055); one promise keeps
 * the order of the frames. collectstatic rewrites the literal paths to the hashed names. */
var chatModule = null;
function chat() { return chatModule || (chatModule = import("./chat.js")); }
function lateModules() { chat(); import("./verification.js"); }

function roster(list, locked) {
  onRoster(list, locked);
  root.dispatchEvent(new CustomEvent("roster", { detail: list })); // for host.js
}

function showWaiting(locked) {
  setPhase("waiting");
  setStatus(locked ? T.locked : T.waiting);
}

function enterCall(participants) {
  if (state.phase !== "in-call") {
    setPhase("in-call");
    startStatsLoop();
    later(lateModules);
    later(prepareAnswer);
  }
  setStatus(root.dataset.media === "down" ? T.reconnecting : T.inCall);
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

/* The "more" sheet (screen sharing, verification codes, chat); opening it reads the chat. */
function sheet(open) {
  $("more-sheet").hidden = !open;
  $("ctl-more").setAttribute("aria-expanded", open ? "true" : "false");
  if (open) { $("more-badge").hidden = true; showPeople(false); }
}
/* The host's waiting room and participants as a sheet, on screens too narrow for a column. */
function showPeople(open) {
  root.parentNode.dataset.people = open ? "open" : "";
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
  function joinNow() {
    ["join-button", "join-camera", "join-audio"].forEach(function (id) { $(id).disabled = true; });
    setStatus(T.connecting);
    state.joinRequested = true;
    if (!state.ws) connect();
    else sendJoin();
    offerEarly();
  }
  $("join-button").addEventListener("click", joinNow);
  // The main actions (ADR 0049): devices on and into the call in one tap; a device that fails
  // shows its help and the call goes on. The join does not wait for the devices (ADR 0074):
  // the offer leaves with empty senders and the tracks follow by replaceTrack.
  $("join-camera").addEventListener("click", function () {
    $("join-camera").disabled = true;
    setBoth();
    joinNow();
  });
  $("join-audio").addEventListener("click", function () {
    $("join-audio").disabled = true;
    setAudioOnly(true);
    setMic(true);
    joinNow();
  });
  $("ctl-mic").addEventListener("click", function () { setMic(!state.micOn); });
  $("ctl-camera").addEventListener("click", function () { setCamera(!state.camOn); });
  $("ctl-audio-only").addEventListener("click", function () { setAudioOnly(!state.audioOnly); });
  $("ctl-flip").addEventListener("click", function () { flipCamera(); });
  $("ctl-more").addEventListener("click", function () { sheet($("more-sheet").hidden); });
  $("sheet-close").addEventListener("click", function () { sheet(false); $("ctl-more").focus(); });
  var people = $("ctl-people");
  if (people) people.addEventListener("click", function () { sheet(false); showPeople(true); });
  if (navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia && !/Android|iPhone|iPad/i.test(navigator.userAgent)) {
    $("ctl-screen").hidden = false;
    $("ctl-screen").addEventListener("click", function () { setScreen(!state.screen); });
  }
  $("ctl-leave").addEventListener("click", function () {
    send({ type: "leave" });
    over("left", T.left);
  });
  $("rejoin-button").addEventListener("click", function () { location.reload(); });
  $("chat-form").addEventListener("submit", function (event) {
    event.preventDefault();
    chat().then(function (m) { m.sendChat(); });
  });
  var pick = $("chat-file"); // photos and PDFs in the chat (ADR 0057)
  if (pick) pick.addEventListener("change", function () { chat().then(function (m) { m.sendFiles(pick); }); });
  window.addEventListener("online", restartAll);
  if (navigator.connection && navigator.connection.addEventListener) {
    navigator.connection.addEventListener("change", restartAll);
  }
  setInterval(probe, 25000); // keep-alive, and a hung socket is replaced
  // Fresh TURN credentials for later ICE restarts.
  setInterval(function () { send({ type: "ice_servers" }); }, 600000);
  /* Close every connection on leaving: their TURN allocations would otherwise count
   * against coturn's user-quota for 10 min. */
  window.addEventListener("pagehide", function () {
    if (state.phase === "in-call") send({ type: "leave" });
    state.peers.forEach(function (peer) { try { peer.pc.close(); } catch (e) { /* closed */ } });
    dropSpare();
  });
  window.addEventListener("pageshow", function (event) { if (event.persisted) location.reload(); });
}

if (root && config) {
  // The socket first: its handshake and "hello" run while the page wires up (ADR 0094).
  // Opened early by the join link (ADR 0057): the pre-join check now, the socket at opening.
  if (config.opensIn) import(config.opening).then(function (m) { m.whenOpen(config.opensIn, function () { connect(handle); }); });
  else connect(handle);
  wire();
  setPhase("prejoin");
  syncButtons();
  later(function () { listDevices().catch(noop); });

  /* Read-only hook for tests and benchmarks. */
  window.sprechstundeCall = Object.freeze({
    phase: function () { return state.phase; },
    me: function () { return state.me; },
    peerIds: function () { return Array.from(state.peers.keys()); },
    peerConnection: function (id) { var p = state.peers.get(id); return p ? p.pc : null; },
    sas: function () { var out = {}; state.peers.forEach(function (p, id) { out[id] = p.sas; }); return out; },
    stats: snapshot,
    collectStats: collectStats,
    roster: function () { return state.roster.slice(); },
    quality: function () { return state.quality; },
    spareReady: function () { return !!state.spare; }
  });
}
