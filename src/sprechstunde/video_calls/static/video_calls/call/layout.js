/* Layout: which part of the page shows (pre-join, waiting room, call, over), and one tile
 * per remote person with their name, connection quality and verification code. */
import { $, root, state } from "./state.js";

export function setPhase(phase) {
  state.phase = phase;
  root.dataset.phase = phase;
  $("prejoin").hidden = phase !== "prejoin";
  $("waiting-room").hidden = phase !== "waiting";
  $("in-call").hidden = phase !== "in-call";
  $("call-over").hidden = ["left", "ended", "refused"].indexOf(phase) < 0;
}

export function tile(peer, name) {
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
export function label(peer, name) {
  if (name) peer.tile.querySelector(".tile__name").textContent = name;
  var video = peer.tile.querySelector("video");
  video.setAttribute("aria-label", name || "");
}
export function untile(peer) {
  if (peer.tile && peer.tile.parentNode) peer.tile.parentNode.removeChild(peer.tile);
}

/* What the other side says it sends (the "media" frame): shown on its tile. */
export function onMedia(frame) {
  var peer = state.peers.get(frame.from);
  if (!peer) return;
  if (typeof frame.audio === "boolean") peer.tile.dataset.audio = frame.audio ? "on" : "off";
  if (typeof frame.video === "boolean") peer.tile.dataset.video = frame.video ? "on" : "off";
}
