// Live dashboard: every 2 s, fetch the partial and swap in each [data-live-part] by id.
// Server-sent events will replace this polling in a later issue.
"use strict";

(function () {
  const REFRESH_MS = 2000;
  const live = document.getElementById("live");
  if (!live) {
    return;
  }
  const url = live.dataset.liveUrl;
  const paused = document.getElementById("live-paused");

  function showPaused(isPaused) {
    if (paused) {
      paused.hidden = !isPaused;
    }
  }

  async function refresh() {
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (response.redirected || response.status === 401) {
        // The session ended: reload so that the login page shows.
        window.location.reload();
        return;
      }
      if (!response.ok) {
        showPaused(true);
        return;
      }
      const html = await response.text();
      const fresh = new DOMParser().parseFromString(html, "text/html");
      for (const part of fresh.querySelectorAll("[data-live-part]")) {
        const current = document.getElementById(part.id);
        if (current) {
          current.replaceWith(document.importNode(part, true));
        }
      }
      showPaused(false);
    } catch (error) {
      showPaused(true);
    } finally {
      window.setTimeout(refresh, REFRESH_MS);
    }
  }

  window.setTimeout(refresh, REFRESH_MS);
})();
