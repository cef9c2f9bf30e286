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
  // An error or warning identical to one of the last LOG_WINDOW log lines is counted on that line
  // instead of added: the SDK repeats its errors on every retry (about once a second while Twilio
  // is out of reach), which would bury everything else. Other lines are each a step, kept in order.
  const LOG_WINDOW = 4;
  // The call-control routes (/calls/hold, ...) are retried only when they answer 503 (the server did
  // nothing: Secrets Manager or a limit), at most this many times, after Retry-After (capped). A 4xx is
  // never retried: the same request would get the same answer. Nor is a network error or another 5xx:
  // the server may have acted, and a transfer must not happen twice.
  const CONTROL_RETRIES = 2;
  const CONTROL_RETRY_MAX_MS = 10000;
  // A call this tab put on hold is kept in sessionStorage this long, so a reloaded page can resume
  // it (the server parks a held caller whose browser left, then sends them to the no-answer step).
  const HELD = 'softphone.held';
  const HELD_MAX_MS = 10 * 60 * 1000;
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
    callForm: $('call-form'), to: $('to'), callerId: $('caller-id'), call: $('call'), callWhy: $('call-why'),
    incoming: $('incoming'), incomingFrom: $('incoming-from'),
    accept: $('accept'), ignore: $('ignore'), reject: $('reject'),
    active: $('active'), activeTitle: $('active-title'), callStatus: $('call-status'),
    duration: $('call-duration'), mute: $('mute'), hold: $('hold'), hangup: $('hangup'),
    transferTo: $('transfer-to'), modeWarm: $('mode-warm'), transfer: $('transfer'), add: $('add'),
    remove: $('remove'), warm: $('warm'), complete: $('transfer-complete'), cancel: $('transfer-cancel'),
    controlState: $('control-state'),
    held: $('held'), heldLabel: $('held-label'), heldState: $('held-state'), resumeHeld: $('resume-held'),
    forgetHeld: $('forget-held'),
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
    held: false, // the server answered "held" to our last hold
    warmTo: '', // a warm transfer in progress: to whom
    added: [], // who was added to the call (for Remove)
    controlBusy: false, // a call-control request is on its way
    heldBusy: false, // the resume of a held call is on its way
    generation: 0, // bumped by Connect and Disconnect, so late answers of an old device are dropped
  };

  // --- log and errors -------------------------------------------------------------------------

  function clock(d = new Date()) {
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }

  function log(text, level = 'info') {
    const key = `${level}|${text}`;
    let li = level === 'info' ? null : ui.log.lastElementChild;
    for (let n = 0; li && n < LOG_WINDOW; li = li.previousElementSibling, n++) {
      if (li.dataset.key === key) break;
    }
    if (li && li.dataset.key === key) {
      const count = Number(li.dataset.count) + 1;
      li.dataset.count = String(count);
      const t = li.querySelector('time');
      t.dateTime = new Date().toISOString();
      t.textContent = clock();
      li.querySelector('.count').textContent = `×${count} since ${li.dataset.first}`;
      ui.log.append(li); // the newest line is last
      ui.log.scrollTop = ui.log.scrollHeight;
      return;
    }
    li = document.createElement('li');
    li.className = level;
    li.dataset.key = key;
    li.dataset.count = '1';
    li.dataset.first = clock();
    const t = document.createElement('time');
    t.dateTime = new Date().toISOString();
    t.textContent = li.dataset.first;
    const count = document.createElement('span');
    count.className = 'count';
    li.append(t, text, count);
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

  // APIError is an error answer of this service (the token endpoint or a call-control route), or
  // the network's refusal to reach it: code is "<status> <error.code>" or "network".
  class APIError extends Error {
    constructor(code, message, status = 0, retryAfter = 0) {
      super(message);
      this.code = code;
      this.status = status;
      this.retryAfter = retryAfter;
    }
  }

  // postJSON POSTs body as JSON with a bearer credential, as Bubble's API Connector does, and
  // returns the parsed answer, or throws an APIError with the service's own error code and message.
  async function postJSON(url, bearer, body) {
    let resp;
    try {
      resp = await fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch (e) {
      const cors = new URL(url, location.href).origin === location.origin ? ''
        : ` A deployed stack answers this page only when its CorsAllowedOrigins includes ${location.origin}.`;
      throw new APIError('network', `could not reach ${url} (${e.message}).${cors}`);
    }
    let data = null;
    try { data = await resp.json(); } catch { /* not JSON: reported below */ }
    if (!resp.ok) {
      const code = `${resp.status} ${data?.error?.code || resp.statusText || 'error'}`;
      const retryAfter = Number(resp.headers.get('Retry-After')) || 0;
      throw new APIError(code, data?.error?.message || 'refused without an error message', resp.status, retryAfter);
    }
    return { status: resp.status, data };
  }

  // fetchToken asks the token endpoint as Bubble's API Connector does: POST, JSON, bearer key.
  async function fetchToken(req) {
    const { status, data } = await postJSON(req.url, req.key, req.body);
    if (!data || typeof data.token !== 'string' || typeof data.expires_at_unix !== 'number') {
      throw new APIError(`${status} unexpected`, 'the answer has no token and expires_at_unix: is this a token URL?');
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
    showHeld();
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
    showCallable();
  }

  // showCallable enables Call only when a call can start: the device is registered with Twilio
  // (before that, device.connect only waits for the signaling connection, or fails) and no call is
  // on. While it cannot, the page says why, next to the button.
  function showCallable() {
    const d = s.device;
    let why = '';
    if (!d) {
      why = 'Press Connect first: Call waits until the device is registered with Twilio.';
    } else if (d.state !== 'registered') {
      why = `Call waits until the device is registered with Twilio; it is ${d.state}`;
      why += s.lastSDKCode !== null ? ` (error ${s.lastSDKCode}, see Errors).` : '.';
    } else if (s.call || s.pendingCall || !ui.active.hidden) {
      why = 'A call is on: hang up first.';
    }
    ui.call.disabled = why !== '';
    ui.callWhy.textContent = why;
  }

  function setDeviceText(text, problem = false) {
    ui.deviceState.textContent = text;
    ui.deviceState.className = problem ? 'state-problem' : '';
    showCallable();
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
    ui.refresh.disabled = ui.disconnect.disabled = true;
    showCallable();
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
    ui.refresh.disabled = ui.disconnect.disabled = false;
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
    resetControl();
    showCallable();
    showHeld();
  }

  function endCall(status) {
    if (status && !ui.active.hidden) log(`${s.callLabel}: ${status}`);
    s.call = null;
    s.callStarted = 0;
    ui.active.hidden = true;
    resetControl();
    showCallable();
    showHeld();
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
      showControl();
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

  // --- hold, transfer, add: the call-control routes --------------------------------------------

  // The routes sit beside the token endpoint (a stage prefix or a custom domain's base path is
  // kept) and take the Device's own access token as the bearer: the page needs no other secret,
  // and the server reads the tenant and the identity from the token.
  function controlURL(path) {
    return new URL(`calls/${path}`, s.request.url).href;
  }

  function resetControl() {
    s.held = false;
    s.warmTo = '';
    s.added = [];
    s.controlBusy = false;
    ui.controlState.textContent = '';
    showControl();
  }

  // showControl enables the call-control buttons only while a call is connected and no request
  // is on its way; Complete and Cancel show only during a warm transfer.
  function showControl() {
    const on = !!s.call && s.callStarted > 0 && !s.controlBusy && !!s.token;
    const to = ui.transferTo.value.trim() !== '';
    ui.hold.disabled = !on || s.warmTo !== '';
    ui.hold.textContent = s.held ? 'Resume' : 'Hold';
    ui.hold.setAttribute('aria-pressed', String(s.held));
    ui.transfer.disabled = !on || !to || s.warmTo !== '';
    ui.add.disabled = !on || !to || s.warmTo !== '';
    ui.remove.disabled = !on || s.added.length === 0;
    ui.warm.hidden = s.warmTo === '';
    ui.complete.disabled = ui.cancel.disabled = !on;
  }

  const stateText = {
    held: 'On hold: the other party hears hold music.',
    active: 'In call.',
  };

  // postControl POSTs one call-control request with the Device's token and returns the answer,
  // or null when it was refused (shown in Errors) or is no longer wanted (still() turned false). A
  // 503 is tried again after its Retry-After (the server did nothing); nothing else is.
  async function postControl(path, what, body, still) {
    const url = controlURL(path);
    log(`${what} (POST ${url})…`);
    for (let attempt = 0; ; attempt++) {
      try {
        const { status, data } = await postJSON(url, s.token.token, body);
        if (!data || typeof data.state !== 'string') {
          throw new APIError(`${status} unexpected`, `the answer of ${url} has no state`);
        }
        if (!still()) return null;
        log(`${what}: the server says ${data.state}.`);
        // A warm transfer or add to a route rings its browsers; the answer says which.
        if (Array.isArray(data.ringing) && data.ringing.length) log(`${what}: ringing ${data.ringing.join(', ')}.`);
        return data;
      } catch (e) {
        if (!(e instanceof APIError)) throw e;
        if (e.status === 503 && attempt < CONTROL_RETRIES && still()) {
          const wait = Math.min(CONTROL_RETRY_MAX_MS, (e.retryAfter || 2) * 1000);
          log(`${what}: ${e.code}, trying again in ${Math.round(wait / 1000)} s.`, 'warn');
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        if (!still()) return null;
        showError('Call control', e.code, `${what}: ${e.message}`);
        return { refused: e.code };
      }
    }
  }

  // control asks for one operation on the call in progress and shows the answer.
  async function control(path, what, extra = {}) {
    const call = s.call;
    if (!call || !s.token || !s.request || s.controlBusy) return null;
    const sid = call.parameters.CallSid;
    if (!sid) {
      showError('Call control', 'no_call_sid', 'the SDK has not told this call\'s CallSid yet; try again in a moment.');
      return null;
    }
    const gen = s.generation;
    const still = () => gen === s.generation && s.call === call;
    s.controlBusy = true;
    showControl();
    ui.controlState.textContent = `${what}…`;
    try {
      const a = await postControl(path, what, { call_sid: sid, ...extra }, still);
      if (!a) return null;
      if (a.refused) {
        ui.controlState.textContent = `${what}: refused (${a.refused}, see Errors).`;
        return null;
      }
      ui.controlState.textContent = `${what}: ${a.state}.`;
      ui.callStatus.textContent = stateText[a.state] || `In call (${a.state}).`;
      // A held call is remembered for this tab: if the page reloads or hangs up, the caller
      // waits (the server parks them), and Resume can bring them back.
      if (a.state === 'held') rememberHeld(sid); else forgetHeld();
      return a;
    } finally {
      if (still()) {
        s.controlBusy = false;
        showControl();
      }
    }
  }

  // --- a call held before a reload or a hang-up ---------------------------------------------

  function rememberHeld(sid) {
    try {
      sessionStorage.setItem(HELD, JSON.stringify({ call_sid: sid, label: s.callLabel, at: Date.now() }));
    } catch { /* storage off: nothing to resume after a reload */ }
  }

  function forgetHeld() {
    try { sessionStorage.removeItem(HELD); } catch { /* storage off */ }
    showHeld();
  }

  function savedHeld() {
    try {
      const h = JSON.parse(sessionStorage.getItem(HELD) || 'null');
      if (h && /^CA[0-9a-f]{32}$/.test(h.call_sid) && Date.now() - h.at < HELD_MAX_MS) return h;
    } catch { /* not ours */ }
    return null;
  }

  // showHeld offers to resume a call this tab held, once no call is on here.
  function showHeld() {
    const h = savedHeld();
    ui.held.hidden = !h || !!s.call || !ui.active.hidden;
    if (!h) return;
    ui.heldLabel.textContent = h.label || h.call_sid;
    ui.resumeHeld.disabled = !s.token || !s.request || s.heldBusy;
    ui.heldState.textContent = s.token ? '' : 'Connect first: Resume asks with this device\'s token.';
  }

  async function resumeHeld() {
    const h = savedHeld();
    if (!h || !s.token || !s.request || s.heldBusy) return;
    const gen = s.generation;
    s.heldBusy = true;
    showHeld();
    try {
      const a = await postControl('resume', `Resume the held call (${h.label || h.call_sid})`, { call_sid: h.call_sid },
        () => gen === s.generation);
      if (!a) return;
      if (a.refused) {
        if (a.refused.startsWith('4')) forgetHeld(); // gone for good (call_ended, call_not_found)
        return;
      }
      forgetHeld();
      log('The caller is being brought back: the call rings here as an incoming call; accept it.');
    } finally {
      s.heldBusy = false;
      showHeld();
    }
  }

  async function holdOrResume() {
    if (s.held) {
      const a = await control('resume', 'Resume');
      if (a) s.held = a.state === 'held';
    } else {
      const a = await control('hold', 'Hold');
      if (a) s.held = a.state === 'held';
    }
    showControl();
  }

  async function transfer() {
    const to = ui.transferTo.value.trim();
    const mode = ui.modeWarm.checked ? 'warm' : 'cold';
    const a = await control('transfer', `${mode === 'warm' ? 'Warm' : 'Cold'} transfer to ${to}`, { to, mode });
    if (!a) return;
    if (mode === 'warm') {
      s.warmTo = to;
      log(`Talking to ${to} while the caller holds: Complete transfer puts the caller through, Cancel transfer comes back.`);
    } else {
      log(`The caller is put through to ${to}; this browser leaves the call.`);
    }
    showControl();
  }

  async function finishTransfer(how) {
    const to = s.warmTo;
    const a = await control(`transfer/${how}`, `${how === 'complete' ? 'Complete' : 'Cancel'} the transfer to ${to}`);
    if (!a) return;
    s.warmTo = '';
    s.held = a.state === 'held';
    showControl();
  }

  async function addParty() {
    const to = ui.transferTo.value.trim();
    const a = await control('add', `Add ${to}`, { to });
    if (!a) return;
    if (!s.added.includes(to)) s.added.push(to);
    showControl();
  }

  async function removeParty() {
    const to = ui.transferTo.value.trim() && s.added.includes(ui.transferTo.value.trim())
      ? ui.transferTo.value.trim() : s.added[s.added.length - 1];
    const a = await control('remove', `Remove ${to}`, { to });
    if (!a) return;
    s.added = s.added.filter((x) => x !== to);
    showControl();
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
    ui.hold.addEventListener('click', holdOrResume);
    ui.transfer.addEventListener('click', transfer);
    ui.add.addEventListener('click', addParty);
    ui.remove.addEventListener('click', removeParty);
    ui.complete.addEventListener('click', () => finishTransfer('complete'));
    ui.cancel.addEventListener('click', () => finishTransfer('cancel'));
    ui.transferTo.addEventListener('input', showControl);
    ui.resumeHeld.addEventListener('click', resumeHeld);
    ui.forgetHeld.addEventListener('click', forgetHeld);
    setInterval(tick, 1000);
    showCallable();
    showControl();
    showHeld();
    fill();
  }

  // For the browser console and the tests: the Device and the token it was last handed.
  window.softphone = Object.freeze({
    get device() { return s.device; },
    get token() { return s.token ? s.token.token : null; },
  });

  start();
})();
