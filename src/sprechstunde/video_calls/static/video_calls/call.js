/* Video call page: pre-join check, waiting room, full-mesh WebRTC with perfect negotiation,
 * trickle ICE, verification codes (SAS), chat, screen sharing, quality adaptation.
 * No libraries. Strings come from the template (json_script "call-config").
 * Read-only test hook: window.sprechstundeCall (see docs/video-verification.md). */
(function () {
  "use strict";
  var root = document.getElementById("call");
  var configNode = document.getElementById("call-config");
  if (!root || !configNode) return;
  var config = JSON.parse(configNode.textContent);
  var T = config.texts || {};
  function $(id) { return document.getElementById(id); }

  var VIDEO = { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15, max: 15 } };
  var BITRATE = { good: 250000, fair: 150000, poor: 90000 };
  var RESTART_GRACE_MS = 2000;
  var PEER_GONE_MS = 20000;
  // The later of two pages offers; the earlier one offers itself only if nothing came by then.
  var OFFER_WAIT_MS = 3000;

  var state = {
    phase: "prejoin",
    me: config.me,
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

  function randomHex(bytes) {
    var a = new Uint8Array(bytes);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  function setStatus(text) { $("call-status").textContent = text || ""; }
  function setPhase(phase) {
    state.phase = phase;
    root.dataset.phase = phase;
    $("prejoin").hidden = phase !== "prejoin";
    $("waiting-room").hidden = phase !== "waiting";
    $("in-call").hidden = phase !== "in-call";
    $("call-over").hidden = ["left", "ended", "refused"].indexOf(phase) < 0;
  }
  function pressed(button, on) { if (button) button.setAttribute("aria-pressed", on ? "true" : "false"); }

  /* ---------- local media ---------- */

  function deviceHelp(error) {
    var help = $("device-help");
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") help.textContent = T.denied;
    else if (name === "NotFoundError" || name === "OverconstrainedError") help.textContent = T.noDevice;
    else help.textContent = T.deviceError;
    help.hidden = false;
  }

  function listDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return Promise.resolve();
    return navigator.mediaDevices.enumerateDevices().then(function (devices) {
      fill($("camera-select"), devices.filter(function (d) { return d.kind === "videoinput"; }), T.camera);
      fill($("mic-select"), devices.filter(function (d) { return d.kind === "audioinput"; }), T.microphone);
    });
  }
  function fill(select, devices, label) {
    var chosen = select.value;
    select.textContent = "";
    devices.forEach(function (d, i) {
      var option = document.createElement("option");
      option.value = d.deviceId;
      option.textContent = d.label || label + " " + (i + 1);
      select.appendChild(option);
    });
    if (chosen) select.value = chosen;
  }

  /* Asks for the given kinds ("audio", "video") in ONE getUserMedia call: one permission
   * prompt and one device start instead of two in a row. Resolves to {audio, video} tracks. */
  function getTracks(kinds) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.reject({ name: "NotFoundError" });
    }
    var constraints = {};
    if (kinds.indexOf("audio") >= 0) {
      constraints.audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
      if ($("mic-select").value) constraints.audio.deviceId = { exact: $("mic-select").value };
    }
    if (kinds.indexOf("video") >= 0) {
      constraints.video = Object.assign({}, VIDEO);
      if ($("camera-select").value) constraints.video.deviceId = { exact: $("camera-select").value };
    }
    return navigator.mediaDevices.getUserMedia(constraints).then(function (stream) {
      $("device-help").hidden = true;
      // Device names become readable only now; fill the lists without waiting for them.
      listDevices().catch(noop);
      return { audio: stream.getAudioTracks()[0] || null, video: stream.getVideoTracks()[0] || null };
    });
  }
  function getTrack(kind) {
    return getTracks([kind]).then(function (tracks) { return tracks[kind]; });
  }

  function useMic(track) {
    state.mic = track;
    state.micOn = true;
    meter(track);
  }
  function useCam(track) {
    if (state.cam) state.cam.stop();
    state.cam = track;
    state.camOn = true;
    if (state.audioOnly) setAudioOnly(false);
  }

  /* Pre-join "camera and microphone": both devices in one request. */
  function setBoth() {
    var kinds = [];
    if (!state.camOn) kinds.push("video");
    if (!(state.micOn && state.mic && state.mic.readyState === "live")) kinds.push("audio");
    if (!kinds.length) return Promise.resolve();
    return getTracks(kinds).then(function (tracks) {
      if (tracks.video) useCam(tracks.video);
      if (tracks.audio) useMic(tracks.audio);
      refreshLocalStream();
      replaceSenders();
      syncButtons();
    }, function (error) { deviceHelp(error); syncButtons(); });
  }

  function sendVideoTrack() {
    if (state.screen) return state.screen;
    return state.camOn && !state.audioOnly ? state.cam : null;
  }
  function refreshLocalStream() {
    state.localStream.getTracks().forEach(function (t) { state.localStream.removeTrack(t); });
    if (state.mic) state.localStream.addTrack(state.mic);
    var video = sendVideoTrack();
    if (video) state.localStream.addTrack(video);
    var view = video ? new MediaStream([video]) : null;
    $("preview").srcObject = view;
    $("self-video").srcObject = view;
  }
  function replaceSenders() {
    state.peers.forEach(function (peer) {
      if (peer.audioT) peer.audioT.sender.replaceTrack(state.mic && state.micOn ? state.mic : null).catch(noop);
      if (peer.videoT) peer.videoT.sender.replaceTrack(sendVideoTrack()).catch(noop);
    });
    announceMedia();
  }
  function noop() {}

  function setCamera(on) {
    if (!on) {
      if (state.cam) state.cam.stop();
      state.cam = null;
      state.camOn = false;
      refreshLocalStream();
      replaceSenders();
      syncButtons();
      return Promise.resolve();
    }
    return getTrack("video").then(function (track) {
      useCam(track);
      refreshLocalStream();
      replaceSenders();
      syncButtons();
    }, function (error) { deviceHelp(error); syncButtons(); });
  }

  function setMic(on) {
    if (!on) {
      state.micOn = false;
      if (state.mic) state.mic.enabled = false;
      replaceSenders();
      syncButtons();
      return Promise.resolve();
    }
    if (state.mic && state.mic.readyState === "live") {
      state.mic.enabled = true;
      state.micOn = true;
      replaceSenders();
      syncButtons();
      return Promise.resolve();
    }
    return getTrack("audio").then(function (track) {
      useMic(track);
      refreshLocalStream();
      replaceSenders();
      syncButtons();
    }, function (error) { deviceHelp(error); syncButtons(); });
  }

  var meterContext = null;
  function meter(track) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    if (!meterContext) meterContext = new Ctx();
    var analyser = meterContext.createAnalyser();
    analyser.fftSize = 512;
    meterContext.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    var data = new Uint8Array(analyser.fftSize);
    var level = $("mic-level");
    var timer = setInterval(function () {
      if (track.readyState !== "live") { clearInterval(timer); level.value = 0; return; }
      analyser.getByteTimeDomainData(data);
      var peak = 0;
      for (var i = 0; i < data.length; i++) peak = Math.max(peak, Math.abs(data[i] - 128));
      level.value = track.enabled ? Math.min(1, peak / 64) : 0;
      level.textContent = String(Math.round(level.value * 100));
    }, 100);
  }

  function setAudioOnly(on) {
    state.audioOnly = on;
    $("audio-only").checked = on;
    if (on && state.cam) { state.cam.stop(); state.cam = null; state.camOn = false; }
    state.peers.forEach(function (peer) {
      if (peer.videoT) peer.videoT.direction = on ? "inactive" : "sendrecv";
    });
    $("audio-only-hint").hidden = true;
    refreshLocalStream();
    replaceSenders();
    syncButtons();
  }

  function setScreen(on) {
    if (!on) {
      if (state.screen) state.screen.stop();
      state.screen = null;
      refreshLocalStream();
      replaceSenders();
      syncButtons();
      return;
    }
    navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 5 }, audio: false }).then(function (stream) {
      state.screen = stream.getVideoTracks()[0];
      state.screen.onended = function () { setScreen(false); };
      if (state.audioOnly) setAudioOnly(false);
      refreshLocalStream();
      replaceSenders();
      syncButtons();
    }, noop);
  }

  function syncButtons() {
    pressed($("prejoin-camera"), state.camOn);
    pressed($("prejoin-mic"), state.micOn);
    $("prejoin-both").hidden = state.camOn && state.micOn;
    pressed($("ctl-camera"), state.camOn);
    pressed($("ctl-mic"), state.micOn);
    pressed($("ctl-audio-only"), state.audioOnly);
    pressed($("ctl-screen"), !!state.screen);
  }

  /* ---------- signalling socket ---------- */

  function send(frame) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
  }

  /* The socket is opened while the pre-join check is shown ("lobby": authorised, given ICE
   * servers, seen by nobody); the join click then costs one frame over an open socket.
   * After a drop it reconnects straight into the call if the page had joined. */
  function connect() {
    if (state.stopped) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var lobby = !state.joinRequested;
    var ws = new WebSocket(scheme + location.host + config.ws + "?s=" + state.session + (lobby ? "&m=lobby" : ""));
    state.ws = ws;
    state.hello = false;
    ws.onopen = function () {
      state.backoff = 300;
      if (lobby) sendJoin();
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      handle(frame);
    };
    ws.onclose = function (event) {
      if (state.ws !== ws) return;
      state.ws = null;
      state.hello = false;
      if (state.stopped || event.code === 4403 || event.code === 4410) return;
      setStatus(T.reconnecting);
      setTimeout(connect, state.backoff);
      state.backoff = Math.min(state.backoff * 2, 15000);
    };
  }

  /* In the lobby the join may go as soon as the socket is open: the server answers the
   * frames of a socket in order, so it comes after "hello" anyway. Once per socket. */
  function sendJoin() {
    var ws = state.ws;
    if (!state.joinRequested || !ws || ws.readyState !== WebSocket.OPEN || ws.joinSent) return;
    ws.joinSent = true;
    send({ type: "join" });
  }

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
      case "roster": onRoster(frame.participants, frame.locked); break;
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

  function useIce(frame) {
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
  function prewarm() {
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
  function dropSpare() {
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

  function applyIce(peer) {
    try {
      // The pool size cannot change after the first offer: keep the one the connection has.
      peer.pc.setConfiguration(rtcConfig(peer.pc.getConfiguration().iceCandidatePoolSize || 0));
    } catch (e) { /* an older browser keeps its configuration until the next call */ }
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
    if (participants.length) onRoster(participants, state.locked);
  }

  function over(phase, text) {
    state.stopped = true;
    state.peers.forEach(closePeer);
    [state.cam, state.mic, state.screen].forEach(function (t) { if (t) t.stop(); });
    state.cam = state.mic = state.screen = null;
    state.camOn = state.micOn = false;
    if (state.ws) { var ws = state.ws; state.ws = null; ws.close(); }
    dropSpare();
    setPhase(phase);
    $("call-over-text").textContent = text || "";
    $("rejoin-button").hidden = phase !== "left";
    setStatus(text || "");
  }

  /* ---------- roster and waiting room ---------- */

  function onRoster(list, locked) {
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
    renderHost(list);
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

  function onSignal(frame) {
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

  function restart(peer) {
    if (peer.pc.signalingState === "closed") return;
    peer.pc.restartIce();
  }
  /* The network changed (online / connection change): restart ICE at once with the
   * credentials at hand (valid for hours), and ask for fresh ones for later restarts. */
  function restartAll() {
    state.peers.forEach(restart);
    if (state.spare) { dropSpare(); setTimeout(prewarm, 1000); }
    send({ type: "ice_servers" });
  }

  function closePeer(peer) {
    clearTimeout(peer.goneTimer);
    clearTimeout(peer.restartTimer);
    try { peer.pc.close(); } catch (e) { /* already closed */ }
    if (peer.tile && peer.tile.parentNode) peer.tile.parentNode.removeChild(peer.tile);
    if (state.peers.get(peer.id) === peer) state.peers.delete(peer.id);
  }

  function tile(peer, name) {
    var figure = document.createElement("figure");
    figure.className = "tile";
    figure.dataset.peer = peer.id;
    var video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    figure.appendChild(video);
    var caption = document.createElement("figcaption");
    var who = document.createElement("span");
    who.className = "tile__name";
    caption.appendChild(who);
    var quality = document.createElement("span");
    quality.className = "tile__quality";
    quality.dataset.quality = "unknown";
    caption.appendChild(quality);
    var sas = document.createElement("span");
    sas.className = "tile__sas";
    sas.dataset.sas = "";
    caption.appendChild(sas);
    figure.appendChild(caption);
    $("tiles").appendChild(figure);
    peer.tile = figure;
    label(peer, name);
  }
  function label(peer, name) {
    if (name) peer.tile.querySelector(".tile__name").textContent = name;
    var video = peer.tile.querySelector("video");
    video.setAttribute("aria-label", name || "");
  }

  /* ---------- verification code (SAS) ---------- */

  function fingerprint(sdp) {
    var match = /a=fingerprint:(\S+) ([0-9A-Fa-f:]+)/.exec(sdp || "");
    return match ? match[1].toLowerCase() + " " + match[2].toUpperCase() : "";
  }
  function computeSas(peer) {
    var pc = peer.pc;
    var local = fingerprint(pc.localDescription && pc.localDescription.sdp);
    var remote = fingerprint(pc.remoteDescription && pc.remoteDescription.sdp);
    if (!local || !remote || !crypto.subtle) return;
    var input = new TextEncoder().encode([local, remote].sort().join("|"));
    crypto.subtle.digest("SHA-256", input).then(function (buffer) {
      var b = new Uint8Array(buffer);
      var n = ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
      var digits = String(n % 1000000).padStart(6, "0");
      peer.sas = digits.slice(0, 3) + " " + digits.slice(3);
      var node = peer.tile.querySelector(".tile__sas");
      node.dataset.sas = peer.sas;
      node.textContent = T.code + " " + peer.sas;
    });
  }

  /* ---------- stats, quality indicator, adaptation ---------- */

  var statsTimer = null;
  function startStatsLoop() {
    if (statsTimer) return;
    statsTimer = setInterval(function () { collectStats(); }, 2000);
  }

  function collectStats() {
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

  function adapt(peer, quality, force) {
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

  function snapshot() {
    var peers = {};
    state.peers.forEach(function (p, id) {
      peers[id] = Object.assign({ sas: p.sas, quality: p.quality, cid: p.cid }, p.stats);
    });
    return peers;
  }

  /* ---------- chat and media indicators ---------- */

  function onChat(frame) {
    var li = document.createElement("li");
    li.className = "call-chat__line" + (frame.from === state.me ? " call-chat__line--own" : "");
    var who = document.createElement("strong");
    who.textContent = (frame.from === state.me ? T.you : frame.name) + ": ";
    li.appendChild(who);
    li.appendChild(document.createTextNode(frame.text));
    $("chat-log").appendChild(li);
    li.scrollIntoView({ block: "nearest" });
  }
  function onMedia(frame) {
    var peer = state.peers.get(frame.from);
    if (!peer) return;
    if (typeof frame.audio === "boolean") peer.tile.dataset.audio = frame.audio ? "on" : "off";
    if (typeof frame.video === "boolean") peer.tile.dataset.video = frame.video ? "on" : "off";
  }
  function announceMedia() {
    if (state.phase === "in-call") send({ type: "media", audio: !!(state.mic && state.micOn), video: !!sendVideoTrack() });
  }

  /* ---------- wiring ---------- */

  $("prejoin-camera").addEventListener("click", function () { setCamera(!state.camOn); });
  $("prejoin-mic").addEventListener("click", function () { setMic(!state.micOn); });
  $("prejoin-both").addEventListener("click", function () { setBoth(); });
  $("camera-select").addEventListener("change", function () { if (state.camOn) setCamera(true); });
  $("mic-select").addEventListener("change", function () {
    if (state.mic) { state.mic.stop(); state.mic = null; }
    if (state.micOn) setMic(true);
  });
  $("audio-only").addEventListener("change", function (event) { setAudioOnly(event.target.checked); });
  function joinNow() {
    ["join-button", "join-camera", "join-audio"].forEach(function (id) { $(id).disabled = true; });
    setStatus(T.connecting);
    state.joinRequested = true;
    if (!state.ws) connect();
    else sendJoin();
    // else: the lobby socket is still opening; it sends the join once open.
  }
  $("join-button").addEventListener("click", joinNow);
  /* The main actions: devices on and into the call (or the waiting room) in one tap. A
   * device that fails shows its help and the join goes on (chat still works). */
  $("join-camera").addEventListener("click", function () {
    $("join-camera").disabled = true;
    setBoth().then(joinNow, joinNow);
  });
  $("join-audio").addEventListener("click", function () {
    $("join-audio").disabled = true;
    setAudioOnly(true);
    setMic(true).then(joinNow, joinNow);
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
  var end = $("ctl-end");
  if (end) end.addEventListener("click", function () { if (window.confirm(T.confirmEnd)) send({ type: "end" }); });
  var admitAll = $("admit-all");
  if (admitAll) admitAll.addEventListener("click", function () { send({ type: "admit_all" }); });
  var lock = $("lock-call");
  if (lock) lock.addEventListener("click", function () { send({ type: "lock", locked: !state.locked }); });
  $("chat-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("chat-text");
    var text = input.value.trim();
    if (!text) return;
    send({ type: "chat", text: text });
    input.value = "";
  });
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

  setPhase("prejoin");
  syncButtons();
  listDevices().catch(noop);
  connect();

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
})();
