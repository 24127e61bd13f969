/* Peer connections: full mesh with perfect negotiation, trickle ICE, a connection made ahead
 * of time ("spare"), who offers to whom from the roster, and ICE restarts. */
import { label, tile, untile } from "./layout.js";
import { sendVideoTrack } from "./media.js";
import { send } from "./signalling.js";
import { BITRATE, noop, randomHex, setStatus, state, T } from "./state.js";
import { adapt } from "./stats.js";
import { computeSas } from "./verification.js";

var RESTART_GRACE_MS = 2000;
var PEER_GONE_MS = 20000;
// The later of two pages offers; the earlier one offers itself only if nothing came by then.
var OFFER_WAIT_MS = 3000;

export function useIce(frame) {
  if (frame.ice_servers) state.iceServers = frame.ice_servers;
  if (frame.ice_transport_policy) state.policy = frame.ice_transport_policy;
}
/* A peer connection made ahead of time, taken by the next peer this page offers to; the
 * first one is made while the pre-join check is still shown. Its TURN allocation is
 * gathered in advance (candidate pool), and its first offer is made in advance too:
 * transceivers for audio and video with no track yet (the devices' tracks replace the empty
 * ones without a renegotiation), then the local description, so the offer can leave as soon
 * as the server names the peer. Candidates found before then wait in spare.held.
 * A page answering an offer makes a fresh connection: Chromium does not use the pool then. */
export function prewarm() {
  if (state.spare || state.stopped || !window.RTCPeerConnection) return;
  var spare = { pc: null, held: [], audioT: null, videoT: null, ready: null };
  try {
    spare.pc = new RTCPeerConnection(rtcConfig(1));
    addTransceivers(spare, spare.pc);
  } catch (e) {
    if (spare.pc) spare.pc.close();
    return;
  }
  spare.pc.onicecandidate = function (event) {
    spare.held.push(event.candidate ? event.candidate.toJSON() : null);
  };
  var pc = spare.pc;
  spare.ready = pc.setLocalDescription().then(function () {
    return pc.signalingState === "have-local-offer";
  }, function () { return false; });
  state.spare = spare;
}
export function dropSpare() {
  if (!state.spare) return;
  try { state.spare.pc.close(); } catch (e) { /* closed already */ }
  state.spare = null;
}
function takeSpare() {
  var spare = state.spare;
  state.spare = null;
  if (!spare || spare.pc.signalingState === "closed") return null;
  setTimeout(prewarm, 1000); // the next one, for a further participant
  return spare;
}
function addTransceivers(holder, pc) {
  holder.audioT = pc.addTransceiver(state.mic && state.micOn ? state.mic : "audio", {
    direction: "sendrecv", streams: [state.localStream]
  });
  holder.videoT = pc.addTransceiver(sendVideoTrack() || "video", {
    direction: state.audioOnly ? "inactive" : "sendrecv",
    streams: [state.localStream],
    sendEncodings: [{ maxBitrate: BITRATE.good, maxFramerate: 15 }]
  });
}
/* One transport for audio and video from the first offer on ("max-bundle"): one TURN
 * allocation per peer instead of one per kind of media until the answer comes. */
function rtcConfig(pool) {
  return {
    iceServers: state.iceServers, iceTransportPolicy: state.policy,
    bundlePolicy: "max-bundle", iceCandidatePoolSize: pool
  };
}

export function applyIce(peer) {
  try {
    // The pool size cannot change after the first offer: keep the one the connection has.
    peer.pc.setConfiguration(rtcConfig(peer.pc.getConfiguration().iceCandidatePoolSize || 0));
  } catch (e) { /* an older browser keeps its configuration until the next call */ }
}

/* ---------- roster: who offers to whom ---------- */

export function onRoster(list, locked) {
  state.roster = list;
  state.locked = !!locked;
  var present = new Map();
  list.forEach(function (p) {
    if (p.id !== state.me && p.state === "admitted" && p.present) present.set(p.id, p);
  });
  present.forEach(function (p) {
    var peer = state.peers.get(p.id);
    if (peer && peer.session && p.session && peer.session !== p.session) { closePeer(peer); peer = null; }
    if (peer) {
      if (peer.goneTimer) { clearTimeout(peer.goneTimer); peer.goneTimer = null; }
      peer.session = p.session;
      label(peer, p.name);
    } else if (offersTo(p, list)) {
      initiate(p);
    } else {
      awaitOffer(p);
    }
  });
  var listed = new Set(list.map(function (p) { return p.id; }));
  state.peers.forEach(function (peer, id) {
    if (!listed.has(id)) {
      closePeer(peer); // removed from the call: hang up at once
    } else if (!present.has(id) && !peer.goneTimer) {
      // Connection lost: keep the media path a while, it may come back after a network change.
      peer.goneTimer = setTimeout(function () { closePeer(peer); }, PEER_GONE_MS);
    }
  });
}

/* Who makes the first offer between two pages: the one that connected later (the server's
 * "joined" order), so a newcomer offers as soon as it is in, one signalling hop before
 * the others would have heard of it. Both pages decide from the same server order; ties
 * (an older server) fall back to the lower participant id. */
function offersTo(p, list) {
  var mine = list.filter(function (x) { return x.id === state.me; })[0];
  if (mine && mine.joined && p.joined && mine.joined !== p.joined) return mine.joined > p.joined;
  return state.me < p.id;
}
/* The newcomer's offer is on its way; should it never come (a page of an older version,
 * a race between two roster pushes), offer from here after a while. */
function awaitOffer(p) {
  if (state.offerWaits.has(p.id)) return;
  state.offerWaits.set(p.id, setTimeout(function () {
    state.offerWaits.delete(p.id);
    if (state.stopped || state.phase !== "in-call" || state.peers.has(p.id)) return;
    var now = state.roster.filter(function (x) { return x.id === p.id; })[0];
    if (now && now.state === "admitted" && now.present) initiate(now);
  }, OFFER_WAIT_MS));
}

/* ---------- peer connections (perfect negotiation) ---------- */

function makePeer(id, cid, spare) {
  clearTimeout(state.offerWaits.get(id));
  state.offerWaits.delete(id);
  var pc = spare ? spare.pc : new RTCPeerConnection(rtcConfig(0));
  var peer = {
    id: id, cid: cid, pc: pc, polite: state.me > id, makingOffer: false, ignoreOffer: false,
    stream: new MediaStream(), queue: Promise.resolve(), audioT: null, videoT: null,
    sas: "", stats: {}, quality: "unknown", session: "", goneTimer: null, restartTimer: null,
    bitrate: 0, initiator: false, held: spare ? spare.held : null
  };
  var known = state.roster.filter(function (p) { return p.id === id; })[0];
  if (known) peer.session = known.session;
  state.peers.set(id, peer);
  tile(peer, known ? known.name : "");
  pc.onicecandidate = function (event) {
    var candidate = event.candidate ? event.candidate.toJSON() : null;
    if (peer.held) peer.held.push(candidate); // the offer has not left yet
    else sendCandidate(peer, candidate);
  };
  pc.onnegotiationneeded = function () { makeOffer(peer); };
  pc.ontrack = function (event) {
    peer.stream.addTrack(event.track);
    var video = peer.tile.querySelector("video");
    if (video.srcObject !== peer.stream) video.srcObject = peer.stream;
    video.play().catch(noop);
  };
  pc.onsignalingstatechange = function () { if (pc.signalingState === "stable") computeSas(peer); };
  pc.oniceconnectionstatechange = function () {
    var s = pc.iceConnectionState;
    if (s === "disconnected") {
      clearTimeout(peer.restartTimer);
      peer.restartTimer = setTimeout(function () {
        if (pc.iceConnectionState === "disconnected" || pc.iceConnectionState === "failed") restart(peer);
      }, RESTART_GRACE_MS);
    } else if (s === "failed") {
      restart(peer);
    } else if (s === "connected" || s === "completed") {
      clearTimeout(peer.restartTimer);
    }
    peer.tile.dataset.ice = s;
  };
  pc.onconnectionstatechange = function () { peer.tile.dataset.connection = pc.connectionState; };
  return peer;
}

function initiate(p) {
  var spare = takeSpare();
  var peer = makePeer(p.id, randomHex(8), spare);
  peer.initiator = true;
  peer.bitrate = BITRATE.good;
  var pc = peer.pc;
  if (spare) {
    // The tracks and settings of now; a changed direction (audio only) is negotiated
    // after this first exchange ("negotiationneeded").
    peer.audioT = spare.audioT;
    peer.videoT = spare.videoT;
    peer.audioT.sender.replaceTrack(state.mic && state.micOn ? state.mic : null).catch(noop);
    peer.videoT.sender.replaceTrack(sendVideoTrack()).catch(noop);
    peer.videoT.direction = state.audioOnly ? "inactive" : "sendrecv";
    peer.makingOffer = true;
    spare.ready.then(function (ready) {
      peer.makingOffer = false;
      if (pc.signalingState === "closed") return;
      if (ready && pc.signalingState === "have-local-offer") sendDescription(peer);
      // Made in advance but failed: offer now, unless the peer's own offer came first.
      else if (pc.signalingState === "stable" && !pc.remoteDescription) makeOffer(peer);
      releaseCandidates(peer);
    });
    return;
  }
  addTransceivers(peer, pc);
  // The first offer goes at once instead of one task later from "negotiationneeded"
  // (between the two the browser may render the page); that event then finds the offer
  // made and stays silent, and it still drives every later renegotiation.
  if (pc.signalingState === "stable" && !peer.makingOffer) makeOffer(peer);
}

function makeOffer(peer) {
  var pc = peer.pc;
  peer.makingOffer = true;
  pc.setLocalDescription().then(function () {
    sendDescription(peer);
  }).catch(noop).then(function () { peer.makingOffer = false; });
}
function sendDescription(peer) {
  var d = peer.pc.localDescription;
  send({ type: "signal", to: peer.id, cid: peer.cid, description: { type: d.type, sdp: d.sdp } });
}
function sendCandidate(peer, candidate) {
  send({ type: "signal", to: peer.id, cid: peer.cid, candidate: candidate });
}
/* Candidates gathered by a spare before its offer left: after the offer, in order. */
function releaseCandidates(peer) {
  var held = peer.held;
  peer.held = null;
  if (held) held.forEach(function (c) { sendCandidate(peer, c); });
}

function attachLocal(peer) {
  peer.pc.getTransceivers().forEach(function (t) {
    var kind = t.receiver.track && t.receiver.track.kind;
    if (kind === "audio" && !peer.audioT) {
      peer.audioT = t;
      t.direction = "sendrecv";
      t.sender.replaceTrack(state.mic && state.micOn ? state.mic : null).catch(noop);
      t.sender.setStreams(state.localStream);
    } else if (kind === "video" && !peer.videoT) {
      peer.videoT = t;
      t.direction = state.audioOnly ? "inactive" : "sendrecv";
      t.sender.replaceTrack(sendVideoTrack()).catch(noop);
      t.sender.setStreams(state.localStream);
    }
  });
}

export function onSignal(frame) {
  var peer = state.peers.get(frame.from);
  if (frame.description && frame.description.type === "offer" && (!peer || peer.cid !== frame.cid)) {
    // Both pages offered a first connection at once (each thought the other was older):
    // the impolite one keeps its own, the polite one takes the other's (as in perfect
    // negotiation). Otherwise an offer with a new cid replaces the connection (a reload).
    // The impolite one sends its offer again: the other page's offer may be its fallback
    // because ours never reached it, and it would then wait for an answer for ever.
    if (peer && peer.initiator && !peer.polite && !peer.pc.remoteDescription) {
      var mine = peer.pc.localDescription;
      if (mine && mine.type === "offer") sendDescription(peer);
      return;
    }
    if (peer) closePeer(peer);
    peer = makePeer(frame.from, frame.cid);
  }
  if (!peer || peer.cid !== frame.cid) return;
  peer.queue = peer.queue.then(function () { return applySignal(peer, frame); }).catch(noop);
}

function applySignal(peer, frame) {
  var pc = peer.pc;
  if (pc.signalingState === "closed") return null;
  if (frame.description) {
    var d = frame.description;
    // The same offer again (see onSignal; a renegotiation has a new origin version): done.
    if (d.type === "offer" && pc.remoteDescription && origin(pc.remoteDescription.sdp) === origin(d.sdp)) return null;
    var collision = d.type === "offer" && (peer.makingOffer || pc.signalingState !== "stable");
    peer.ignoreOffer = !peer.polite && collision;
    if (peer.ignoreOffer) return null;
    return pc.setRemoteDescription(d).then(function () {
      if (d.type !== "offer") return null;
      attachLocal(peer);
      return pc.setLocalDescription().then(function () { sendDescription(peer); });
    }).then(function () { adapt(peer, peer.quality, true); });
  }
  if (frame.candidate) {
    return pc.addIceCandidate(frame.candidate).catch(function (error) {
      if (!peer.ignoreOffer) setStatus(T.connectionProblem);
      return error;
    });
  }
  return null;
}

function origin(sdp) {
  var line = /^o=.*$/m.exec(sdp || "");
  return line ? line[0].trim() : "";
}

export function restart(peer) {
  if (peer.pc.signalingState === "closed") return;
  peer.pc.restartIce();
}
/* The network changed (online / connection change): restart ICE at once with the
 * credentials at hand (valid for hours), and ask for fresh ones for later restarts. */
export function restartAll() {
  state.peers.forEach(restart);
  if (state.spare) { dropSpare(); setTimeout(prewarm, 1000); }
  send({ type: "ice_servers" });
}

export function closePeer(peer) {
  clearTimeout(peer.goneTimer);
  clearTimeout(peer.restartTimer);
  try { peer.pc.close(); } catch (e) { /* already closed */ }
  untile(peer);
  if (state.peers.get(peer.id) === peer) state.peers.delete(peer.id);
}
