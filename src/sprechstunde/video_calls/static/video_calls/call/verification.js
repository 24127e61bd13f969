/* The verification code (SAS): six digits from both DTLS fingerprints, the same on both
 * ends unless someone in the middle swapped a fingerprint (docs/video-verification.md). */
import { $ } from "./signalling.js";

function fingerprint(sdp) {
  var match = /a=fingerprint:(\S+) ([0-9A-Fa-f:]+)/.exec(sdp || "");
  return match ? match[1].toLowerCase() + " " + match[2].toUpperCase() : "";
}
export function computeSas(peer) {
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
    showCode(peer);
  });
}

/* One line per other person in the "more" sheet: their name, then the code, never broken. */
function showCode(peer) {
  var list = $("codes");
  var li = list.querySelector("[data-peer='" + peer.id + "']");
  if (!li) {
    li = document.createElement("li");
    li.dataset.peer = peer.id;
    li.appendChild(document.createElement("span")).className = "code__name";
    li.appendChild(document.createElement("span")).className = "code";
    list.appendChild(li);
  }
  li.firstChild.textContent = peer.name || "";
  li.lastChild.dataset.sas = peer.sas;
  li.lastChild.textContent = peer.sas;
}
