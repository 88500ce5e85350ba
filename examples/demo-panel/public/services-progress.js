// Services list: while a server ordered from a snapshot is still being made, the list asks for itself
// again every few seconds and swaps only those servers' status cells, so the page keeps the reader's
// place and focus (the cells are polite live regions: a screen reader hears "Ready" when it comes).
// Stops once nothing is pending. Without JavaScript the list shows the state as of its last load.
(function () {
  'use strict';
  if (!window.fetch || !window.DOMParser) return;
  var PENDING = '[data-clone="queued"], [data-clone="running"]';
  var EVERY_MS = 3000;

  function update(html) {
    var next = new window.DOMParser().parseFromString(html, 'text/html');
    document.querySelectorAll('[data-made-from]').forEach(function (cell) {
      var fresh = next.querySelector('[data-made-from="' + cell.getAttribute('data-made-from') + '"]');
      if (fresh && fresh.innerHTML !== cell.innerHTML) cell.innerHTML = fresh.innerHTML;
    });
  }

  function refresh() {
    fetch(window.location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (res) { return res.ok ? res.text() : Promise.reject(new Error(String(res.status))); })
      .then(update)
      // A failed look (offline, logged out) just waits for the next one.
      .catch(function () {})
      .then(schedule);
  }

  function schedule() {
    if (document.querySelector(PENDING)) setTimeout(refresh, EVERY_MS);
  }

  schedule();
})();
