/* A call page opened early by the join link (ADR 0057): the pre-join check works, the join
 * buttons wait. At the opening time (seconds from the server, so a wrong phone clock does
 * not matter) the buttons come on and the page connects, without a reload. */
export function whenOpen(seconds, go) {
  var at = Date.now() + seconds * 1000;
  var check = setInterval(function () {
    if (Date.now() < at) return;
    clearInterval(check);
    ["join-camera", "join-audio", "join-button"].forEach(function (id) { document.getElementById(id).disabled = false; });
    document.getElementById("prejoin-opens").hidden = true;
    go();
  }, 1000);
}
