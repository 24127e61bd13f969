/* Peer connections: full mesh, perfect negotiation, trickle ICE, a spare made ahead, who
 * offers to whom, ICE restarts. Why it is done so: ADR 0022 and 0033. */
import { label, tile, untile } from "./layout.js";
import { sendVideoTrack } from "./media.js";
import { $, BITRATE, later, noop, probe, randomHex, root, send, setStatus, state, T } from "./signalling.js";

var RESTART_GRACE_MS = 2000;
var PEER_GONE_MS = 20000;
var OFFER_WAIT_MS = 3000;

export function useIce(frame) {
  if (frame.ice_servers) state.iceServers = frame.ice_servers;
  if (frame.ice_transport_policy) state.policy = frame.ice_transport_policy;
  if (frame.ice_servers && state.answerPc) { // made with the old credentials
    state.answerPc.close();
    state.answerPc = null;
    later(prepareAnswer);
  }
}
/* The spare: TURN allocation and first offer made in advance, taken by the next peer this
 * page offers to; its candidates wait in spare.held (ADR 0033). */
export function prewarm() {
  if (state.spare || state.stopped || !window.RTCPeerConnection) return;
  // Not while camera and microphone start: the first connection slows them (ADR 0055);
  // but once the join is asked for, the offer waits for this connection (ADR 0094).
  if (state.asking && !state.joinRequested) {
    state.asking.then(soon, soon);
    return;
  }
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
function soon() { setTimeout(prewarm, 0); }
export function dropSpare() {
  if (state.answerPc) { state.answerPc.close(); state.answerPc = null; }
  if (!state.spare) return;
  try { state.spare.pc.close(); } catch (e) { /* closed already */ }
  state.spare = null;
}
/* The answering side's connection, made ahead for the next offer of a newcomer: the offer
 * lands on a connection that exists (no TURN allocation before the answer; ADR 0094). */
export function prepareAnswer() {
  if (state.answerPc || state.stopped || state.phase !== "in-call" || !window.RTCPeerConnection) return;
  try { state.answerPc = new RTCPeerConnection(rtcConfig(0)); } catch (e) { state.answerPc = null; }
}
function takeAnswerPc() {
  var pc = state.answerPc;
  state.answerPc = null;
  later(prepareAnswer);
  return pc && pc.signalingState === "stable" ? pc : null;
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
/* max-bundle: one TURN allocation per peer, not one per kind of media. */
function rtcConfig(pool) {
  return {
    iceServers: state.iceServers, iceTransportPolicy: state.policy,
    bundlePolicy: "max-bundle", iceCandidatePoolSize: pool
  };
}

/* Admitted before, and the hello said who is there: the first offers leave right behind
 * the join instead of after the welcome's round trip; the welcome's roster then keeps or
 * closes them (ADR 0094). Once per socket, only before the call has started. */
export function offerEarly() {
  var list = state.early;
  var ws = state.ws;
  if (!list || !ws || !ws.joinSent || ws.offeredEarly || state.phase !== "prejoin" || state.peers.size) return;
  ws.offeredEarly = true;
  state.early = null;
  state.roster = list;
  list.forEach(function (p) {
    if (p.id !== state.me && p.state === "admitted" && p.present) initiate(p);
  });
}

export function applyIce(peer) {
  try {
    // The pool size cannot change after the first offer.
    peer.pc.setConfiguration(rtcConfig(peer.pc.getConfiguration().iceCandidatePoolSize || 0));
  } catch (e) { /* an older browser keeps its configuration until the next call */ }
}

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
      prepareAnswer();
      awaitOffer(p);
    }
  });
  var listed = new Set(list.map(function (p) { return p.id; }));
  state.peers.forEach(function (peer, id) {
    if (!listed.has(id)) {
      closePeer(peer); // removed from the call: hang up at once
    } else if (!present.has(id) && !peer.goneTimer) {
      // Its socket is gone: keep the media a while, it may be a network change.
      peer.goneTimer = setTimeout(function () { closePeer(peer); }, PEER_GONE_MS);
    }
  });
}

/* The later page (server's "joined" order) makes the first offer; ties: the lower id. */
function offersTo(p, list) {
  var mine = list.filter(function (x) { return x.id === state.me; })[0];
  if (mine && mine.joined && p.joined && mine.joined !== p.joined) return mine.joined > p.joined;
  return state.me < p.id;
}
/* Should the newcomer's offer never come, offer from here after a while. */
function awaitOffer(p) {
  if (state.offerWaits.has(p.id)) return;
  state.offerWaits.set(p.id, setTimeout(function () {
    state.offerWaits.delete(p.id);
    if (state.stopped || state.phase !== "in-call" || state.peers.has(p.id)) return;
    var now = state.roster.filter(function (x) { return x.id === p.id; })[0];
    if (now && now.state === "admitted" && now.present) initiate(now);
  }, OFFER_WAIT_MS));
}

function makePeer(id, cid, spare, made) {
  clearTimeout(state.offerWaits.get(id));
  state.offerWaits.delete(id);
  var pc = spare ? spare.pc : made || new RTCPeerConnection(rtcConfig(0));
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
  pc.onsignalingstatechange = function () {
    // The code's module is loaded only now, off the way to the first offer (ADR 0055).
    if (pc.signalingState === "stable") import("./verification.js").then(function (m) { m.computeSas(peer); });
  };
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
    // The tracks of now; a changed direction is negotiated after this first exchange.
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
  // Offer now, not a task later from "negotiationneeded" (which drives later ones).
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
/* A spare's candidates, after its offer, in order. */
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
    // Both offered at once: the impolite one keeps its own and sends it again (ADR 0033).
    // Otherwise a new cid replaces the connection (a reload).
    if (peer && peer.initiator && !peer.polite && !peer.pc.remoteDescription) {
      var mine = peer.pc.localDescription;
      if (mine && mine.type === "offer") sendDescription(peer);
      return;
    }
    if (peer) closePeer(peer);
    peer = makePeer(frame.from, frame.cid, null, takeAnswerPc());
  }
  if (!peer || peer.cid !== frame.cid) return;
  peer.queue = peer.queue.then(function () { return applySignal(peer, frame); }).catch(noop);
}

function applySignal(peer, frame) {
  var pc = peer.pc;
  if (pc.signalingState === "closed") return null;
  if (frame.description) {
    var d = frame.description;
    // The same offer again (same origin line): answered already.
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
/* The network changed: restart ICE now, and ask for fresh TURN credentials. */
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

/* ---- stats every 2 s: quality, the audio-only hint, video adapted to the link, media health ---- */

var SILENCE_MS = 3500; // no media from a peer for this long: it is down

var statsTimer = null;
export function startStatsLoop() {
  if (statsTimer) return;
  statsTimer = setInterval(function () { collectStats(); }, 2000);
}

export function collectStats() {
  var jobs = [];
  state.peers.forEach(function (peer) { jobs.push(peerStats(peer)); });
  return Promise.all(jobs).then(function () {
    var order = ["unknown", "good", "fair", "poor"];
    var worst = "unknown";
    state.peers.forEach(function (p) { if (order.indexOf(p.quality) > order.indexOf(worst)) worst = p.quality; });
    state.quality = worst;
    var q = $("quality");
    q.dataset.quality = worst;
    q.textContent = T.quality + " " + (T.qualities[worst] || "");
    var weak = state.peers.size && Array.from(state.peers.values()).some(function (p) {
      return p.stats.availableOutgoingBitrate !== undefined && p.stats.availableOutgoingBitrate < 100000;
    });
    state.weakChecks = weak ? state.weakChecks + 1 : 0;
    var down = state.phase === "in-call" && state.peers.size > 0 &&
      Array.from(state.peers.values()).every(function (p) { return p.down; });
    if (down) probe(); // is it this page's link? then the socket is dead too
    if (down !== (root.dataset.media === "down")) {
      root.dataset.media = down ? "down" : "up";
      if (state.phase === "in-call") setStatus(down ? T.reconnecting : T.inCall);
    }
    $("audio-only-hint").hidden = state.audioOnly || state.weakChecks < 3;
    return snapshot();
  });
}

function peerStats(peer) {
  if (peer.pc.signalingState === "closed") return Promise.resolve();
  return peer.pc.getStats().then(function (report) {
    var s = { framesDecoded: 0, audioPacketsReceived: 0, videoBytesReceived: 0 };
    var pairId = null;
    var pairs = {};
    var candidates = {};
    report.forEach(function (r) {
      if (r.type === "inbound-rtp" && r.kind === "video") {
        s.framesDecoded += r.framesDecoded || 0;
        s.videoBytesReceived += r.bytesReceived || 0;
        s.frameWidth = r.frameWidth;
        s.framesPerSecond = r.framesPerSecond;
      } else if (r.type === "inbound-rtp" && r.kind === "audio") {
        s.audioPacketsReceived += r.packetsReceived || 0;
        s.audioPacketsLost = r.packetsLost || 0;
      } else if (r.type === "remote-inbound-rtp") {
        if (r.fractionLost !== undefined) s.fractionLost = Math.max(s.fractionLost || 0, r.fractionLost);
        if (r.roundTripTime !== undefined) s.roundTripTime = r.roundTripTime;
      } else if (r.type === "transport") {
        s.transportBytesReceived = (s.transportBytesReceived || 0) + (r.bytesReceived || 0);
        if (r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
      } else if (r.type === "candidate-pair") {
        pairs[r.id] = r;
      } else if (r.type === "local-candidate" || r.type === "remote-candidate") {
        candidates[r.id] = r;
      }
    });
    var pair = pairId ? pairs[pairId] : null;
    if (!pair) {
      Object.keys(pairs).forEach(function (k) { if (pairs[k].nominated && pairs[k].state === "succeeded") pair = pairs[k]; });
    }
    if (pair) {
      s.availableOutgoingBitrate = pair.availableOutgoingBitrate;
      s.currentRoundTripTime = pair.currentRoundTripTime;
      var local = candidates[pair.localCandidateId];
      var remote = candidates[pair.remoteCandidateId];
      s.localCandidateType = local && local.candidateType;
      s.remoteCandidateType = remote && remote.candidateType;
    }
    s.connectionState = peer.pc.connectionState;
    peer.stats = s;
    health(peer, s);
    var quality = judge(s, peer);
    peer.quality = quality;
    var node = peer.tile.querySelector(".tile__quality");
    node.dataset.quality = quality;
    node.textContent = T.qualities[quality] || "";
    adapt(peer, quality, false);
  }).catch(noop);
}

/* A peer's media is down: ICE says so, or for a few seconds no bytes at all (RTCP flows
 * even with its devices off), or no audio while its microphone is said to be on. */
function health(peer, s) {
  var now = Date.now();
  var bytes = s.transportBytesReceived || 0;
  if (!peer.seen) peer.seen = { bytes: 0, audio: 0, bytesAt: now, audioAt: now };
  var seen = peer.seen;
  if (bytes > seen.bytes) { seen.bytes = bytes; seen.bytesAt = now; }
  if (s.audioPacketsReceived > seen.audio || peer.tile.dataset.audio !== "on") {
    seen.audio = s.audioPacketsReceived;
    seen.audioAt = now;
  }
  var ice = peer.pc.iceConnectionState;
  peer.down = ice === "disconnected" || ice === "failed" ||
    (seen.bytes > 0 && (now - seen.bytesAt > SILENCE_MS || now - seen.audioAt > SILENCE_MS));
  peer.tile.dataset.media = peer.down ? "down" : "up";
  peer.tile.querySelector(".tile__state").textContent = peer.down ? T.reconnecting : "";
}

function judge(s, peer) {
  if (peer.down) return "poor";
  if (peer.pc.connectionState !== "connected") return peer.pc.connectionState === "failed" ? "poor" : "unknown";
  var loss = s.fractionLost || 0;
  var rtt = s.currentRoundTripTime || s.roundTripTime || 0;
  var avail = s.availableOutgoingBitrate;
  if (loss > 0.1 || rtt > 1.0 || (avail !== undefined && avail < 100000)) return "poor";
  if (loss > 0.03 || rtt > 0.4 || (avail !== undefined && avail < 200000)) return "fair";
  return "good";
}

export function adapt(peer, quality, force) {
  var sender = peer.videoT && peer.videoT.sender;
  if (!sender || !sender.getParameters) return;
  var target = BITRATE[quality] || BITRATE.good;
  if (!force && target === peer.bitrate) return;
  var params = sender.getParameters();
  if (!params.encodings || !params.encodings.length) return;
  params.encodings.forEach(function (e) {
    e.maxBitrate = target;
    e.maxFramerate = quality === "poor" ? 10 : 15;
    e.scaleResolutionDownBy = quality === "poor" && !state.screen ? 2 : 1;
  });
  sender.setParameters(params).then(function () { peer.bitrate = target; }, noop);
}

export function snapshot() {
  var peers = {};
  state.peers.forEach(function (p, id) {
    peers[id] = Object.assign({ sas: p.sas, quality: p.quality, cid: p.cid }, p.stats);
  });
  return peers;
}
