// Progressive enhancement for the Snapshots page: while operations are pending, watch the JSON API and
// reload the list when a status changes, so "Creating" turns into "Current" without a manual refresh.
// Everything works without this file.
(function () {
  'use strict';
  var root = document.querySelector('.snapshots[data-service]');
  if (!root || root.getAttribute('data-pending') !== 'true') return;
  var api = '/api/v1/services/' + encodeURIComponent(root.getAttribute('data-service')) + '/snapshots';
  var seen = {};
  root.querySelectorAll('tr[data-snapshot]').forEach(function (tr) {
    seen[tr.getAttribute('data-snapshot')] = tr.getAttribute('data-status');
  });
  // Not while the person types, nor under an open confirmation dialog (a reload would drop it).
  function busyTyping() {
    if (document.querySelector('dialog[open]')) return true;
    var el = document.activeElement;
    return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') && el.value !== '';
  }
  function check() {
    fetch(api, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        var changed = data.snapshots.length !== Object.keys(seen).length || data.snapshots.some(function (s) {
          return seen[String(s.id)] !== s.status;
        });
        if (changed && !busyTyping()) { window.location.replace(window.location.pathname); return; }
        if (data.queue.length > 0 || changed) setTimeout(check, 2000);
      })
      .catch(function () { setTimeout(check, 5000); });
  }
  setTimeout(check, 2000);
})();
