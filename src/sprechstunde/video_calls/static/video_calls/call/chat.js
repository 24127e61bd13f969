/* The call's chat: lines from the socket into the log, the form sends a line. Loaded by
 * main.js when the call starts, not before the first offer (ADR 0055). */
import { $, send, state, T } from "./signalling.js";

/* Files (ADR 0057) load their module on first use, by its hashed address from the page. */
function photo(use) {
  var box = $("chat-files");
  if (box) import(box.dataset.module).then(use);
}

export function onChat(frame) {
  var li = document.createElement("li");
  li.className = "call-chat__line" + (frame.from === state.me ? " call-chat__line--own" : "");
  var who = document.createElement("strong");
  who.textContent = (frame.from === state.me ? T.you : frame.name) + ": ";
  li.appendChild(who);
  li.appendChild(document.createTextNode(frame.text));
  if (frame.file) photo(function (m) { m.showFile(li, frame.file); });
  $("chat-log").appendChild(li);
  if (!$("more-sheet").hidden) li.scrollIntoView({ block: "nearest" });
  else if (frame.from !== state.me) $("more-badge").hidden = false;
}

export function sendChat() {
  var input = $("chat-text");
  var text = input.value.trim();
  if (!text) return;
  send({ type: "chat", text: text });
  input.value = "";
}

export function sendFiles(pick) { photo(function (m) { m.sendFile(pick); }); }
