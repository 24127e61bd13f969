/* The call's chat: lines from the socket into the log, the form sends a line. Loaded by
 * main.js when the call starts, not before the first offer (ADR 0055).
 * Nothing typed is lost: an own line shows at once, marked "not sent yet", until the server's
 * echo of its id comes back; lines not echoed go again, in order, on each new socket (the
 * roster after a reconnect), and receivers show an id once. When the call is over the rest
 * stays readable, marked "not sent", on the closing card. */
import { $, randomHex, root, send, state, T } from "./signalling.js";

var outbox = []; // own lines not echoed yet: {id, text, li, ws}
var seen = new Set();

/* Files (ADR 0057) load their module on first use, by its hashed address from the page. */
function photo(use) {
  var box = $("chat-files");
  if (box) import(box.dataset.module).then(use);
}

function line(own, name, text) {
  var li = document.createElement("li");
  li.className = "call-chat__line" + (own ? " call-chat__line--own" : "");
  var who = document.createElement("strong");
  who.textContent = (own ? T.you : name) + ": ";
  li.appendChild(who);
  li.appendChild(document.createTextNode(text));
  $("chat-log").appendChild(li);
  if (!$("more-sheet").hidden) li.scrollIntoView({ block: "nearest" });
  return li;
}

function mark(li, text) {
  var em = li.querySelector("em") || li.appendChild(document.createElement("em"));
  em.textContent = text ? " (" + text + ")" : "";
  li.dataset.sent = text ? "no" : "yes";
}

export function onChat(frame) {
  var own = frame.from === state.me;
  if (frame.id) {
    if (seen.has(frame.from + ":" + frame.id)) return; // a line sent again after a reconnect
    seen.add(frame.from + ":" + frame.id);
    var mine = own ? outbox.findIndex(function (item) { return item.id === frame.id; }) : -1;
    if (mine >= 0) {
      mark(outbox.splice(mine, 1)[0].li, "");
      return;
    }
  }
  var li = line(own, frame.name, frame.text);
  if (frame.file) photo(function (m) { m.showFile(li, frame.file); });
  if ($("more-sheet").hidden && !own) $("more-badge").hidden = false;
}

function flush() {
  var ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN || state.phase !== "in-call") return;
  outbox.forEach(function (item) {
    if (item.ws === ws) return;
    item.ws = ws;
    send({ type: "chat", id: item.id, text: item.text });
  });
}
// A roster comes with every (re)admission, on a socket that is open.
root.addEventListener("roster", flush);
// The call is over (left, ended, removed): what was not echoed stays, to be copied.
new MutationObserver(function () {
  if (!outbox.length || ["left", "ended", "refused"].indexOf(root.dataset.phase) < 0) return;
  var list = document.createElement("ol");
  list.className = "call-chat__log";
  outbox.forEach(function (item) { mark(item.li, T.unsent); list.appendChild(item.li); });
  outbox = [];
  var note = document.createElement("p");
  note.textContent = T.unsentHelp;
  $("call-over-text").after(note, list);
}).observe(root, { attributes: true, attributeFilter: ["data-phase"] });

export function sendChat() {
  var input = $("chat-text");
  var text = input.value.trim();
  if (!text || state.stopped) return;
  var item = { id: randomHex(8), text: text, li: line(true, "", text) };
  mark(item.li, T.pending);
  outbox.push(item);
  input.value = "";
  flush();
}

export function sendFiles(pick) { photo(function (m) { m.sendFile(pick); }); }
