/*! Advocate po.js: referral attribution, customer sign-up and the referral widget. docs/sdk.md */
(function (w, d) {
  'use strict';

  var PREFIX = '[advocate] ';
  var DEFAULTS = { referral_param: 'ref', cookie_days: 30, attribution: 'first_click', program_name: '' };
  var CODE = /^[A-Za-z0-9_-]{3,32}$/;
  var DAY = 864e5;
  var CONFIG_TIMEOUT = 3000;
  var REQUEST_TIMEOUT = 10000;
  var NEUTRAL = "Your referral details aren't available right now.";

  if (w.po && w.po.loaded) return; // the script was included twice

  var queued = (w.po && w.po.q) || [];
  var key = null;
  var api = scriptBase();
  var settings = DEFAULTS;
  var attributed; // settles once the landing page's code is stored
  var markReady;
  var ready = new Promise(function (resolve) { markReady = resolve; }); // settles at init
  var memory = {}; // the last resort when cookies and localStorage are blocked

  function warn(msg, err) {
    try { if (w.console) console.warn(PREFIX + msg, err === undefined ? '' : err); } catch (e) { /* nothing left to tell */ }
  }

  // scriptBase derives the API's base URL from the URL po.js was loaded
  // from, so the snippet needs no second setting: https://a.example/js/po.js
  // means https://a.example.
  function scriptBase() {
    var s = d.currentScript;
    var src = s && s.src;
    if (!src || !/\/js\/po\.js(?:[?#]|$)/.test(src)) {
      var all = d.getElementsByTagName('script');
      for (var i = all.length - 1; i >= 0; i--) {
        if (/\/js\/po\.js(?:[?#]|$)/.test(all[i].src)) { src = all[i].src; break; }
      }
    }
    return src ? src.replace(/\/js\/po\.js(?:[?#].*)?$/, '') : null;
  }

  // Storage: a first-party cookie, else localStorage, else memory, so that
  // a visitor who blocks cookies is still attributed for this page view.
  var cookieDomain;

  function readCookie(name) {
    try {
      var parts = d.cookie ? d.cookie.split('; ') : [];
      for (var i = 0; i < parts.length; i++) {
        var eq = parts[i].indexOf('=');
        if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
      }
    } catch (e) { /* cookies blocked */ }
    return null;
  }

  function writeCookie(name, value, days, domain) {
    var c = name + '=' + encodeURIComponent(value) + '; path=/; max-age=' + Math.round(days * 86400) + '; SameSite=Lax';
    if (domain) c += '; domain=' + domain;
    if (location.protocol === 'https:') c += '; Secure';
    try { d.cookie = c; } catch (e) { return false; }
    return days <= 0 || readCookie(name) === value;
  }

  // The widest domain that takes a cookie (shop.example.com → example.com),
  // so a visitor who lands on www. and signs up on app. keeps the code. The
  // browser refuses public suffixes such as co.uk, which the probe skips.
  function domain() {
    if (cookieDomain !== undefined) return cookieDomain;
    cookieDomain = '';
    var host = location.hostname;
    if (host.indexOf('.') < 0 || /^[\d.]+$/.test(host) || host.indexOf(':') >= 0) return cookieDomain;
    var labels = host.split('.');
    for (var i = labels.length - 2; i > 0; i--) {
      var candidate = labels.slice(i).join('.');
      if (writeCookie('po_probe', '1', 1, candidate)) {
        writeCookie('po_probe', '', 0, candidate);
        cookieDomain = candidate;
        break;
      }
    }
    return cookieDomain;
  }

  function localGet(name) {
    try {
      var v = JSON.parse(w.localStorage.getItem(name));
      if (v && v.e > Date.now()) return v.v;
      if (v) w.localStorage.removeItem(name);
    } catch (e) { /* blocked or not ours */ }
    return null;
  }

  function get(name) {
    var v = readCookie(name);
    if (v === null) v = localGet(name);
    if (v === null && memory[name]) v = memory[name];
    return v;
  }

  function put(name, value, days) {
    memory[name] = value;
    if (writeCookie(name, value, days, domain())) return;
    try { w.localStorage.setItem(name, JSON.stringify({ v: value, e: Date.now() + days * DAY })); } catch (e) { /* memory it is */ }
  }

  function forget(name) {
    delete memory[name];
    writeCookie(name, '', 0, domain());
    try { w.localStorage.removeItem(name); } catch (e) { /* blocked */ }
  }

  function normalCode(v) {
    return typeof v === 'string' && CODE.test(v) ? v.toUpperCase() : null;
  }

  function randomID() {
    var b = new Uint8Array(16);
    if (w.crypto && crypto.getRandomValues) crypto.getRandomValues(b);
    else for (var i = 0; i < b.length; i++) b[i] = Math.random() * 256;
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  }

  // request calls the API with the publishable key and resolves with
  // {status, body}; it rejects only when the API cannot be reached.
  function request(method, path, body, timeout) {
    if (!key) return Promise.reject(new Error('po("init") did not succeed; see the warning above.'));
    var ctl = w.AbortController ? new AbortController() : null;
    var timer = ctl && setTimeout(function () { ctl.abort(); }, timeout);
    var init = { method: method, mode: 'cors', credentials: 'omit', headers: { Authorization: 'Bearer ' + key } };
    if (ctl) init.signal = ctl.signal;
    if (body) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(api + path, init).then(function (res) {
      return res.text().then(function (text) {
        var json = null;
        try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
        return { status: res.status, body: json || {} };
      });
    }).finally(function () { clearTimeout(timer); });
  }

  function problem(res) {
    var b = res.body;
    return res.status + (b.code ? ' ' + b.code : '') + (b.detail ? ': ' + b.detail : '');
  }

  function loadConfig() {
    return request('GET', '/v1/sdk/config', null, CONFIG_TIMEOUT).then(function (res) {
      if (res.status !== 200) throw new Error(problem(res));
      var c = res.body;
      return {
        referral_param: typeof c.referral_param === 'string' && c.referral_param ? c.referral_param : DEFAULTS.referral_param,
        cookie_days: c.cookie_days > 0 ? c.cookie_days : DEFAULTS.cookie_days,
        attribution: c.attribution === 'last_click' ? 'last_click' : 'first_click',
        program_name: typeof c.program_name === 'string' ? c.program_name : ''
      };
    }).catch(function (err) {
      warn('could not load the program settings from ' + api + '/v1/sdk/config; using the defaults (?ref=, 30 days, first click). ' +
        'Is the API reachable, and is this site the program\'s website or one of its allowed_domains?', err && err.message);
      return DEFAULTS;
    });
  }

  // attribute stores the code of the landing URL's queries and records
  // the click.
  function attribute(search, cfg) {
    settings = cfg;
    var vid = get('po_vid');
    if (!vid || !/^[0-9a-f]{32}$/.test(vid)) vid = randomID();
    put('po_vid', vid, cfg.cookie_days);
    var raw = null;
    search.forEach(function (q) {
      try { if (raw === null) raw = new URLSearchParams(q).get(cfg.referral_param); } catch (e) { /* not a query */ }
    });
    if (raw === null) return;
    var code = normalCode(raw);
    if (!code) {
      warn('ignored the malformed referral code in ?' + cfg.referral_param + '=.');
      return;
    }
    var existing = normalCode(get('po_ref'));
    if (!existing || cfg.attribution === 'last_click') put('po_ref', code, cfg.cookie_days);
    beacon({
      publishable_key: key, code: code, visitor_id: vid,
      url: String(location.href).slice(0, 1024), referrer: String(d.referrer || '').slice(0, 1024)
    });
  }

  // beacon sends the click so that it survives the visitor navigating
  // away; the text/plain body needs no CORS preflight.
  function beacon(click) {
    var url = api + '/v1/track/click';
    var body = JSON.stringify(click);
    try {
      if (navigator.sendBeacon && navigator.sendBeacon(url, body)) return;
    } catch (e) { /* fall back to fetch */ }
    try {
      fetch(url, { method: 'POST', body: body, keepalive: true, mode: 'cors', credentials: 'omit', headers: { 'Content-Type': 'text/plain' } })
        .catch(function (err) { warn('could not record the referral click.', err && err.message); });
    } catch (e) { warn('could not record the referral click.', e); }
  }

  // init settles the calls waiting for it even when it refuses its
  // options: they then answer from storage or fail, and never hang (a
  // checkout waiting for getReferralCode's callback must go on).
  function init(opts) {
    if (key) return warn('po("init") was called twice; the first call wins.');
    if (!opts || typeof opts.publishable_key !== 'string' || opts.publishable_key.indexOf('pk_') !== 0) {
      markReady();
      return warn('po("init") needs {publishable_key: "pk_…"}; the secret key must never be used in a browser.');
    }
    if (opts.api_url) api = String(opts.api_url);
    if (!api) {
      markReady();
      return warn('could not tell the Advocate URL from the script tag; pass api_url to po("init").');
    }
    api = api.replace(/\/+$/, '');
    key = opts.publishable_key;
    // Read the URL now, as a single-page app may rewrite it; hash routers
    // carry their query after the # (/#/signup?ref=CODE).
    var hash = location.hash;
    var search = [location.search, hash.indexOf('?') >= 0 ? hash.slice(hash.indexOf('?')) : ''];
    attributed = loadConfig().then(function (cfg) { attribute(search, cfg); }).catch(function (err) {
      warn('attribution failed.', err);
    });
    markReady();
  }

  // getReferralCode returns the stored code (or null), e.g. for a
  // checkout's client_reference_id; a callback gets it once the landing
  // URL is handled.
  function getReferralCode(cb) {
    if (typeof cb === 'function') {
      ready.then(function () { return attributed; }).then(function () { cb(normalCode(get('po_ref'))); });
    }
    return normalCode(get('po_ref'));
  }

  function createCustomer(data, cb) {
    var p = ready.then(function () { return attributed; }).then(function () {
      data = data || {};
      var body = { email: data.email, name: data.name, key: data.key };
      var code = normalCode(get('po_ref'));
      if (code) body.referred_by = code;
      return request('POST', '/v1/customers', body, REQUEST_TIMEOUT).then(function (res) {
        if (res.status === 422 && res.body.code === 'unknown_referral_code' && body.referred_by) {
          warn('the stored referral code ' + code + ' is unknown to the program; creating the customer without it.');
          forget('po_ref');
          delete body.referred_by;
          return request('POST', '/v1/customers', body, REQUEST_TIMEOUT);
        }
        return res;
      });
    }).then(function (res) {
      if (res.status !== 200 && res.status !== 201) {
        var err = new Error('createCustomer: ' + problem(res));
        err.status = res.status;
        err.code = res.body.code;
        err.errors = res.body.errors;
        throw err;
      }
      return res.body.customer;
    });
    p.then(function (c) { if (typeof cb === 'function') cb(null, c); }, function (err) {
      warn('createCustomer failed.', err && err.message);
      if (typeof cb === 'function') cb(err, null);
    });
    return p;
  }

  // The widget lives in a shadow root: the host page's selectors cannot
  // reach it, and its inherited styles are reset on :host with !important,
  // which beats the page's own !important across the shadow boundary.
  var CSS = [
    ':host{all:initial!important;display:block!important;visibility:visible!important;opacity:1!important;container-type:inline-size!important}',
    '.po{all:initial;display:block;box-sizing:border-box;font:400 15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg);border:1px solid var(--line);border-radius:16px;padding:24px;max-width:640px;-webkit-font-smoothing:antialiased;text-align:left}',
    '.po,.po[data-theme=light]{--bg:#fff;--fg:#0f172a;--muted:#5b6577;--line:#e3e7ee;--soft:#f5f7fb;--accent:#4f46e5;--accent-fg:#fff;--ok:#047857}',
    '.po[data-theme=dark]{--bg:#141b2d;--fg:#eef2f9;--muted:#9aa5b8;--line:#2b3550;--soft:#1c2539;--accent:#8b93ff;--accent-fg:#0b1020;--ok:#34d399}',
    '@media (prefers-color-scheme:dark){.po[data-theme=auto]{--bg:#141b2d;--fg:#eef2f9;--muted:#9aa5b8;--line:#2b3550;--soft:#1c2539;--accent:#8b93ff;--accent-fg:#0b1020;--ok:#34d399}}',
    '*{box-sizing:border-box;font:inherit;color:inherit;margin:0}',
    '.eyebrow{font-size:12px;font-weight:600;letter-spacing:.06em;text-transform:uppercase;color:var(--accent)}',
    'h2{font-size:20px;line-height:1.3;font-weight:700;margin-top:4px;letter-spacing:-.01em}',
    '.lead{color:var(--muted);margin-top:4px;font-size:14px}',
    '.head{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:baseline;gap:4px 12px;margin:20px 0 8px}',
    '.label{display:block;font-size:13px;font-weight:600}',
    '.row{display:flex;flex-wrap:wrap;gap:8px}',
    'input{flex:1 1 220px;min-width:0;height:42px;padding:0 12px;border:1px solid var(--line);border-radius:10px;background:var(--soft);font-size:14px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;text-overflow:ellipsis}',
    'button,a.share{display:inline-flex;align-items:center;justify-content:center;gap:8px;height:42px;padding:0 16px;border-radius:10px;border:1px solid var(--line);background:var(--bg);font-size:14px;font-weight:600;cursor:pointer;text-decoration:none;white-space:nowrap}',
    '.copy{background:var(--accent);border-color:var(--accent);color:var(--accent-fg);min-width:96px}',
    '.copy:hover{filter:brightness(1.08)}a.share:hover,button.share:hover{background:var(--soft)}',
    ':focus-visible{outline:2px solid var(--accent)!important;outline-offset:2px}',
    'svg{width:16px;height:16px;flex:none;fill:currentColor}',
    '.shares{display:grid;grid-template-columns:repeat(auto-fit,minmax(112px,1fr));gap:8px}',
    '.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(112px,1fr));gap:8px;margin-top:24px;padding:0}',
    '.stat{background:var(--soft);border:1px solid var(--line);border-radius:12px;padding:12px 14px}',
    'dt{font-size:12px;color:var(--muted);font-weight:500}',
    'dd{font-size:20px;font-weight:700;margin-top:2px;font-variant-numeric:tabular-nums;letter-spacing:-.01em;overflow-wrap:anywhere}',
    '.balance{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;gap:4px 16px;margin-top:8px;padding:16px;border-radius:12px;background:var(--soft);border:1px solid var(--line)}',
    '.balance .amount{font-size:26px;font-weight:700;font-variant-numeric:tabular-nums;letter-spacing:-.02em}',
    '.balance .pending{font-size:13px;color:var(--muted)}',
    '.note{color:var(--muted);font-size:14px}',
    '.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}',
    '.status{font-size:13px;font-weight:600;color:var(--ok)}',
    '.board{list-style:none;padding:0;border:1px solid var(--line);border-radius:12px;overflow:hidden}',
    '.board li{display:flex;align-items:center;gap:12px;padding:10px 14px;border-top:1px solid var(--line);font-size:14px}',
    '.board li:first-child{border-top:0}',
    '.board .rank{min-width:24px;color:var(--muted);font-weight:700;font-variant-numeric:tabular-nums}',
    '.board .who{flex:1;min-width:0;font-weight:600;overflow-wrap:anywhere}',
    '.board .score{font-weight:700;font-variant-numeric:tabular-nums}',
    '.board .you{background:var(--soft)}',
    '.badge{display:inline-block;margin-left:8px;padding:0 8px;border-radius:999px;background:var(--accent);color:var(--accent-fg);font-size:12px;line-height:20px}',
    '@container (max-width:400px){.po{padding:16px;border-radius:12px}.copy{flex:1 1 100%}.stats{grid-template-columns:repeat(2,minmax(0,1fr))}}'
  ].join('');

  // Icon paths (24×24): envelope, X, LinkedIn, chat bubble, share.
  var ICONS = {
    email: 'M3 5h18a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1Zm1 2.3V17h16V7.3l-8 5.4-8-5.4ZM5.8 7l6.2 4.2L18.2 7H5.8Z',
    x: 'M18.9 1.2h3.7l-8 9.2L24 22.8h-7.4l-5.8-7.6-6.6 7.6H.5l8.6-9.8L0 1.2h7.6l5.2 6.9 6.1-6.9Zm-1.3 19.5h2L6.5 3.2H4.3l13.3 17.5Z',
    linkedin: 'M20.4 20.5h-3.5v-5.6c0-1.3 0-3-1.9-3s-2.1 1.4-2.1 2.9v5.7H9.4V9h3.4v1.6c.5-.9 1.6-1.9 3.4-1.9 3.6 0 4.3 2.4 4.3 5.5v6.3ZM5.3 7.4a2.1 2.1 0 1 1 0-4.1 2.1 2.1 0 0 1 0 4.1Zm1.8 13.1H3.6V9h3.5v11.5ZM22.2 0H1.8C.8 0 0 .8 0 1.7v20.6c0 .9.8 1.7 1.8 1.7h20.4c1 0 1.8-.8 1.8-1.7V1.7C24 .8 23.2 0 22.2 0Z',
    whatsapp: 'M12 2a10 10 0 0 0-8.6 15.1L2 22l5-1.3A10 10 0 1 0 12 2Zm0 18.2a8.2 8.2 0 0 1-4.2-1.2l-.3-.2-3 .8.8-2.9-.2-.3A8.2 8.2 0 1 1 12 20.2Zm4.5-6.1c-.2-.1-1.5-.7-1.7-.8-.2-.1-.4-.1-.6.1l-.8 1c-.1.2-.3.2-.5.1a6.7 6.7 0 0 1-3.3-2.9c-.2-.4.2-.4.7-1.3.1-.2 0-.3 0-.4l-.8-1.8c-.2-.5-.4-.4-.6-.4h-.5a1 1 0 0 0-.7.3 3 3 0 0 0-.9 2.2 5.2 5.2 0 0 0 1.1 2.7 11.8 11.8 0 0 0 4.5 4c1.7.7 2.3.8 3.2.6.5-.1 1.5-.6 1.7-1.2.2-.6.2-1.1.2-1.2-.1-.1-.3-.2-.5-.3Z',
    share: 'M12 2.6 16.7 7.3l-1.4 1.4L13 6.4V15h-2V6.4L8.7 8.7 7.3 7.3 12 2.6ZM4 12h2v8h12v-8h2v10H4V12Z'
  };

  // el builds an element; text goes through textContent and attributes
  // through setAttribute, so customer data is never parsed as HTML.
  function el(tag, attrs, kids) {
    var n = d.createElement(tag);
    for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) n.setAttribute(k, attrs[k]);
    (kids || []).forEach(function (c) { if (c !== null) n.appendChild(typeof c === 'string' ? d.createTextNode(c) : c); });
    return n;
  }

  function icon(name) {
    var ns = 'http://www.w3.org/2000/svg';
    var s = d.createElementNS(ns, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('focusable', 'false');
    var p = d.createElementNS(ns, 'path');
    p.setAttribute('d', ICONS[name]);
    s.appendChild(p);
    return s;
  }

  function locale() {
    return d.documentElement.lang || navigator.language || 'en-US';
  }

  function money(amount, currency) {
    try {
      return new Intl.NumberFormat(locale(), { style: 'currency', currency: currency }).format(amount);
    } catch (e) {
      return amount + ' ' + currency;
    }
  }

  function count(n) {
    try { return new Intl.NumberFormat(locale()).format(n); } catch (e) { return String(n); }
  }

  function container(sel) {
    if (sel instanceof Element) return sel;
    if (typeof sel !== 'string') throw new Error('container must be a CSS selector or an element');
    var n;
    try { n = d.querySelector(sel); } catch (e) { throw new Error('container is not a valid CSS selector'); }
    if (!n) throw new Error('no element matches the container selector');
    return n;
  }

  function renderReferralWidget(opts) {
    opts = opts || {};
    var root, box;
    try {
      var host = d.createElement('advocate-referral-widget');
      root = host.attachShadow({ mode: 'open' });
      var theme = opts.theme === 'dark' || opts.theme === 'auto' ? opts.theme : 'light';
      box = el('section', { 'class': 'po', 'data-theme': theme, role: 'region', 'aria-labelledby': 'po-title', 'aria-busy': 'true' },
        [el('p', { 'class': 'note', id: 'po-title' }, ['Loading your referral details…'])]);
      if (root.adoptedStyleSheets && w.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS); // adopted sheets are not blocked by a strict style-src CSP
        root.adoptedStyleSheets = [sheet];
      } else {
        root.appendChild(el('style', {}, [CSS]));
      }
      root.appendChild(box);
      var target = container(opts.container);
      target.textContent = '';
      target.appendChild(host);
    } catch (e) {
      warn('renderReferralWidget: ' + e.message + '.');
      return Promise.resolve(false);
    }
    return ready.then(function () {
      if (typeof opts.customer_key !== 'string' || !opts.customer_key) throw new Error('customer_key is required');
      var q = '?customer_key=' + encodeURIComponent(opts.customer_key);
      if (opts.customer_hash) q += '&customer_hash=' + encodeURIComponent(opts.customer_hash);
      return request('GET', '/v1/widget' + q, null, REQUEST_TIMEOUT);
    }).then(function (res) {
      if (res.status !== 200) {
        var why = res.body.code === 'invalid_customer_hash'
          ? 'customer_hash does not match customer_key; compute it on your server as hex(HMAC-SHA256(widget_secret, customer_key)).'
          : 'the API answered ' + problem(res) + '.';
        throw new Error(why);
      }
      fill(box, res.body, opts);
      return true;
    }).catch(function (err) {
      warn('renderReferralWidget: ' + (err && err.message ? err.message : 'failed to load') +
        (err instanceof TypeError ? ' Is ' + api + ' reachable, and is this site\'s domain allowed in the program?' : ''));
      box.textContent = '';
      box.removeAttribute('aria-busy');
      box.appendChild(el('p', { 'class': 'note', id: 'po-title' }, [NEUTRAL]));
      return false;
    });
  }

  function fill(box, data, opts) {
    var c = data.customer || {};
    var program = (data.program && data.program.name) || settings.program_name || '';
    var link = String(c.referral_url || '');
    var text = String(data.share_text || (program ? 'Join me on ' + program : 'Join me'));
    var enc = encodeURIComponent;
    var input = el('input', { id: 'po-link', type: 'text', readonly: '', 'aria-describedby': 'po-status', spellcheck: 'false' });
    input.value = link;
    var status = el('span', { 'class': 'status', id: 'po-status', role: 'status', 'aria-live': 'polite' });
    var copy = el('button', { type: 'button', 'class': 'copy', 'aria-label': 'Copy your referral link' }, ['Copy']);
    var timer;
    copy.addEventListener('click', function () {
      var done = function (ok) {
        status.textContent = ok ? 'Copied!' : 'Press Ctrl+C (⌘C) to copy';
        clearTimeout(timer);
        timer = setTimeout(function () { status.textContent = ''; }, 3000);
      };
      var fallback = function () {
        input.focus();
        input.select();
        var ok = false;
        try { ok = d.execCommand('copy'); } catch (e) { /* unsupported */ }
        done(ok);
      };
      try {
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(link).then(function () { done(true); }, fallback);
        } else fallback();
      } catch (e) { fallback(); }
    });
    input.addEventListener('focus', function () { input.select(); });

    var share = function (name, label, how, href) {
      return el('a', { 'class': 'share', href: href, target: '_blank', rel: 'noopener noreferrer', 'aria-label': 'Share ' + how + ' (opens in a new tab)', 'data-share': name }, [icon(name), label]);
    };
    var shares = el('div', { 'class': 'shares', role: 'group', 'aria-labelledby': 'po-share' }, [
      share('email', 'Email', 'by email', 'mailto:?subject=' + enc(text) + '&body=' + enc(text + '\n\n' + link)),
      share('x', 'X', 'on X', 'https://twitter.com/intent/tweet?text=' + enc(text) + '&url=' + enc(link)),
      share('linkedin', 'LinkedIn', 'on LinkedIn', 'https://www.linkedin.com/sharing/share-offsite/?url=' + enc(link)),
      share('whatsapp', 'WhatsApp', 'on WhatsApp', 'https://wa.me/?text=' + enc(text + ' ' + link))
    ]);
    if (typeof navigator.share === 'function') {
      var native = el('button', { type: 'button', 'class': 'share', 'data-share': 'native', 'aria-label': 'Share with another app' }, [icon('share'), 'More']);
      native.addEventListener('click', function () {
        navigator.share({ title: program, text: text, url: link }).catch(function () { /* dismissed */ });
      });
      shares.appendChild(native);
    }

    var name = String(c.name || '');
    var kids = [
      program ? el('p', { 'class': 'eyebrow' }, [program]) : null,
      el('h2', { id: 'po-title' }, ['Invite friends, earn rewards']),
      el('p', { 'class': 'lead', 'data-field': 'name' }, [name ? name + ', share your personal link. Friends who join through it count as your referrals.' : 'Share your personal link. Friends who join through it count as your referrals.']),
      el('div', { 'class': 'head' }, [el('label', { 'class': 'label', 'for': 'po-link' }, ['Your referral link']), status]),
      el('div', { 'class': 'row' }, [input, copy]),
      el('div', { 'class': 'head' }, [el('p', { 'class': 'label', id: 'po-share' }, ['Share your link'])]),
      shares
    ];
    if (opts.show_stats && data.stats) {
      var s = data.stats;
      var stat = function (field, label, value) {
        return el('div', { 'class': 'stat' }, [el('dt', {}, [label]), el('dd', { 'data-stat': field }, [value])]);
      };
      kids.push(el('h3', { 'class': 'sr' }, ['Your referrals']), el('dl', { 'class': 'stats' }, [
        stat('total_referrals', 'Referrals', count(s.total_referrals)),
        stat('successful_referrals', 'Successful', count(s.successful_referrals)),
        stat('pending_referrals', 'Pending', count(s.pending_referrals)),
        stat('total_rewards', 'Rewards earned', money(s.total_rewards, s.currency))
      ]));
      if (data.balance) {
        var b = data.balance;
        kids.push(el('div', { 'class': 'balance' }, [
          el('div', {}, [el('p', { 'class': 'pending' }, ['Available balance']), el('p', { 'class': 'amount', 'data-stat': 'balance' }, [money(b.balance, b.currency)])]),
          el('p', { 'class': 'pending', 'data-stat': 'pending' }, [money(b.pending, b.currency) + ' pending'])
        ]));
      }
    }
    // The leaderboard comes only when the program shows one: names are
    // already shortened by the API, and there are no keys or emails.
    if (Array.isArray(data.leaderboard)) {
      var rows = data.leaderboard.map(function (r) {
        var n = Number(r.successful_referrals) || 0;
        return el('li', { 'class': r.you ? 'you' : null, 'aria-current': r.you ? 'true' : null, 'data-rank': String(r.rank) }, [
          el('span', { 'class': 'rank' }, [count(r.rank)]),
          el('span', { 'class': 'who' }, [String(r.display_name || ''), r.you ? el('span', { 'class': 'badge' }, ['You']) : null]),
          el('span', { 'class': 'score' }, [count(n), el('span', { 'class': 'sr' }, [n === 1 ? ' successful referral' : ' successful referrals'])])
        ]);
      });
      kids.push(el('div', { 'class': 'head' }, [el('h3', { 'class': 'label', id: 'po-board' }, ['Leaderboard']),
        rows.length ? el('span', { 'class': 'note', 'aria-hidden': 'true' }, ['Successful referrals']) : null]),
        rows.length ? el('ol', { 'class': 'board', 'aria-labelledby': 'po-board' }, rows)
          : el('p', { 'class': 'note' }, ['No successful referrals yet. Yours could be the first.']));
    }
    box.textContent = '';
    box.removeAttribute('aria-busy');
    kids.forEach(function (k) { if (k) box.appendChild(k); });
  }

  var commands = {
    init: init,
    createCustomer: createCustomer,
    renderReferralWidget: renderReferralWidget,
    getReferralCode: getReferralCode
  };

  // po is the only global: every call is guarded so that nothing the SDK
  // does can throw into the host page.
  function po(cmd) {
    try {
      var fn = commands[cmd];
      if (!fn) return warn('unknown command ' + JSON.stringify(String(cmd)) + '.');
      return fn.apply(null, Array.prototype.slice.call(arguments, 1));
    } catch (e) {
      warn(cmd + ' failed.', e);
    }
  }
  po.loaded = true;
  w.po = po;
  for (var i = 0; i < queued.length; i++) po.apply(null, Array.prototype.slice.call(queued[i]));
})(window, document);
