// Progressive enhancement: the Edit, Restore and Delete confirmations (and the schedule ones) open
// in a modal <dialog> over the list instead of a new page. The dialog holds the confirmation page's
// own form, fetched from the same URL, so it posts exactly what the page would (CSRF token included).
// Without this file, or if the fetch fails, the links simply open those pages.
(function () {
  'use strict';
  if (typeof HTMLDialogElement !== 'function' || !window.fetch || !window.DOMParser) return;

  function open(link) {
    return fetch(link.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(new Error(String(r.status))); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, 'text/html');
        var content = page.querySelector('section.snapshots');
        if (!content) throw new Error('no content');
        var dialog = document.createElement('dialog');
        dialog.className = 'snapshots-dialog';
        var title = content.querySelector('h1');
        if (title && title.id) dialog.setAttribute('aria-labelledby', title.id);
        dialog.appendChild(document.importNode(content, true));
        // The page's "Cancel" link goes back to the list: here it just closes the dialog.
        dialog.addEventListener('click', function (e) {
          var a = e.target.closest && e.target.closest('a.snapshots-button');
          if (a && a.getAttribute('data-cancel') !== null) { e.preventDefault(); dialog.close(); }
        });
        dialog.addEventListener('close', function () { dialog.remove(); link.focus(); });
        document.body.appendChild(dialog);
        dialog.showModal();
        var first = dialog.querySelector('input:not([type=hidden]), textarea, select, button');
        if (first) first.focus();
      });
  }

  document.addEventListener('click', function (e) {
    var link = e.target.closest && e.target.closest('a[data-dialog]');
    if (!link || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    open(link).catch(function () { window.location.assign(link.href); });
  });
})();
