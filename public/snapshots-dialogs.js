// Progressive enhancement: the Edit, Restore and Delete confirmations (and the schedule ones) open
// in a modal <dialog> over the list instead of a new page. The dialog holds the confirmation page's
// own form, fetched from the same URL, so it posts exactly what the page would (CSRF token included).
// Without this file, or if the fetch fails, the links simply open those pages.
(function () {
  'use strict';
  if (typeof HTMLDialogElement !== 'function' || !window.fetch || !window.DOMParser) return;

  var REFS = ['aria-labelledby', 'aria-describedby', 'aria-controls'];

  // The list may hold the same ids as the imported page (the schedule form is on both): a label's
  // `for` would then name the list's field, leaving the dialog's fields unnamed. Give the copy its own.
  function ownIds(root) {
    var map = {};
    root.querySelectorAll('[id]').forEach(function (el) { map[el.id] = 'dialog-' + el.id; el.id = map[el.id]; });
    var rename = function (v) { return v.split(/\s+/).map(function (id) { return map[id] || id; }).join(' '); };
    root.querySelectorAll('label[for]').forEach(function (l) { l.htmlFor = rename(l.htmlFor); });
    [root].concat(Array.prototype.slice.call(root.querySelectorAll('*'))).forEach(function (el) {
      REFS.forEach(function (a) { if (el.hasAttribute(a)) el.setAttribute(a, rename(el.getAttribute(a))); });
    });
  }

  var opening = false;
  function open(link) {
    opening = true;
    return fetch(link.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(new Error(String(r.status))); })
      .then(function (html) {
        var page = new window.DOMParser().parseFromString(html, 'text/html');
        var source = page.querySelector('section.snapshots');
        if (!source) throw new Error('no content');
        var content = document.importNode(source, true);
        // The section tabs lead away from the page: in a confirmation they are only in the way.
        content.querySelectorAll('nav.snapshots-tabs').forEach(function (nav) { nav.remove(); });
        ownIds(content);
        var dialog = document.createElement('dialog');
        dialog.className = 'snapshots-dialog';
        var title = content.querySelector('h1');
        if (title && title.id) dialog.setAttribute('aria-labelledby', title.id);
        dialog.appendChild(content);
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
      })
      .finally(function () { opening = false; });
  }

  document.addEventListener('click', function (e) {
    var link = e.target.closest && e.target.closest('a[data-dialog]');
    if (!link || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (opening) return; // a second click while the first dialog is on its way
    open(link).catch(function () { window.location.assign(link.href); });
  });
})();
