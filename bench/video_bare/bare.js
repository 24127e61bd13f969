/* Bare WebRTC page for the benchmarks: camera and microphone at once, one peer connection,
 * offer/answer and trickle ICE through the bench's websocket. Exposes window.bare.pc. */
(async function () {
  "use strict";
  var ice = JSON.parse(document.getElementById("ice").textContent);
  var room = new URLSearchParams(location.search).get("room") || "0";
  var stream = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15, max: 15 } },
    audio: true
  });
  document.getElementById("local").srcObject = stream;
  var pc = new RTCPeerConnection({ iceServers: ice.iceServers, iceTransportPolicy: ice.policy });
  window.bare = { pc: pc };
  stream.getTracks().forEach(function (t) { pc.addTrack(t, stream); });
  pc.ontrack = function (e) {
    var remote = document.getElementById("remote");
    if (remote.srcObject !== e.streams[0]) remote.srcObject = e.streams[0];
  };
  var ws = new WebSocket("ws://" + location.host + "/ws?room=" + encodeURIComponent(room));
  var queue = Promise.resolve();
  function send(obj) { ws.send(JSON.stringify(obj)); }
  pc.onicecandidate = function (e) { send({ candidate: e.candidate ? e.candidate.toJSON() : null }); };
  ws.onmessage = function (m) {
    var d = JSON.parse(m.data);
    queue = queue.then(async function () {
      if (d.type === "start" && d.offer) {
        await pc.setLocalDescription();
        send({ description: pc.localDescription.toJSON() });
      } else if (d.description) {
        await pc.setRemoteDescription(d.description);
        if (d.description.type === "offer") {
          await pc.setLocalDescription();
          send({ description: pc.localDescription.toJSON() });
        }
      } else if (d.candidate) {
        await pc.addIceCandidate(d.candidate).catch(function () {});
      }
    });
  };
  ws.onopen = function () { window.bareReady = true; };
})();
