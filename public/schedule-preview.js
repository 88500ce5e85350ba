// Progressive enhancement for the schedule form: as the fields that decide what a run rotates
// change, ask the JSON API for the preview and show it where the Preview button would. Without this
// file the Preview button does the same by submitting the form.
(function () {
  'use strict';
  if (!window.fetch || !window.FormData || !window.URLSearchParams) return;

  var FIELDS = ['keep', 'hour', 'minute', 'timezone', 'enabled'];
  var timers = {};

  function url(form) {
    var data = new window.FormData(form);
    var q = new window.URLSearchParams();
    FIELDS.forEach(function (f) { if (data.get(f) !== null) q.set(f, String(data.get(f))); });
    q.set('days', data.getAll('days').join(','));
    if (form.getAttribute('data-schedule')) q.set('scheduleId', form.getAttribute('data-schedule'));
    return form.getAttribute('data-preview') + '?' + q.toString();
  }

  function show(form, preview) {
    var out = form.querySelector('[data-preview-output]');
    if (!out) return;
    var list = out.querySelector('ul');
    var none = out.querySelector('[data-preview-none]');
    list.textContent = '';
    preview.runs.forEach(function (run) {
      var li = document.createElement('li');
      li.setAttribute('data-skipped', String(run.skipped));
      li.setAttribute('data-at', run.at);
      li.textContent = run.text;
      list.appendChild(li);
    });
    none.textContent = preview.disabledText || '';
    none.hidden = !preview.disabledText;
    out.querySelector('[data-preview-untouched]').textContent = preview.untouchedText;
    out.hidden = false;
  }

  function update(form) {
    var data = new window.FormData(form);
    // Nothing to preview yet: no day chosen, or keep cleared while typing.
    if (!data.getAll('days').length || !String(data.get('keep') || '').trim()) return;
    fetch(url(form), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      // A value a save would refuse (422, a field still being typed): the last preview stays.
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (preview) { if (preview) show(form, preview); })
      .catch(function () { /* the Preview button still works */ });
  }

  function changed(e) {
    var form = e.target && e.target.form;
    if (!form || !form.hasAttribute('data-preview') || (FIELDS.indexOf(e.target.name) < 0 && e.target.name !== 'days')) return;
    var key = form.getAttribute('data-schedule') || 'new';
    window.clearTimeout(timers[key]);
    // Typing "12" asks once, not for 1 and then 12.
    timers[key] = window.setTimeout(function () { update(form); }, 300);
  }
  document.addEventListener('input', changed);
  document.addEventListener('change', changed);
})();
