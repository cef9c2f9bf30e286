// The dev server's softphone page: fetches a Voice access token from a token URL the way a Bubble
// workflow does (POST JSON with a bearer key), hands it to Twilio's Voice JavaScript SDK
// (window.Twilio, from vendor/twilio.min.js), and shows in plain words what the SDK does with it.
// Plain script, no build step.
(() => {
  'use strict';

  // The SDK's tokenWillExpire fires this long before the token expires...
  const SDK_REFRESH_MS = 30000;
  // ...and this page refreshes by the endpoint's expires_at this long before, in case that event
  // does not come (some SDK versions fire it once per connection, not once per token).
  const BACKSTOP_MS = 20000;
  // A token fetched this recently is not fetched again for tokenWillExpire.
  const FRESH_MS = 15000;
  const MAX_LOG = 500;
  const MAX_ERRORS = 20;
  const SAVED = 'softphone.fields'; // non-secret fields kept in localStorage; never the bearer key

  const $ = (id) => document.getElementById(id);
  const ui = {
    sdkVersion: $('sdk-version'),
    tokenForm: $('token-form'), tokenURL: $('token-url'), key: $('bearer-key'),
    accountSid: $('account-sid'), identity: $('identity'), ttl: $('ttl'),
    connect: $('connect'), refresh: $('refresh'), disconnect: $('disconnect'),
    deviceState: $('device-state'), tokenIdentity: $('token-identity'), tokenAccount: $('token-account'),
    tokenExpiry: $('token-expiry'), tokenRefresh: $('token-refresh'), errors: $('errors'),
    callForm: $('call-form'), to: $('to'), callerId: $('caller-id'), call: $('call'),
    incoming: $('incoming'), incomingFrom: $('incoming-from'),
    accept: $('accept'), ignore: $('ignore'), reject: $('reject'),
    active: $('active'), activeTitle: $('active-title'), callStatus: $('call-status'),
    duration: $('call-duration'), mute: $('mute'), hangup: $('hangup'),
    log: $('log'),
  };

  const s = {
    device: null,
    request: null, // what Connect sent: {url, key, body}, reused by every refresh
    token: null, // the endpoint's last answer: {token, identity, account_sid, ttl_seconds, expires_at, expires_at_unix}
    fetchedAt: 0,
    refreshing: false,
    refreshAt: 0,
    refreshTimer: 0,
    errorsSeen: new Map(), // what the Errors list shows, by source, code and message
    lastSDKCode: null, // the SDK's latest error code, shown with the device state
    call: null, // the call in progress, outgoing or accepted
    callLabel: '',
    callStarted: 0,
    pendingCall: null, // {cancelled} while device.connect waits for Twilio
    incoming: null,
    generation: 0, // bumped by Connect and Disconnect, so late answers of an old device are dropped
  };

  // --- log and errors -------------------------------------------------------------------------

  function clock(d = new Date()) {
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }

  function log(text, level = 'info') {
    const li = document.createElement('li');
    li.className = level;
    const t = document.createElement('time');
    t.dateTime = new Date().toISOString();
    t.textContent = clock();
    li.append(t, text);
    ui.log.append(li);
    while (ui.log.childElementCount > MAX_LOG) ui.log.firstElementChild.remove();
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function clearErrors() {
    ui.errors.replaceChildren();
    const li = document.createElement('li');
    li.className = 'none';
    li.textContent = 'None.';
    ui.errors.append(li);
    s.errorsSeen = new Map();
  }

  // showError lists an error with its code, newest first. The SDK repeats its errors on every
  // retry, so a repeat moves the earlier entry to the top and counts.
  function showError(source, code, message, detail = '') {
    const key = `${source}|${code}|${message}|${detail}`;
    log(`${source} error ${code}: ${message}${detail ? ` (${detail})` : ''}`, 'error');
    const seen = s.errorsSeen.get(key);
    if (seen) {
      seen.count++;
      seen.when.textContent = `${clock()}, ${seen.count} times`;
      ui.errors.prepend(seen.li);
      return;
    }
    ui.errors.querySelector('.none')?.remove();
    const li = document.createElement('li');
    const when = document.createElement('span');
    when.className = 'when';
    when.textContent = clock();
    const c = document.createElement('span');
    c.className = 'code';
    c.textContent = String(code);
    li.append(c, ` ${source}: ${message} `, when);
    if (detail) {
      const d = document.createElement('span');
      d.className = 'detail';
      d.textContent = detail;
      li.append(d);
    }
    ui.errors.prepend(li);
    s.errorsSeen.set(key, { li, when, count: 1 });
    while (ui.errors.childElementCount > MAX_ERRORS) {
      const last = ui.errors.lastElementChild;
      for (const [k, v] of s.errorsSeen) if (v.li === last) s.errorsSeen.delete(k);
      last.remove();
    }
  }

  // sdkError shows a TwilioError: its code, name and message, and the underlying reason when the
  // SDK has one (the WebSocket's, for a connection error).
  function sdkError(source, err) {
    if (!err) return;
    const code = err.code ?? err.name ?? 'error';
    const name = err.name || 'Error';
    let message = err.message || String(err);
    const prefix = `${name} (${err.code}): `; // TwilioError puts both in its message
    if (message.startsWith(prefix)) message = message.slice(prefix.length);
    const reason = (err.originalError && err.originalError.message) || '';
    s.lastSDKCode = code;
    showError(source, code, `${name}: ${message}`, reason && !message.includes(reason) ? reason : '');
  }

  // --- token ----------------------------------------------------------------------------------

  class TokenError extends Error {
    constructor(code, message) { super(message); this.code = code; }
  }

  // fetchToken asks the token endpoint as Bubble's API Connector does: POST, JSON, bearer key.
  async function fetchToken(req) {
    let resp;
    try {
      resp = await fetch(req.url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${req.key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(req.body),
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch (e) {
      const cors = new URL(req.url, location.href).origin === location.origin ? ''
        : ` A deployed stack answers this page only when its CorsAllowedOrigins includes ${location.origin}.`;
      throw new TokenError('network', `could not reach ${req.url} (${e.message}).${cors}`);
    }
    let data = null;
    try { data = await resp.json(); } catch { /* not JSON: reported below */ }
    if (!resp.ok) {
      const code = `${resp.status} ${data?.error?.code || resp.statusText || 'error'}`;
      throw new TokenError(code, data?.error?.message || 'the token endpoint refused without an error message');
    }
    if (!data || typeof data.token !== 'string' || typeof data.expires_at_unix !== 'number') {
      throw new TokenError(`${resp.status} unexpected`, 'the answer has no token and expires_at_unix: is this a token URL?');
    }
    return data;
  }

  function showToken(tok) {
    s.token = tok;
    s.fetchedAt = Date.now();
    ui.tokenIdentity.textContent = tok.identity;
    ui.tokenAccount.textContent = tok.account_sid;
    scheduleRefresh();
    tick();
  }

  function inWords(ms) {
    const sec = Math.round(ms / 1000);
    if (sec < 0) return `${inWords(-ms).replace('in ', '')} ago`;
    if (sec < 90) return `in ${sec} s`;
    return `in ${Math.round(sec / 60)} min`;
  }

  // scheduleRefresh sets the backstop refresh by the endpoint's expires_at.
  function scheduleRefresh() {
    clearTimeout(s.refreshTimer);
    const expires = s.token.expires_at_unix * 1000;
    s.refreshAt = Math.max(Date.now(), expires - BACKSTOP_MS);
    s.refreshTimer = setTimeout(() => refresh('expires_at is near'), s.refreshAt - Date.now());
  }

  async function refresh(reason) {
    if (!s.device || !s.request || s.refreshing) return;
    const gen = s.generation;
    s.refreshing = true;
    ui.refresh.disabled = true;
    log(`Refreshing the token (${reason})…`);
    let tok;
    try {
      tok = await fetchToken(s.request);
    } catch (e) {
      if (gen !== s.generation) return;
      showError('Token endpoint', e.code, e.message);
      if (s.token.expires_at_unix * 1000 > Date.now()) {
        clearTimeout(s.refreshTimer);
        s.refreshAt = Date.now() + 10000;
        s.refreshTimer = setTimeout(() => refresh('retrying a failed refresh'), 10000);
      }
      return;
    } finally {
      if (gen === s.generation) {
        s.refreshing = false;
        ui.refresh.disabled = !s.device;
      }
    }
    if (gen !== s.generation) return;
    try {
      s.device.updateToken(tok.token);
    } catch (e) {
      sdkError('Twilio SDK', e);
      return;
    }
    showToken(tok);
    log(`New token handed to the device (device.updateToken); it expires at ${clock(new Date(tok.expires_at_unix * 1000))}.`);
  }

  // --- device ---------------------------------------------------------------------------------

  const stateWords = {
    registering: 'Registering with Twilio…',
    registered: 'Registered: calls to client:%s ring here.',
    unregistered: 'Not registered: incoming calls do not ring here.',
    destroyed: 'Disconnected.',
  };

  function showState() {
    const d = s.device;
    if (!d) return;
    let text = (stateWords[d.state] || d.state).replace('%s', s.token ? s.token.identity : '');
    const problem = s.lastSDKCode !== null && d.state !== 'registered';
    if (problem && d.state === 'registering') {
      text = `Registering with Twilio: not reached yet (error ${s.lastSDKCode}); the SDK keeps retrying.`;
    }
    ui.deviceState.textContent = text;
    ui.deviceState.className = d.state === 'registered' ? 'state-registered' : problem ? 'state-problem' : '';
  }

  function setDeviceText(text, problem = false) {
    ui.deviceState.textContent = text;
    ui.deviceState.className = problem ? 'state-problem' : '';
  }

  function createDevice(token, gen) {
    let device;
    try {
      device = new Twilio.Device(token, {
        closeProtection: true, // ask before leaving the page during a call
        codecPreferences: ['opus', 'pcmu'],
        tokenRefreshMs: SDK_REFRESH_MS,
      });
    } catch (e) {
      sdkError('Twilio SDK', e);
      setDeviceText('The SDK refused the token (see Errors).', true);
      return;
    }
    s.device = device;
    const mine = (fn) => (...args) => { if (gen === s.generation) fn(...args); };
    device.on('registering', mine(() => { log('Device registering with Twilio…'); showState(); }));
    device.on('registered', mine(() => { log(`Device registered: calls to client:${s.token.identity} ring here.`); showState(); }));
    device.on('unregistered', mine(() => { log('Device unregistered.'); showState(); }));
    device.on('destroyed', mine(() => { log('Device destroyed.'); showState(); }));
    device.on('error', mine((err, call) => {
      sdkError(call ? 'Twilio SDK, during a call' : 'Twilio SDK', err);
      showState();
    }));
    device.on('tokenWillExpire', mine(() => {
      if (Date.now() - s.fetchedAt < FRESH_MS) {
        log('SDK: tokenWillExpire; the token was just refreshed, so it is kept.');
        return;
      }
      refresh('the SDK fired tokenWillExpire');
    }));
    device.on('incoming', mine(showIncoming));
    log(`Device created with the token (Voice SDK ${Twilio.Device.version}); registering for incoming calls.`);
    device.register().catch(mine((e) => { sdkError('Twilio SDK, register', e); showState(); }));
    showState();
  }

  function teardown() {
    s.generation++;
    clearTimeout(s.refreshTimer);
    if (s.pendingCall) s.pendingCall.cancelled = true;
    s.pendingCall = null;
    if (s.device) {
      try { s.device.destroy(); } catch (e) { sdkError('Twilio SDK', e); }
    }
    s.device = null;
    s.request = null;
    s.token = null;
    s.refreshing = false;
    s.refreshAt = 0;
    s.lastSDKCode = null;
    endCall();
    hideIncoming();
    ui.tokenIdentity.textContent = '–';
    ui.tokenAccount.textContent = '–';
    ui.tokenExpiry.textContent = '–';
    ui.tokenRefresh.textContent = '–';
    ui.refresh.disabled = ui.disconnect.disabled = ui.call.disabled = true;
  }

  async function connect() {
    teardown();
    clearErrors();
    const gen = s.generation;
    const body = { account_sid: ui.accountSid.value.trim(), identity: ui.identity.value.trim() };
    if (ui.ttl.value.trim() !== '') body.ttl_seconds = Number(ui.ttl.value);
    const req = { url: ui.tokenURL.value.trim(), key: ui.key.value.trim(), body };
    save();
    ui.connect.disabled = true;
    setDeviceText('Fetching a token…');
    log(`Fetching a token for ${body.identity} from ${req.url}…`);
    let tok;
    try {
      tok = await fetchToken(req);
    } catch (e) {
      if (gen !== s.generation) return;
      showError('Token endpoint', e.code, e.message);
      setDeviceText('No device: the token endpoint refused (see Errors).', true);
      return;
    } finally {
      ui.connect.disabled = false;
    }
    if (gen !== s.generation) return;
    s.request = req;
    log(`Token received for ${tok.identity}, expires at ${tok.expires_at}.`);
    showToken(tok);
    ui.refresh.disabled = ui.disconnect.disabled = ui.call.disabled = false;
    createDevice(tok.token, gen);
  }

  function disconnect() {
    const had = !!s.device;
    teardown();
    setDeviceText(had ? 'Disconnected.' : 'No device yet: press Connect.');
  }

  // --- calls ----------------------------------------------------------------------------------

  function showActive(label, status) {
    s.callLabel = label;
    ui.activeTitle.textContent = label;
    ui.callStatus.textContent = status;
    ui.duration.textContent = '0:00';
    ui.mute.setAttribute('aria-pressed', 'false');
    ui.mute.textContent = 'Mute';
    ui.mute.disabled = true;
    ui.active.hidden = false;
    ui.call.disabled = true;
  }

  function endCall(status) {
    if (status && !ui.active.hidden) log(`${s.callLabel}: ${status}`);
    s.call = null;
    s.callStarted = 0;
    ui.active.hidden = true;
    ui.call.disabled = !s.device;
  }

  function wireCall(call, gen) {
    s.call = call;
    const mine = (fn) => (...args) => { if (gen === s.generation && s.call === call) fn(...args); };
    call.on('ringing', mine(() => { ui.callStatus.textContent = 'Ringing…'; }));
    call.on('accept', mine(() => {
      s.callStarted = Date.now();
      ui.callStatus.textContent = 'In call.';
      ui.mute.disabled = false;
      log(`${s.callLabel}: connected (CallSid ${call.parameters.CallSid || 'not known yet'}).`);
    }));
    call.on('mute', mine((muted) => {
      ui.mute.setAttribute('aria-pressed', String(muted));
      ui.mute.textContent = muted ? 'Unmute' : 'Mute';
      log(muted ? 'Microphone muted.' : 'Microphone on.');
    }));
    call.on('reconnecting', mine((err) => { ui.callStatus.textContent = 'Reconnecting…'; sdkError('Twilio SDK, call reconnecting', err); }));
    call.on('reconnected', mine(() => { ui.callStatus.textContent = 'In call.'; log('Call reconnected.'); }));
    call.on('warning', mine((name) => log(`Call quality warning: ${name}`, 'warn')));
    call.on('error', mine((err) => sdkError('Twilio SDK, call', err)));
    call.on('disconnect', mine(() => endCall('ended.')));
    call.on('cancel', mine(() => endCall('cancelled.')));
    call.on('reject', mine(() => endCall('rejected.')));
  }

  async function placeCall() {
    const to = ui.to.value.trim();
    const callerId = ui.callerId.value.trim();
    const params = { To: to };
    if (callerId) params.CallerId = callerId;
    const gen = s.generation;
    const pending = { cancelled: false };
    s.pendingCall = pending;
    save();
    showActive(`Call to ${to}`, "Connecting… (waiting for Twilio's signaling connection)");
    log(`Calling ${to}${callerId ? ` with caller id ${callerId}` : ''}…`);
    let call;
    try {
      call = await s.device.connect({ params });
    } catch (e) {
      if (gen !== s.generation || pending.cancelled) return;
      s.pendingCall = null;
      sdkError('Twilio SDK, connect', e);
      endCall('could not start.');
      return;
    }
    if (gen !== s.generation || pending.cancelled) {
      call.disconnect();
      return;
    }
    s.pendingCall = null;
    ui.callStatus.textContent = 'Connecting…';
    wireCall(call, gen);
  }

  function hangUp() {
    if (s.call) {
      s.call.disconnect();
    } else if (s.pendingCall) {
      s.pendingCall.cancelled = true;
      s.pendingCall = null;
      endCall('cancelled before Twilio answered.');
    }
  }

  function showIncoming(call) {
    if (s.incoming) hideIncoming();
    s.incoming = call;
    const from = call.parameters.From || 'an unknown caller';
    ui.incomingFrom.textContent = from;
    ui.incoming.hidden = false;
    log(`Incoming call from ${from}.`);
    const gone = (what) => () => {
      if (s.incoming !== call) return;
      log(`Incoming call from ${from}: ${what}`);
      hideIncoming();
    };
    call.on('cancel', gone('the caller hung up, or another browser answered.'));
    call.on('disconnect', gone('ended.'));
    call.on('reject', gone('rejected.'));
    call.on('error', (err) => sdkError('Twilio SDK, incoming call', err));
    ui.accept.focus();
  }

  function hideIncoming() {
    s.incoming = null;
    ui.incoming.hidden = true;
  }

  function answer(how) {
    const call = s.incoming;
    if (!call) return;
    const from = call.parameters.From || 'an unknown caller';
    hideIncoming();
    switch (how) {
      case 'accept':
        showActive(`Call from ${from}`, 'Answering…');
        wireCall(call, s.generation);
        call.accept();
        break;
      case 'ignore':
        call.ignore();
        log(`Ignored the call from ${from}: it stopped ringing here only; other browsers keep ringing.`);
        break;
      case 'reject':
        call.reject();
        log(`Rejected the call from ${from}: it stopped ringing in every browser; the caller goes to the no-answer step.`);
        break;
    }
  }

  // --- clock, fields, start -------------------------------------------------------------------

  function tick() {
    const now = Date.now();
    if (s.token) {
      const exp = new Date(s.token.expires_at_unix * 1000);
      ui.tokenExpiry.textContent = `${clock(exp)} (${inWords(exp - now)})`;
      ui.tokenRefresh.textContent = s.refreshing ? 'now…'
        : `by ${clock(new Date(s.refreshAt))} (${inWords(s.refreshAt - now)}), or earlier on the SDK's tokenWillExpire`;
    }
    if (s.callStarted) {
      const sec = Math.floor((now - s.callStarted) / 1000);
      ui.duration.textContent = `${Math.floor(sec / 60)}:${String(sec % 60).padStart(2, '0')}`;
    }
  }

  const kept = { tokenURL: 'token_url', accountSid: 'account_sid', identity: 'identity', ttl: 'ttl_seconds', to: 'to', callerId: 'caller_id' };

  function save() {
    const v = {};
    for (const [field, name] of Object.entries(kept)) v[name] = ui[field].value;
    try { localStorage.setItem(SAVED, JSON.stringify(v)); } catch { /* private mode: not kept */ }
  }

  // fill sets the fields from what this browser kept, else from the dev server's example tenant.
  async function fill() {
    ui.tokenURL.value = new URL('/token', location.href).href;
    let example = {};
    try {
      const r = await fetch('/softphone/defaults.json', { cache: 'no-store' });
      if (r.ok) example = await r.json();
    } catch { /* served elsewhere: no example */ }
    let saved = {};
    try { saved = JSON.parse(localStorage.getItem(SAVED) || '{}') || {}; } catch { /* ignore */ }
    for (const [field, name] of Object.entries(kept)) {
      const v = saved[name] || example[name];
      if (v) ui[field].value = v;
    }
    if (!ui.key.value && example.bearer_key) ui.key.value = example.bearer_key;
    if (example.account_sid) log(`The dev server's example tenant is filled in (${example.account_sid}).`);
  }

  function start() {
    for (const o of document.querySelectorAll('.origin')) o.textContent = location.origin;
    if (!window.Twilio || !Twilio.Device) {
      ui.sdkVersion.textContent = '(did not load)';
      ui.sdkVersion.className = 'problem';
      showError('Page', 'sdk', 'the Voice SDK (vendor/twilio.min.js) did not load.');
      ui.connect.disabled = true;
      return;
    }
    ui.sdkVersion.textContent = Twilio.Device.version;
    log(`Voice SDK ${Twilio.Device.version} loaded${Twilio.Device.isSupported ? '' : ', but says this browser is not supported'}.`);
    ui.tokenForm.addEventListener('submit', (e) => { e.preventDefault(); connect(); });
    ui.refresh.addEventListener('click', () => refresh('Refresh token now'));
    ui.disconnect.addEventListener('click', disconnect);
    ui.callForm.addEventListener('submit', (e) => { e.preventDefault(); if (s.device) placeCall(); });
    ui.accept.addEventListener('click', () => answer('accept'));
    ui.ignore.addEventListener('click', () => answer('ignore'));
    ui.reject.addEventListener('click', () => answer('reject'));
    ui.mute.addEventListener('click', () => { if (s.call) s.call.mute(!s.call.isMuted()); });
    ui.hangup.addEventListener('click', hangUp);
    setInterval(tick, 1000);
    fill();
  }

  // For the browser console and the tests: the Device and the token it was last handed.
  window.softphone = Object.freeze({
    get device() { return s.device; },
    get token() { return s.token ? s.token.token : null; },
  });

  start();
})();
