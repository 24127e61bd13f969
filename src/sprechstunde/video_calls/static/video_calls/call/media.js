/* Devices and tracks: camera, microphone, audio only, screen, level; to every peer. */
import { $, later, noop, pressed, send, state, T, VIDEO } from "./signalling.js";

function deviceHelp(error) {
  var help = $("device-help");
  var name = error && error.name;
  if (name === "NotAllowedError" || name === "SecurityError") help.textContent = T.denied;
  else if (name === "NotFoundError" || name === "OverconstrainedError") help.textContent = T.noDevice;
  else help.textContent = T.deviceError;
  help.hidden = false;
}

export function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return Promise.resolve();
  return navigator.mediaDevices.enumerateDevices().then(function (devices) {
    var cameras = devices.filter(function (d) { return d.kind === "videoinput"; });
    fill($("camera-select"), cameras, T.camera);
    $("ctl-flip").hidden = cameras.length < 2;
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

/* Both kinds in ONE getUserMedia call: one prompt, one device start. */
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
  var asking = navigator.mediaDevices.getUserMedia(constraints);
  var done = function () { if (state.asking === asking) state.asking = null; };
  state.asking = asking;
  asking.then(done, done);
  return asking.then(function (stream) {
    $("device-help").hidden = true;
    // Device names are readable only now.
    later(function () { listDevices().catch(noop); });
    return { audio: stream.getAudioTracks()[0] || null, video: stream.getVideoTracks()[0] || null };
  });
}
function getTrack(kind) {
  return getTracks([kind]).then(function (tracks) { return tracks[kind]; });
}

function useMic(track) {
  state.mic = track;
  state.micOn = true;
  later(function () { meter(track); });
}
function useCam(track) {
  if (state.cam) state.cam.stop();
  state.cam = track;
  state.camOn = true;
  if (state.audioOnly) setAudioOnly(false);
}

/* Pre-join "camera and microphone": both devices in one request. */
export function setBoth() {
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

export function sendVideoTrack() {
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

export function setCamera(on) {
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

export function setMic(on) {
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

/* Front/back camera (facingMode), else the next one; the old one stops first: many phones
 * cannot run both. */
export function flipCamera() {
  var select = $("camera-select");
  var settings = state.cam && state.cam.getSettings ? state.cam.getSettings() : {};
  var video = Object.assign({}, VIDEO);
  if (settings.facingMode === "user" || settings.facingMode === "environment") {
    video.facingMode = { exact: settings.facingMode === "user" ? "environment" : "user" };
  } else if (select.options.length > 1) {
    video.deviceId = { exact: select.options[(select.selectedIndex + 1) % select.options.length].value };
  }
  if (state.cam) state.cam.stop();
  return navigator.mediaDevices.getUserMedia({ video: video }).then(function (stream) {
    var track = stream.getVideoTracks()[0];
    useCam(track);
    select.value = track.getSettings().deviceId || select.value;
  }, function (error) {
    state.cam = null;
    state.camOn = false;
    deviceHelp(error);
  }).then(function () {
    refreshLocalStream();
    replaceSenders();
    syncButtons();
  });
}

/* A new microphone chosen in the list: the next setMic(true) opens it. */
export function dropMic() {
  if (state.mic) { state.mic.stop(); state.mic = null; }
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

export function setAudioOnly(on) {
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

export function setScreen(on) {
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

/* Every device off, for good (the call is over for this page). */
export function stopAll() {
  [state.cam, state.mic, state.screen].forEach(function (t) { if (t) t.stop(); });
  state.cam = state.mic = state.screen = null;
  state.camOn = state.micOn = false;
}

export function syncButtons() {
  pressed($("prejoin-camera"), state.camOn);
  pressed($("prejoin-mic"), state.micOn);
  $("prejoin-both").hidden = state.camOn && state.micOn;
  pressed($("ctl-camera"), state.camOn);
  pressed($("ctl-mic"), state.micOn);
  pressed($("ctl-audio-only"), state.audioOnly);
  pressed($("ctl-screen"), !!state.screen);
}

export function announceMedia() {
  if (state.phase === "in-call") send({ type: "media", audio: !!(state.mic && state.micOn), video: !!sendVideoTrack() });
}
