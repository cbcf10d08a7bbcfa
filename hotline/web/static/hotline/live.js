/* Live updates: the bell's count and the page's live tables follow what happens elsewhere, without
   a reload. The server sends a "bell" event over Server-Sent Events whenever something is published
   to this person (Redis or PostgreSQL NOTIFY behind it; see docs/notifications.md). Each stream ends
   after some seconds and EventSource reconnects by itself; the first event of every connection
   carries the current state, so nothing published in between is missed for long. Served by the app:
   no inline script (CSP). */
(function () {
  "use strict";
  var bell = document.getElementById("bell");
  if (!bell || !bell.hasAttribute("data-live-stream") || !window.EventSource) { return; }
  var seen = null;

  function show(state) {
    document.querySelectorAll("[data-bell-count]").forEach(function (el) {
      el.textContent = state.label;
      el.classList.toggle("has-unread", state.unread > 0);
    });
    bell.setAttribute("data-unread", String(state.unread));
  }

  // Each live region is re-read from this page's own URL as an htmx fragment and swapped in place;
  // a region with a form being filled in is left alone until the person is done with it.
  function refresh() {
    if (!window.htmx) { return; }
    document.querySelectorAll("[data-live-refresh]").forEach(function (el) {
      if (!el.id || el.contains(document.activeElement) && document.activeElement.form) { return; }
      window.htmx.ajax("GET", window.location.href, {target: "#" + el.id, select: "#" + el.id, swap: "outerHTML"});
    });
  }

  var source = new EventSource(bell.getAttribute("data-live-stream"));
  source.addEventListener("bell", function (ev) {
    var state = JSON.parse(ev.data);
    show(state);
    if (seen !== null && (state.last !== seen.last || state.unread !== seen.unread)) { refresh(); }
    seen = state;
    document.documentElement.setAttribute("data-live", "connected");
  });
  source.addEventListener("error", function () {
    document.documentElement.setAttribute("data-live", source.readyState === 2 ? "closed" : "reconnecting");
  });
})();
