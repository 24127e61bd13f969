/* The signalling socket: one websocket to the call's consumer, reconnecting with backoff.
 * Frames from the server go to the handler main.js gives to connect(). */
import { config, setStatus, state, T } from "./state.js";

var handler = null;

export function send(frame) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
}

/* The socket is opened while the pre-join check is shown ("lobby": authorised, given ICE
 * servers, seen by nobody); the join click then costs one frame over an open socket.
 * After a drop it reconnects straight into the call if the page had joined. */
export function connect(onFrame) {
  if (onFrame) handler = onFrame;
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
    handler(frame);
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
export function sendJoin() {
  var ws = state.ws;
  if (!state.joinRequested || !ws || ws.readyState !== WebSocket.OPEN || ws.joinSent) return;
  ws.joinSent = true;
  send({ type: "join" });
}
