/* Stats every 2 s: the quality indicator, the "switch to audio only" hint, and the video
 * sender's bitrate, frame rate and resolution adapted to the link. */
import { $, BITRATE, noop, state, T } from "./state.js";

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
      } else if (r.type === "transport" && r.selectedCandidatePairId) {
        pairId = r.selectedCandidatePairId;
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
    var quality = judge(s, peer);
    peer.quality = quality;
    var node = peer.tile.querySelector(".tile__quality");
    node.dataset.quality = quality;
    node.textContent = T.qualities[quality] || "";
    adapt(peer, quality, false);
  }).catch(noop);
}

function judge(s, peer) {
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
