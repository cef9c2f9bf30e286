package httpapi_test

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
	"bubble-twilio-voice/test/kit"
)

// Tenants of the event tests: one per events setting.
const (
	evAccount     = "AC0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e"
	evAuthToken   = "events_auth_token_0e0e0e0e0e0e0e0e"
	evKeySID      = "SK0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e"
	evKeySecret   = "events_api_key_secret_0e0e0e0e0e"
	evBearer      = "bubble-api-token-0e0e0e0e0e0e0e0e"
	evSigning     = "signing-secret-0e0e0e0e0e0e0e0e"
	plainAccount  = "AC0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
	plainToken    = "plain_auth_token_0f0f0f0f0f0f0f0f"
	missedAccount = "AC0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d"
	missedToken   = "missed_auth_token_0d0d0d0d0d0d0d0d"
	transAccount  = "AC0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"
	transToken    = "transcribe_auth_token_0c0c0c0c0c0c"
	evCall        = "CA0123456789abcdef0123456789abcdef"
	evRecording   = "RE0123456789abcdef0123456789abcdef"
)

// eventTenant returns a tenant record: events is the "events" JSON value
// ("" for none); record_calls on.
func eventTenant(tb testing.TB, account, token, events string) *tenant.Tenant {
	tb.Helper()
	rec := `{"account_sid":"` + account + `","auth_token":"` + token + `","api_key_sid":"` + evKeySID + `",
		"api_key_secret":"` + evKeySecret + `","twiml_app_sid":"AP0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e","caller_id":"+14155550100",
		"token_api_keys":["events-tenant-bearer-key"],"record_calls":true,
		"incoming":{"numbers":{"+14155550100":{"clients":["alice"],"no_answer":{"action":"voicemail"}}},
		"default":{"clients":["alice"],"no_answer":{"action":"message"}}}`
	if events != "" {
		rec += `,"events":` + events
	}
	t, err := tenant.Parse([]byte(rec + "}"))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// recordingQueue is a queue.Sender that keeps what it is sent, or fails.
type recordingQueue struct {
	mu   sync.Mutex
	msgs []queue.Message
	err  error
}

func (q *recordingQueue) Send(_ context.Context, m queue.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.msgs = append(q.msgs, m)
	return nil
}

func (q *recordingQueue) messages() []queue.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]queue.Message(nil), q.msgs...)
}

// eventHarness serves every route (All) with event tenants, a queue and
// captured logs.
type eventHarness struct {
	queue   *recordingQueue
	logs    kit.LogBuffer
	emf     kit.LogBuffer
	tenants []*tenant.Tenant
	deps    httpapi.Deps
	handler http.Handler
}

func newEventHarness(tb testing.TB, events httpapi.EventDeps) *eventHarness {
	tb.Helper()
	h := &eventHarness{queue: &recordingQueue{}}
	h.tenants = []*tenant.Tenant{
		eventTenant(tb, evAccount, evAuthToken, `{"url":"https://myapp.bubbleapps.io/api/1.1/wf/call-event","bearer_token":"`+evBearer+`","signing_secret":"`+evSigning+`"}`),
		eventTenant(tb, plainAccount, plainToken, ""),
		eventTenant(tb, missedAccount, missedToken, `{"url":"https://a.example/","types":["call.missed"]}`),
		// Spliced in after events: transcripts of voicemails only.
		eventTenant(tb, transAccount, transToken, `{"url":"https://t.example/"},"transcribe":{"voicemail":true}`),
	}
	if events.Queue == nil {
		events.Queue = h.queue
	}
	h.deps = httpapi.Deps{
		Numbers:       phone.Library{},
		Store:         tenant.NewMemoryStore(h.tenants...),
		PublicBaseURL: publicBase,
		Log:           logging.New(&h.logs, "debug"),
		Metrics:       metrics.New(&h.emf, "webhook-test", fixedNow),
		Now:           fixedNow,
		Events:        events,
	}
	h.handler = httpapi.All(h.deps)
	return h
}

// post signs form for path (query included) with token ("" leaves it
// unsigned) and posts it.
func (h *eventHarness) post(path string, form url.Values, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Host = publicHost
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		r.Header.Set(twiliosig.Header, twiliosig.Sign(publicBase+path, form, token))
	}
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	return w
}

func statusForm(account string, kv ...string) url.Values {
	f := url.Values{"AccountSid": {account}, "CallSid": {evCall}, "ApiVersion": {"2010-04-01"}, "Direction": {"inbound"}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// queuedEvents decodes what the harness's queue got.
func queuedEvents(tb testing.TB, q *recordingQueue) []events.Queued {
	tb.Helper()
	var out []events.Queued
	for _, m := range q.messages() {
		msg, err := events.DecodeQueued(m.Body)
		if err != nil {
			tb.Fatalf("queued %s: %v", m.Body, err)
		}
		out = append(out, msg)
	}
	return out
}

func TestCallStatus(t *testing.T) {
	completed := []string{"From", "client:alice", "To", "+14155550123", "CallStatus", "completed", "CallDuration", "42",
		"Timestamp", "Fri, 13 Nov 2026 15:08:59 +0000"}
	tests := []struct {
		name       string
		account    string
		token      string
		kv         []string
		queueErr   error
		wantStatus int
		wantType   string // "" for nothing queued
	}{
		{"signed final status", evAccount, evAuthToken, completed, nil, 204, tenant.EventCallCompleted},
		{"busy", evAccount, evAuthToken, []string{"From", "+442071838750", "To", "+14155550100", "CallStatus", "busy"}, nil, 204, tenant.EventCallCompleted},
		{"unsigned", evAccount, "", completed, nil, 403, ""},
		{"signed with another token", evAccount, plainToken, completed, nil, 403, ""},
		{"ringing: dropped", evAccount, evAuthToken, []string{"From", "client:alice", "CallStatus", "ringing"}, nil, 204, ""},
		{"in-progress: dropped", evAccount, evAuthToken, []string{"From", "client:alice", "CallStatus", "in-progress"}, nil, 204, ""},
		{"tenant without events", plainAccount, plainToken, completed, nil, 204, ""},
		{"tenant not taking call.completed", missedAccount, missedToken, completed, nil, 204, ""},
		{"queue down", evAccount, evAuthToken, completed, errors.New("sqs: RequestThrottled"), 503, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newEventHarness(t, httpapi.EventDeps{})
			h.queue.err = tc.queueErr
			w := h.post(httpapi.PathCallStatus, statusForm(tc.account, tc.kv...), tc.token)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantStatus, w.Body)
			}
			got := queuedEvents(t, h.queue)
			if tc.wantType == "" {
				if len(got) != 0 {
					t.Fatalf("queued %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("queued %d messages, want 1", len(got))
			}
			e := got[0].Event
			if e.Type != tc.wantType || e.AccountSID != tc.account || e.CallSID != evCall || e.ID != events.ID(tc.wantType, tc.account, evCall, "") {
				t.Errorf("event %+v", e)
			}
			assertNoSecrets(t, "logs", h.logs.String(), map[string]*tenant.Tenant{"events": h.tenants[0]})
			if strings.Contains(h.logs.String(), evBearer) || strings.Contains(h.logs.String(), evSigning) {
				t.Error("logs hold the events bearer token or signing secret")
			}
		})
	}
}

func TestCallStatusEventFields(t *testing.T) {
	h := newEventHarness(t, httpapi.EventDeps{})
	w := h.post(httpapi.PathCallStatus, statusForm(evAccount, "From", "client:alice", "To", "+14155550123", "CallStatus", "completed",
		"CallDuration", "42", "Timestamp", "Fri, 13 Nov 2026 15:08:59 +0000"), evAuthToken)
	if w.Code != 204 {
		t.Fatal(w.Code)
	}
	got := queuedEvents(t, h.queue)[0]
	want := events.Event{
		ID: events.ID(tenant.EventCallCompleted, evAccount, evCall, ""), Type: "call.completed", AccountSID: evAccount, CallSID: evCall,
		Direction: "outgoing", From: "client:alice", To: "+14155550123", Identity: "alice", Status: "completed", DurationSeconds: 42,
		OccurredAt: "2026-11-13T15:08:59Z", OccurredAtUnix: 1794582539,
	}
	if got.Event != want || got.HasRecording() {
		t.Errorf("queued\n%+v\nwant\n%+v", got, want)
	}
	// A repeated callback queues the same event_id.
	h.post(httpapi.PathCallStatus, statusForm(evAccount, "From", "client:alice", "To", "+14155550123", "CallStatus", "completed"), evAuthToken)
	if again := queuedEvents(t, h.queue); len(again) != 2 || again[1].Event.ID != want.ID {
		t.Errorf("repeat: %+v", again)
	}
}

func TestRecordingStatus(t *testing.T) {
	const q = "?from=%2B442071838750&to=%2B14155550100"
	twilioURL := "https://api.twilio.com/2010-04-01/Accounts/" + evAccount + "/Recordings/" + evRecording
	rec := func(kv ...string) []string {
		return append([]string{"RecordingSid", evRecording, "RecordingUrl", twilioURL, "RecordingStatus", "completed",
			"RecordingDuration", "31", "RecordingSource", "RecordVerb"}, kv...)
	}
	tests := []struct {
		name       string
		path       string
		kv         []string
		wantStatus int
		check      func(t *testing.T, m events.Queued)
	}{
		{"voicemail", httpapi.PathRecordingStatus + q, rec(), 204, func(t *testing.T, m events.Queued) {
			e := m.Event
			if e.Type != "voicemail.recorded" || e.From != "+442071838750" || e.To != "+14155550100" || e.Direction != "incoming" ||
				e.RecordingDurationSeconds != 31 || e.RecordingURL != "" || m.RecordingSID != evRecording || m.RecordingMediaURL != twilioURL {
				t.Errorf("%+v", m)
			}
		}},
		{"call recording", httpapi.PathRecordingStatus + "?from=client%3Aalice&to=%2B14155550123", rec("RecordingSource", "DialVerb"), 204, func(t *testing.T, m events.Queued) {
			if m.Event.Type != "call.recorded" || m.Event.Identity != "alice" || m.Event.Direction != "outgoing" {
				t.Errorf("%+v", m.Event)
			}
		}},
		{"absent", httpapi.PathRecordingStatus + q, rec("RecordingStatus", "absent"), 204, nil},
		{"foreign RecordingUrl", httpapi.PathRecordingStatus + q, rec("RecordingUrl", "https://evil.example/2010-04-01/Accounts/"+evAccount+"/Recordings/"+evRecording), 400, nil},
		{"http RecordingUrl", httpapi.PathRecordingStatus + q, rec("RecordingUrl", strings.Replace(twilioURL, "https", "http", 1)), 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newEventHarness(t, httpapi.EventDeps{})
			w := h.post(tc.path, statusForm(evAccount, tc.kv...), evAuthToken)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantStatus, w.Body)
			}
			got := queuedEvents(t, h.queue)
			if tc.check == nil {
				if len(got) != 0 {
					t.Errorf("queued %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("queued %d", len(got))
			}
			tc.check(t, got[0])
		})
	}
	// The query is part of what Twilio signs: a request whose query was
	// changed after signing is refused.
	h := newEventHarness(t, httpapi.EventDeps{})
	form := statusForm(evAccount, rec()...)
	r := httptest.NewRequest(http.MethodPost, httpapi.PathRecordingStatus+"?from=%2B1999&to=%2B14155550100", strings.NewReader(form.Encode()))
	r.Host = publicHost
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twiliosig.Header, twiliosig.Sign(publicBase+httpapi.PathRecordingStatus+q, form, evAuthToken))
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	if w.Code != 403 || len(h.queue.messages()) != 0 {
		t.Errorf("tampered query: %d, %d queued", w.Code, len(h.queue.messages()))
	}
}

// TestRecordingStatusQueuesTranscription: a tenant that transcribes a
// recording gets its pending transcript queued beside it, both before
// Twilio hears 204.
func TestRecordingStatusQueuesTranscription(t *testing.T) {
	twilioURL := "https://api.twilio.com/2010-04-01/Accounts/" + transAccount + "/Recordings/" + evRecording
	form := func(source string) url.Values {
		return statusForm(transAccount, "RecordingSid", evRecording, "RecordingUrl", twilioURL, "RecordingStatus", "completed",
			"RecordingDuration", "31", "RecordingSource", source)
	}
	path := httpapi.PathRecordingStatus + "?from=%2B442071838750&to=%2B14155550100"

	h := newEventHarness(t, httpapi.EventDeps{})
	if w := h.post(path, form("RecordVerb"), transToken); w.Code != 204 {
		t.Fatalf("voicemail: %d %s", w.Code, w.Body)
	}
	got := queuedEvents(t, h.queue)
	if len(got) != 2 || got[0].Event.Type != "voicemail.recorded" || got[1].Event.Type != "voicemail.transcribed" ||
		got[1].RecordingSID != evRecording || got[1].RecordingMediaURL != twilioURL || got[1].Event.ID == got[0].Event.ID {
		t.Fatalf("queued %+v", got)
	}

	// Calls are not transcribed for this tenant.
	h = newEventHarness(t, httpapi.EventDeps{})
	if w := h.post(path, form("DialVerb"), transToken); w.Code != 204 || len(queuedEvents(t, h.queue)) != 1 {
		t.Errorf("call recording: %d, %d queued", w.Code, len(queuedEvents(t, h.queue)))
	}

	// A tenant that does not transcribe: the recording only.
	h = newEventHarness(t, httpapi.EventDeps{})
	if w := h.post(path, statusForm(evAccount, "RecordingSid", evRecording, "RecordingUrl",
		"https://api.twilio.com/2010-04-01/Accounts/"+evAccount+"/Recordings/"+evRecording, "RecordingStatus", "completed",
		"RecordingSource", "RecordVerb"), evAuthToken); w.Code != 204 || len(queuedEvents(t, h.queue)) != 1 {
		t.Errorf("no transcribe: %d, %d queued", w.Code, len(queuedEvents(t, h.queue)))
	}

	// The queue failing: 503, so Twilio retries the callback.
	h = newEventHarness(t, httpapi.EventDeps{})
	h.queue.err = errors.New("down")
	if w := h.post(path, form("RecordVerb"), transToken); w.Code != 503 {
		t.Errorf("queue down: %d", w.Code)
	}
}

func TestDialCompleteQueuesMissed(t *testing.T) {
	tests := []struct {
		name      string
		account   string
		token     string
		dial      string
		bridged   string // DialBridged; "" for none
		queueErr  error
		wantQueue bool
		status    string // call.missed's status
	}{
		{"no-answer", evAccount, evAuthToken, "no-answer", "", nil, true, "no-answer"},
		{"busy, tenant taking only call.missed", missedAccount, missedToken, "busy", "", nil, true, "busy"},
		{"answered", evAccount, evAuthToken, "completed", "", nil, false, ""},
		{"screened leg accepted", evAccount, evAuthToken, "completed", "true", nil, false, ""},
		{"screened leg refused", evAccount, evAuthToken, "completed", "false", nil, true, "no-answer"},
		{"tenant without events", plainAccount, plainToken, "no-answer", "", nil, false, ""},
		{"queue down: TwiML anyway", evAccount, evAuthToken, "no-answer", "", errors.New("down"), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newEventHarness(t, httpapi.EventDeps{})
			h.queue.err = tc.queueErr
			form := statusForm(tc.account, "From", "+442071838750", "To", "+14155550100", "DialCallStatus", tc.dial)
			if tc.bridged != "" {
				form.Set("DialBridged", tc.bridged)
			}
			w := h.post(httpapi.PathDialComplete, form, tc.token)
			if w.Code != 200 || !strings.Contains(w.Body.String(), "<Response>") {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			got := queuedEvents(t, h.queue)
			if !tc.wantQueue {
				if len(got) != 0 {
					t.Errorf("queued %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Event.Type != "call.missed" || got[0].Event.Status != tc.status || got[0].Event.From != "+442071838750" {
				t.Errorf("queued %+v", got)
			}
		})
	}
}

// TestRecordingCallbackInTwiML: the TwiML that records points its
// recordingStatusCallback at /events/recording-status, relative to the
// webhook, with the call's parties in the query.
func TestRecordingCallbackInTwiML(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		account string
		token   string
		kv      []string
		want    string // "" for no recordingStatusCallback
	}{
		{"voicemail", httpapi.PathDialComplete, evAccount, evAuthToken, []string{"From", "+442071838750", "To", "+14155550100", "DialCallStatus", "no-answer"},
			`recordingStatusCallback="../events/recording-status?from=%2B442071838750&amp;to=%2B14155550100"`},
		{"recorded outgoing call", httpapi.PathVoice, evAccount, evAuthToken, []string{"From", "client:alice", "To", "+14155550123"},
			`record="record-from-answer-dual" recordingStatusCallback="events/recording-status?from=client%3Aalice&amp;to=%2B14155550123"`},
		{"recorded incoming call", httpapi.PathIncoming, evAccount, evAuthToken, []string{"From", "+442071838750", "To", "+14155550100"},
			`recordingStatusCallback="events/recording-status?from=%2B442071838750&amp;to=%2B14155550100"`},
		{"tenant without events", httpapi.PathDialComplete, plainAccount, plainToken, []string{"From", "+442071838750", "To", "+14155550100", "DialCallStatus", "no-answer"}, ""},
		{"tenant not taking recordings", httpapi.PathVoice, missedAccount, missedToken, []string{"From", "client:alice", "To", "+14155550123"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newEventHarness(t, httpapi.EventDeps{})
			w := h.post(tc.path, statusForm(tc.account, tc.kv...), tc.token)
			body := w.Body.String()
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, body)
			}
			if tc.want == "" {
				if strings.Contains(body, "recordingStatusCallback") {
					t.Errorf("TwiML %s", body)
				}
				return
			}
			if !strings.Contains(body, tc.want) {
				t.Errorf("TwiML %s\nlacks %s", body, tc.want)
			}
		})
	}
}

// TestRecordingCallbackRoundTrip posts back to the URL the TwiML named,
// resolved the way Twilio resolves it, under a stage prefix: the signature
// check and the routing both accept it.
func TestRecordingCallbackRoundTrip(t *testing.T) {
	h := newEventHarness(t, httpapi.EventDeps{})
	w := h.post(httpapi.PathDialComplete, statusForm(evAccount, "From", "+442071838750", "To", "+14155550100", "DialCallStatus", "no-answer"), evAuthToken)
	doc := parseTwiMLRecord(t, w.Body.String())
	base, _ := url.Parse(publicBase + "/prod" + httpapi.PathDialComplete)
	ref, _ := url.Parse(doc)
	cb := base.ResolveReference(ref)
	if cb.Path != "/prod"+httpapi.PathRecordingStatus {
		t.Fatalf("callback resolves to %s", cb)
	}
	// Twilio posts to the resolved URL; the stage is stripped for routing
	// as API Gateway's adapter does, and PublicBaseURL carries it.
	h.deps.PublicBaseURL = publicBase + "/prod"
	handler := httpapi.All(h.deps)
	form := statusForm(evAccount, "RecordingSid", evRecording, "RecordingStatus", "completed", "RecordingSource", "RecordVerb",
		"RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/"+evAccount+"/Recordings/"+evRecording)
	r := httptest.NewRequest(http.MethodPost, httpapi.PathRecordingStatus+"?"+cb.RawQuery, strings.NewReader(form.Encode()))
	r.Host = publicHost
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twiliosig.Header, twiliosig.Sign(cb.String(), form, evAuthToken))
	rw := httptest.NewRecorder()
	handler.ServeHTTP(rw, r)
	if rw.Code != 204 {
		t.Fatalf("callback answered %d: %s", rw.Code, rw.Body)
	}
	// The no-answer step queued call.missed; the callback, the voicemail.
	got := queuedEvents(t, h.queue)
	if len(got) != 2 || got[0].Event.Type != "call.missed" || got[1].Event.From != "+442071838750" || got[1].Event.Type != "voicemail.recorded" {
		t.Errorf("queued %+v", got)
	}
}

// parseTwiMLRecord returns the recordingStatusCallback of the <Record>.
func parseTwiMLRecord(tb testing.TB, body string) string {
	tb.Helper()
	var doc struct {
		Record struct {
			CB string `xml:"recordingStatusCallback,attr"`
		} `xml:"Record"`
	}
	if err := xmlUnmarshal(body, &doc); err != nil || doc.Record.CB == "" {
		tb.Fatalf("no recordingStatusCallback in %s: %v", body, err)
	}
	return doc.Record.CB
}

var _ = recordings.Key

func xmlUnmarshal(s string, v any) error { return xml.Unmarshal([]byte(s), v) }
