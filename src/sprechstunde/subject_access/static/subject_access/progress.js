// Follows a copy of one's data while it is being made: asks the server for its state every
// few seconds, moves the progress bar, and reloads the page once it is ready or failed.
// Without JavaScript the "Check again" link does the same by hand.
(function () {
  "use strict";
  const root = document.getElementById("export");
  const url = root && root.dataset.stateUrl;
  const bar = document.getElementById("export-progress");
  if (!url || !bar) {
    return;
  }
  let delay = 2000;
  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      const state = await response.json();
      bar.value = state.progress;
      bar.textContent = state.progress + " %";
      if (state.status !== "queued" && state.status !== "building") {
        window.location.reload();
        return;
      }
      delay = 2000;
    } catch (error) {
      delay = Math.min(delay * 2, 60000);
    }
    window.setTimeout(poll, delay);
  }
  window.setTimeout(poll, delay);
})();
