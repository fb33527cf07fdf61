// Live dashboard: the server pushes the partial by server-sent events (EventSource); each
// [data-live-part] in it replaces the element of the same id. If the stream cannot be opened
// (an old proxy, a browser without EventSource), the page falls back to fetching the partial
// every 2 s, as before.
"use strict";

(function () {
  const REFRESH_MS = 2000;
  // EventSource reconnects by itself; after this many failures in a row, poll instead.
  const MAX_STREAM_FAILURES = 3;
  const live = document.getElementById("live");
  if (!live) {
    return;
  }
  const pollUrl = live.dataset.liveUrl;
  const eventsUrl = live.dataset.eventsUrl;
  const paused = document.getElementById("live-paused");

  function showPaused(isPaused) {
    if (paused) {
      paused.hidden = !isPaused;
    }
  }

  function swapParts(html) {
    const fresh = new DOMParser().parseFromString(html, "text/html");
    for (const part of fresh.querySelectorAll("[data-live-part]")) {
      const current = document.getElementById(part.id);
      if (current) {
        current.replaceWith(document.importNode(part, true));
      }
    }
  }

  async function poll() {
    try {
      const response = await fetch(pollUrl, {
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
      swapParts(await response.text());
      showPaused(false);
    } catch (error) {
      showPaused(true);
    } finally {
      window.setTimeout(poll, REFRESH_MS);
    }
  }

  function startPolling() {
    live.dataset.liveMode = "polling";
    window.setTimeout(poll, REFRESH_MS);
  }

  function startStream() {
    let failures = 0;
    const source = new EventSource(eventsUrl, { withCredentials: true });
    live.dataset.liveMode = "events";
    source.addEventListener("open", function () {
      failures = 0;
      showPaused(false);
    });
    source.addEventListener("terminals", function (event) {
      failures = 0;
      swapParts(event.data);
      showPaused(false);
    });
    source.addEventListener("error", function () {
      failures += 1;
      showPaused(true);
      // A closed source (e.g. a login redirect answered with HTML) never retries by itself.
      if (source.readyState === EventSource.CLOSED || failures >= MAX_STREAM_FAILURES) {
        source.close();
        startPolling();
      }
    });
  }

  if (eventsUrl && "EventSource" in window) {
    startStream();
  } else {
    startPolling();
  }
})();
