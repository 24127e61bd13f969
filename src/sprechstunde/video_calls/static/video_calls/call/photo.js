/* Photos and PDFs in the call's chat (ADR 0057), loaded only when one is sent or arrives.
 * Sending: one file per POST to the call's file address; the server makes it a message in
 * the client's conversation and the socket brings it to everyone as a chat line. Watching:
 * a shared file is "being checked" until the documents app has scanned it; while any is,
 * its state is fetched (as HTML in the reader's language) with a growing pause. */
function $(id) { return document.getElementById(id); } // no imports: see chat.js

var box = $("chat-files");
var data = box ? box.dataset : {};
var delay = 1500;
var timer = null;

function status(text) { $("chat-file-status").textContent = text || ""; }

export function sendFile(input) {
  var file = input.files && input.files[0];
  if (!file || !box) return;
  var body = new FormData();
  body.append("file", file);
  input.disabled = true;
  status(data.sending);
  fetch(data.url, {
    method: "POST",
    body: body,
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRFToken": box.querySelector("[name=csrfmiddlewaretoken]").value }
  }).then(function (response) {
    return response.json().catch(function () { return {}; }).then(function (answer) {
      if (!response.ok) throw new Error(answer.error || data.failed);
      status("");
    });
  }).catch(function (error) {
    status(error.message || data.failed);
  }).then(function () {
    input.disabled = false;
    input.value = "";
  });
}

/* A chat line with a file: its name and "being checked" until the server says more. */
export function showFile(line, file) {
  var entry = document.createElement("span");
  entry.className = "call-chat__file";
  entry.dataset.fileId = String(Number(file.id));
  entry.dataset.fileState = "processing";
  entry.textContent = file.name + " (" + (data.checking || "…") + ")";
  line.appendChild(entry);
  delay = 1500;
  if (timer) clearTimeout(timer);
  timer = setTimeout(poll, delay);
}

function poll() {
  timer = null;
  var pending = document.querySelectorAll("[data-file-id][data-file-state=processing]");
  if (!pending.length || !box) return;
  var query = Array.prototype.map.call(pending, function (item) { return "id=" + item.dataset.fileId; }).join("&");
  fetch(data.url + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) { return response.ok ? response.json() : { files: [] }; })
    .then(function (answer) {
      answer.files.forEach(function (file) {
        var shown = document.querySelector('[data-file-id="' + Number(file.id) + '"]');
        if (shown && file.state !== "processing") shown.outerHTML = file.html;
      });
    }, function () { /* asked again after the next pause */ })
    .then(function () {
      delay = Math.min(15000, Math.round(delay * 1.5));
      timer = setTimeout(poll, delay);
    });
}
