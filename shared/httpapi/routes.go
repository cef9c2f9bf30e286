// Package httpapi is the service's HTTP surface: the one place that lists
// every route, the handlers behind them, the Twilio signature check and the
// mapping of error kinds to statuses. routes.go builds every handler from
// one Deps, and each handler takes only what it uses. Each Lambda function
// mounts only its own routes (Token, Voice, Incoming) and the dev server
// mounts them all, so both run the same code.
package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"bubble-twilio-voice/shared/callcontrol"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/ratelimit"
	"bubble-twilio-voice/shared/routes"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/voice"
)

// Routes, as API Gateway and the dev server serve them. The paths are
// package routes', which voice, recordings and the CLI share; the no-answer
// steps sit under /incoming because the TwiML points at them with relative
// URLs (see voice.DialCompleteAction), which keeps a stage prefix.
const (
	PathToken             = routes.Token
	PathVoice             = routes.Voice
	PathIncoming          = routes.Incoming
	PathDialComplete      = routes.DialComplete
	PathRecordingComplete = routes.RecordingComplete
	// A screened phone's whisper (its <Number url>) and the whisper's
	// <Gather> action (docs/screening.md).
	PathScreen       = routes.Screen
	PathScreenAnswer = routes.ScreenAnswer

	// Call events (events.go): Twilio's status callbacks and the recording
	// links (PathRecordings + AccountSid + "/" + RecordingSid). The
	// delivery has no route: the queue calls delivery.Deliver.
	PathCallStatus      = routes.CallStatus
	PathRecordingStatus = routes.RecordingStatus
	PathRecordings      = routes.Recordings
	// PathTranscripts + AccountSid + "/" + RecordingSid is a transcript
	// link: the full text of a transcript too long for its event.
	PathTranscripts = routes.Transcripts
	// Call control (calls.go): the browser's hold, transfer and add, and
	// the hub's status callback from Twilio.
	PathCallsHold             = routes.CallsHold
	PathCallsResume           = routes.CallsResume
	PathCallsTransfer         = routes.CallsTransfer
	PathCallsTransferComplete = routes.CallsTransferComplete
	PathCallsTransferCancel   = routes.CallsTransferCancel
	PathCallsAdd              = routes.CallsAdd
	PathCallsRemove           = routes.CallsRemove
	PathConferenceEvents      = routes.ConferenceStatus

	// PathDevEventsTest is the dev server's own (devevents.go): it queues
	// test events for Bubble's "Detect data". No Lambda function mounts it.
	PathDevEventsTest = routes.DevEventsTest
)

// Deps is what the routes are built from. The zero values of Log, Metrics
// and Limiter are usable (discard, count nothing, no limit).
type Deps struct {
	Store   tenant.Store
	Log     *slog.Logger
	Metrics *metrics.Emitter
	Now     func() time.Time
	// PublicBaseURL, when set, is the URL Twilio calls up to the route
	// path: scheme, host and, behind a custom domain's API mapping key, its
	// base path ("https://voice.example.com/calls"). Signatures are checked
	// against it plus the route path; a request path that starts with the
	// base path is routed without it. Otherwise the URL is rebuilt from the
	// request (see signedURL).
	PublicBaseURL string
	// CORSAllowedOrigins are browser origins allowed to call /token and
	// the call-control routes; "*" allows any. Empty: no CORS headers
	// (server-to-server, as Bubble's API Connector calls it).
	CORSAllowedOrigins []string
	// Limiter caps tokens per tenant and identity; nil allows all.
	Limiter *ratelimit.Limiter
	// Numbers reads dialled numbers for the call decisions: phone.Library
	// in the functions that place calls (voice, incoming, the dev server).
	// Setup leaves it nil, so the token function does not link the
	// phone-number library; nil dials no phone number.
	Numbers voice.Numbers
	// Events is what the call-event routes need; its zero value queues
	// nothing (events.go).
	Events EventDeps
	// Calls is what the call-control routes need (calls.go).
	Calls CallsDeps
}

// Token serves /token, the token function's only route.
func Token(d Deps) http.Handler { return d.routes(mountToken) }

// Voice serves /voice, the TwiML App's Voice URL: calls placed from browsers
// (and calls to a number pointed at it, which voice.Outgoing routes like
// /incoming).
func Voice(d Deps) http.Handler { return d.routes(mountVoice) }

// Incoming serves /incoming and its no-answer steps: calls to the tenant's
// numbers.
func Incoming(d Deps) http.Handler { return d.routes(mountIncoming) }

// Events serves Twilio's call and recording status callbacks and the
// recording links: the events function's routes.
func Events(d Deps) http.Handler { return d.routes(mountEvents) }

// Calls serves the call-control routes: the calls function's.
func Calls(d Deps) http.Handler { return d.routes(mountCalls) }

// All serves every route of the Lambda functions on one handler.
func All(d Deps) http.Handler { return d.routes(functionMounts()...) }

// DevServer serves All's routes and the dev server's own, POST
// /dev/events/test, whose test events samples makes: the Lambda functions
// never call it, so their binaries do not contain that route (test/deps
// checks).
func DevServer(d Deps, samples SampleFunc) http.Handler {
	dev := func(mux *router, d Deps) { mountDev(mux, d, samples) }
	return d.routes(append(functionMounts(), dev)...)
}

// functionMounts are the routes of every Lambda function: All's, and the
// dev server's with its own.
func functionMounts() []func(*router, Deps) {
	return []func(*router, Deps){mountToken, mountVoice, mountIncoming, mountEvents, mountCalls}
}

// routes mounts a function's routes on one router behind the request log.
func (d Deps) routes(mounts ...func(*router, Deps)) http.Handler {
	d = d.withDefaults()
	mux := &router{}
	for _, mount := range mounts {
		mount(mux, d)
	}
	return d.serve(mux)
}

func mountToken(mux *router, d Deps) {
	issue := issuer(d.Limiter, d.Now, d.Metrics)
	mux.Handle(PathToken, withCORS(d.CORSAllowedOrigins, "GET, POST, OPTIONS")(handleToken(d.Store, issue, d.Log)))
}

func mountVoice(mux *router, d Deps) {
	rules := voice.Rules{Numbers: d.Numbers}
	mux.Handle(PathVoice, d.webhook()(d.step("outgoing", rules.Outgoing)))
}

func mountIncoming(mux *router, d Deps) {
	rules := voice.Rules{Numbers: d.Numbers}
	webhook := d.webhook()
	missed := queueMissed(enqueuer(d.Events.Queue, d.Log, d.Metrics), d.Now)
	mux.Handle(PathIncoming, webhook(d.step("incoming", rules.Incoming)))
	mux.Handle(PathDialComplete, webhook(missed(d.step("dial_complete", rules.DialComplete))))
	mux.Handle(PathRecordingComplete, webhook(d.step("recording_complete", rules.RecordingComplete)))
	mux.Handle(PathScreen, webhook(d.step("screen", rules.Screen)))
	mux.Handle(PathScreenAnswer, webhook(d.step("screen_answer", rules.ScreenAnswer)))
}

func mountCalls(mux *router, d Deps) {
	ctl := &callcontrol.Controller{Rules: voice.Rules{Numbers: d.Numbers}}
	tw := d.Calls.client(d.Now)
	op := func(f callOp, needsTo bool) http.Handler {
		return withCORS(d.CORSAllowedOrigins, "POST, OPTIONS")(handleCallOp(f, needsTo, d.Store, tw, d.PublicBaseURL, d.Now, d.Log))
	}
	mux.Handle(PathCallsHold, op(ctl.Hold, false))
	mux.Handle(PathCallsResume, op(ctl.Resume, false))
	mux.Handle(PathCallsTransfer, op(ctl.Transfer, true))
	mux.Handle(PathCallsTransferComplete, op(ctl.CompleteTransfer, false))
	mux.Handle(PathCallsTransferCancel, op(ctl.CancelTransfer, false))
	mux.Handle(PathCallsAdd, op(ctl.Add, true))
	mux.Handle(PathCallsRemove, op(ctl.Remove, true))
	mux.Handle(PathConferenceEvents, d.webhook()(handleConferenceEvents(tw, d.PublicBaseURL, d.Log)))
}

func mountEvents(mux *router, d Deps) {
	d.Events = d.Events.withDefaults() // here, so only the events function links the fetcher
	webhook := d.webhook()
	enqueue := enqueuer(d.Events.Queue, d.Log, d.Metrics)
	mux.Handle(PathCallStatus, webhook(handleCallStatus(enqueue, d.Now, d.Log)))
	mux.Handle(PathRecordingStatus, webhook(handleRecordingStatus(d.Events.Fetcher, enqueue, d.Now, d.Log, d.Metrics)))
	mux.Handle(PathRecordings+"{account_sid}/{recording_sid}", handleRecording(linkedRecording, d.Store, d.Events.Links, d.Events.Recordings, d.Now, d.Log))
	mux.Handle(PathTranscripts+"{account_sid}/{recording_sid}", handleRecording(linkedTranscript, d.Store, d.Events.Links, d.Events.Recordings, d.Now, d.Log))
}

func mountDev(mux *router, d Deps, samples SampleFunc) {
	enqueue := enqueuer(d.Events.Queue, d.Log, d.Metrics)
	mux.Handle(PathDevEventsTest, handleEventsTest(d.Store, enqueue, samples, d.PublicBaseURL, d.Now, d.Log))
}

// webhook is the Twilio signature check in front of every webhook route.
func (d Deps) webhook() func(http.Handler) http.Handler {
	return signed(d.Store, d.PublicBaseURL, d.Log, d.Metrics)
}

// step is the handler of one call step (a TwiML answer) named name in logs.
func (d Deps) step(name string, decide func(voice.Call, *tenant.Tenant) voice.Decision) http.Handler {
	return handleStep(name, decide, d.Now, d.Log, d.Metrics)
}

func (d Deps) withDefaults() Deps {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

// serve adds the request id and the access log line around mux, and routes
// a path that carries PublicBaseURL's base path without it.
func (d Deps) serve(mux *router) http.Handler {
	return stripBasePath(basePath(d.PublicBaseURL), mux, logging.Middleware(d.Log, d.Now)(mux))
}

// basePath is the path of a public base URL ("/calls" for
// https://voice.example.com/calls), "" when it has none.
func basePath(publicBaseURL string) string {
	u, err := url.Parse(publicBaseURL)
	if err != nil {
		return "" // config.Load refuses such a URL
	}
	return strings.TrimRight(u.Path, "/")
}

// stripBasePath routes a request whose path starts with base as if it did
// not. Whether the path carries the base path depends on who forwards it:
// API Gateway's payload 2.0 leaves an API mapping key out of rawPath, a
// proxy or a REST API mapping keeps it. So a path the mux serves as it is
// is routed as it is, and only one it does not serve is tried without the
// base path: this works for both, whatever the base path is called. next
// (mux behind the access log) gets the request with the path it routes.
func stripBasePath(base string, mux *router, next http.Handler) http.Handler {
	if base == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, base)
		if ok && strings.HasPrefix(rest, "/") {
			if _, ok := mux.match(r.URL.Path); !ok {
				r2 := new(http.Request)
				*r2 = *r
				u := *r.URL
				u.Path, u.RawPath = rest, ""
				if raw, ok := strings.CutPrefix(r.URL.RawPath, base); ok {
					u.RawPath = raw
				}
				r2.URL = &u
				r = r2
			}
		}
		next.ServeHTTP(w, r)
	})
}

// router serves one function's routes: each pattern is a path whose
// segments in braces match any one non-empty segment and are the request's
// path values (PathRecordings + "{account_sid}/{recording_sid}"); any other
// path is answered 404, as http.ServeMux answers it. It stands in for
// http.ServeMux, whose general matching (methods, hosts, precedence, "..."
// wildcards, redirects to clean paths) is about 27 KB of every bootstrap:
// the bytes that kept the incoming function over its 12 MB limit.
type router struct{ routes []route }

type route struct {
	segments []string // the pattern split at "/"
	wild     bool     // some segment is a "{name}"
	h        http.Handler
}

// Handle adds a route; the first pattern that matches a path wins.
func (m *router) Handle(pattern string, h http.Handler) {
	rt := route{segments: strings.Split(pattern, "/"), h: h}
	for _, s := range rt.segments {
		_, w := wildcard(s)
		rt.wild = rt.wild || w
	}
	m.routes = append(m.routes, rt)
}

// match returns the route that serves path, without allocating.
func (m *router) match(path string) (route, bool) {
next:
	for _, rt := range m.routes {
		rest := path
		for i, s := range rt.segments {
			seg, after, more := strings.Cut(rest, "/")
			if more != (i < len(rt.segments)-1) {
				continue next // the path has more or fewer segments
			}
			if _, ok := wildcard(s); !(ok && seg != "" || s == seg) {
				continue next
			}
			rest = after
		}
		return rt, true
	}
	return route{}, false
}

// wildcard returns the name of a "{name}" segment.
func wildcard(segment string) (string, bool) {
	name, ok := strings.CutPrefix(segment, "{")
	name, ok2 := strings.CutSuffix(name, "}")
	return name, ok && ok2
}

// ServeHTTP implements http.Handler.
func (m *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, ok := m.match(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rt.wild {
		segs := strings.Split(r.URL.Path, "/")
		for i, s := range rt.segments {
			if name, ok := wildcard(s); ok {
				r.SetPathValue(name, segs[i])
			}
		}
	}
	rt.h.ServeHTTP(w, r)
}
