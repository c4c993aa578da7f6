// Small progressive enhancements for the dashboard; every page works
// without them.
(function () {
  'use strict';
  // Program switcher: navigate on change.
  document.querySelectorAll('select[data-autosubmit]').forEach(function (s) {
    s.addEventListener('change', function () { s.form.submit(); });
  });
  // "Select all" checkboxes for bulk actions.
  document.querySelectorAll('input[data-select-all]').forEach(function (all) {
    var name = all.getAttribute('data-select-all');
    all.addEventListener('change', function () {
      document.querySelectorAll('input[name="' + name + '"]').forEach(function (c) { c.checked = all.checked; });
    });
  });
  // "All events": while it is ticked the single event types mean nothing,
  // so they are greyed out (and, disabled, not posted).
  document.querySelectorAll('input[data-all-events]').forEach(function (all) {
    var sync = function () {
      all.form.querySelectorAll('input[name="' + all.name + '"]').forEach(function (c) { if (c !== all) c.disabled = all.checked; });
    };
    all.addEventListener('change', sync);
    sync();
  });
  // Copy buttons: data-copy holds the id of the element whose text or value to copy.
  document.querySelectorAll('button[data-copy]').forEach(function (b) {
    b.addEventListener('click', function () {
      var el = document.getElementById(b.getAttribute('data-copy'));
      if (!el) return;
      var text = el.value !== undefined ? el.value : el.textContent;
      var done = function () { var t = b.textContent; b.textContent = 'Copied'; setTimeout(function () { b.textContent = t; }, 1500); };
      if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () {});
      else { el.select && el.select(); document.execCommand('copy'); done(); }
    });
  });
  // Fields for one choice only: data-show-when="trigger=milestone" shows the
  // element while the select with id trigger says milestone.
  document.querySelectorAll('[data-show-when]').forEach(function (el) {
    var when = el.getAttribute('data-show-when').split('='), s = document.getElementById(when[0]);
    if (!s) return;
    var sync = function () { el.hidden = s.value !== when[1]; };
    s.addEventListener('change', sync);
    sync();
  });
  // Confirmations for destructive buttons.
  document.querySelectorAll('[data-confirm]').forEach(function (b) {
    b.addEventListener('click', function (e) { if (!window.confirm(b.getAttribute('data-confirm'))) e.preventDefault(); });
  });
  // Work running in the background (a Stripe sync): the page reloads
  // itself every data-refresh milliseconds, until the admin starts typing
  // into a form, whose input a reload would lose.
  document.querySelectorAll('[data-refresh]').forEach(function (el) {
    var typed = false;
    document.addEventListener('input', function () { typed = true; });
    setTimeout(function () { if (!typed) location.reload(); }, Number(el.getAttribute('data-refresh')) || 2000);
  });
  // A colour picker beside the text field it fills, both ways.
  document.querySelectorAll('[data-color-for]').forEach(function (pick) {
    var text = document.getElementById(pick.getAttribute('data-color-for'));
    if (!text) return;
    pick.addEventListener('input', function () { text.value = pick.value; });
    text.addEventListener('input', function () { if (/^#[0-9a-fA-F]{6}$/.test(text.value)) pick.value = text.value.toLowerCase(); });
  });
})();
