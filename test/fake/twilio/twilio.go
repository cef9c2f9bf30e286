// Package twilio is an in-process fake of the routes of Twilio's REST API
// that cmd/subaccounts/internal/provision calls (2010-04-01 Accounts, Keys, Applications,
// IncomingPhoneNumbers, Calls and Usage Records; accounts/v1 AuthTokens;
// voice/v1 dialing permissions Settings and Countries) and that call
// control calls (Calls, Conferences, Participants, with a model of the
// calls themselves: voice.go), speaking Twilio's
// wire format: HTTP Basic auth, form-encoded POSTs, JSON answers with paging
// fields, and Twilio's error JSON. Tests point the real twilio-go client at
// it, count calls per route and inject faults per route.
//
// Where Twilio's documentation is silent the fake picks a behaviour and says
// so on the method that seeds it (what a transfer keeps of a number, what a
// subaccount that inherits dialing permissions reports per country).
package twilio

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Routes, as Calls and SetFault name them: the method and the path with the
// SIDs replaced by placeholders.
const (
	RouteListAccounts     = "GET /2010-04-01/Accounts.json"
	RouteCreateAccount    = "POST /2010-04-01/Accounts.json"
	RouteFetchAccount     = "GET /2010-04-01/Accounts/{Sid}.json"
	RouteListKeys         = "GET /2010-04-01/Accounts/{Sid}/Keys.json"
	RouteCreateKey        = "POST /2010-04-01/Accounts/{Sid}/Keys.json"
	RouteDeleteKey        = "DELETE /2010-04-01/Accounts/{Sid}/Keys/{KeySid}.json"
	RouteListApps         = "GET /2010-04-01/Accounts/{Sid}/Applications.json"
	RouteCreateApp        = "POST /2010-04-01/Accounts/{Sid}/Applications.json"
	RouteFetchApp         = "GET /2010-04-01/Accounts/{Sid}/Applications/{AppSid}.json"
	RouteUpdateApp        = "POST /2010-04-01/Accounts/{Sid}/Applications/{AppSid}.json"
	RouteListNumbers      = "GET /2010-04-01/Accounts/{Sid}/IncomingPhoneNumbers.json"
	RouteUpdateNumber     = "POST /2010-04-01/Accounts/{Sid}/IncomingPhoneNumbers/{PnSid}.json"
	RouteCreateSecondary  = "POST /v1/AuthTokens/Secondary"
	RoutePromoteSecondary = "POST /v1/AuthTokens/Promote"

	RouteUpdateAccount        = "POST /2010-04-01/Accounts/{Sid}.json"
	RouteListCalls            = "GET /2010-04-01/Accounts/{Sid}/Calls.json"
	RouteUpdateCall           = "POST /2010-04-01/Accounts/{Sid}/Calls/{CallSid}.json"
	RouteListUsage            = "GET /2010-04-01/Accounts/{Sid}/Usage/Records.json"
	RouteFetchDialingSettings = "GET /v1/Settings"
	RouteUpdateDialingSetting = "POST /v1/Settings"
	RouteFetchDialingCountry  = "GET /v1/DialingPermissions/Countries/{IsoCode}"
)

// Fault is what a SetFault function asks the server to answer instead of
// running the request. The zero Fault runs the request.
type Fault struct {
	// Status is the HTTP status (e.g. 400, 500); 0 means no fault.
	Status int
	// Code and Message fill Twilio's error JSON; Code defaults to 20500.
	Code    int
	Message string
}

// Error is a Fault in Twilio's error shape with the more_info URL Twilio
// derives from the code.
func Error(status, code int, message string) Fault {
	return Fault{Status: status, Code: code, Message: message}
}

// InternalError is Twilio's own 500.
func InternalError() Fault { return Error(500, 20500, "Internal Server Error") }

// Account is a snapshot of one (main or sub) account.
type Account struct {
	SID          string
	FriendlyName string
	Owner        string // the owner's SID; equals SID for the main account
	Status       string
	AuthToken    string
	// Secondary is the secondary auth token, "" when there is none.
	Secondary string
}

// Key is a snapshot of one API key.
type Key struct {
	SID, FriendlyName, Secret string
	// Main keys may use the Accounts and Keys resources; standard keys
	// (what the Keys endpoint creates) may not.
	Main bool
}

// App is a snapshot of one TwiML App.
type App struct {
	SID, FriendlyName                     string
	VoiceURL, VoiceMethod                 string
	VoiceFallbackURL, VoiceFallbackMethod string
	StatusCallback, StatusCallbackMethod  string
}

// Number is a snapshot of one IncomingPhoneNumber.
type Number struct {
	SID, PhoneNumber                      string
	VoiceURL, VoiceMethod                 string
	VoiceFallbackURL, VoiceFallbackMethod string
	VoiceApplicationSID                   string
	StatusCallback, StatusCallbackMethod  string
}

// Call is a snapshot of one call. Status is one of Twilio's call statuses:
// queued, ringing, in-progress, completed, canceled, busy, no-answer, failed.
type Call struct {
	SID, From, To, Status string
	// ParentCallSID is set on a leg a <Dial> (of the parent) placed.
	ParentCallSID string
	// StatusCallback is the URL the call's final status goes to, as the
	// last Calls update set it.
	StatusCallback string
	// Conference is the friendly name of the conference the call is in,
	// "" when none (voice.go).
	Conference string
	// TwiML is the last document the call was given (by a Calls update,
	// or an action URL's answer), for tests to read.
	TwiML string
	// Paused is true while the call waits in a <Pause> or <Play>; Continue runs
	// what follows it.
	Paused bool
}

// Usage is one day of usage in one category, the unit the fake's Usage
// Records sum over a period.
type Usage struct {
	Date     string // YYYY-MM-DD
	Category string // e.g. "calls", "recordings", "phonenumbers"
	Count    int
	Usage    int    // in the category's usage unit (minutes for calls)
	Price    string // decimal, in USD, e.g. "1.2750"
}

type account struct {
	Account
	keys    []*Key
	apps    []*App
	numbers []*Number
	calls   []*Call
	usage   []Usage
	// legs and conferences are the voice model of voice.go.
	legs        map[string]*leg
	conferences []*conference
	// lastCreate is when the account last placed an outbound call
	// (Participants create), for Twilio's one call per second.
	lastCreate time.Time
	// inherit is the voice dialing permissions inheritance of a subaccount
	// (true when created, as in Twilio); countries are the account's own
	// low-risk permissions by ISO code.
	inherit   bool
	countries map[string]bool
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	ts *httptest.Server

	mu       sync.Mutex
	accounts []*account // creation order; [0] is the main account
	calls    map[string]int
	log      []string
	fault    func(route string, r *http.Request) Fault
	maxPage  int
	// now is the fake's clock (outbound call rate); pending are the
	// webhooks a request caused, sent after it ran (voice.go).
	now     func() time.Time
	pending []webhook
	client  *http.Client
}

// Start starts a fake with one main account whose SID and auth token are
// random (read them with Main); it is closed when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{calls: make(map[string]int), maxPage: 1000, now: time.Now, client: &http.Client{Timeout: 10 * time.Second}}
	sid := NewSID("AC")
	s.accounts = append(s.accounts, &account{
		Account: Account{SID: sid, FriendlyName: "Main account", Owner: sid, Status: "active", AuthToken: randomHex(16)},
	})
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	tb.Cleanup(s.ts.Close)
	return s
}

// URL is the base URL replacing https://api.twilio.com and
// https://accounts.twilio.com (both APIs are served here).
func (s *Server) URL() string { return s.ts.URL }

// Main returns the main account's SID and auth token.
func (s *Server) Main() (sid, authToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[0].SID, s.accounts[0].AuthToken
}

// AddSubaccount seeds an active subaccount of the main account.
func (s *Server) AddSubaccount(friendlyName string) Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addSub(friendlyName).Account
}

func (s *Server) addSub(friendlyName string) *account {
	a := &account{
		Account: Account{SID: NewSID("AC"), FriendlyName: friendlyName, Owner: s.accounts[0].SID, Status: "active", AuthToken: randomHex(16)},
		inherit: true,
	}
	s.accounts = append(s.accounts, a)
	return a
}

// AddKey seeds an API key in accountSID; main says whether it is a main key.
func (s *Server) AddKey(accountSID, friendlyName string, main bool) Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.find(accountSID)
	if a == nil {
		panic("twilio fake: AddKey: no account " + accountSID)
	}
	k := &Key{SID: NewSID("SK"), FriendlyName: friendlyName, Secret: randomAlnum(32), Main: main}
	a.keys = append(a.keys, k)
	return *k
}

// AddApp seeds a TwiML App in accountSID.
func (s *Server) AddApp(accountSID string, app App) App {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.find(accountSID)
	if a == nil {
		panic("twilio fake: AddApp: no account " + accountSID)
	}
	app.SID = NewSID("AP")
	a.apps = append(a.apps, &app)
	return app
}

// AddNumber seeds an IncomingPhoneNumber (E.164) in accountSID with no
// voice configuration.
func (s *Server) AddNumber(accountSID, e164 string) Number {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.find(accountSID)
	if a == nil {
		panic("twilio fake: AddNumber: no account " + accountSID)
	}
	n := &Number{SID: NewSID("PN"), PhoneNumber: e164, VoiceMethod: "POST", VoiceFallbackMethod: "POST"}
	a.numbers = append(a.numbers, n)
	return *n
}

// AddCall seeds a call of accountSID with status (e.g. "in-progress").
func (s *Server) AddCall(accountSID, from, to, status string) Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.find(accountSID)
	if a == nil {
		panic("twilio fake: AddCall: no account " + accountSID)
	}
	c := &Call{SID: NewSID("CA"), From: from, To: to, Status: status}
	a.calls = append(a.calls, c)
	return *c
}

// CallsOf lists accountSID's calls in creation order (Calls counts requests).
func (s *Server) CallsOf(accountSID string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	if a := s.find(accountSID); a != nil {
		for _, c := range a.calls {
			out = append(out, *c)
		}
	}
	return out
}

// AddUsage seeds usage of accountSID; Usage Records sum it over the
// requested period. The "totalprice" category is the sum of every other
// category's price, as in Twilio.
func (s *Server) AddUsage(accountSID string, u ...Usage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.find(accountSID)
	if a == nil {
		panic("twilio fake: AddUsage: no account " + accountSID)
	}
	a.usage = append(a.usage, u...)
}

// SetDialingPermission sets whether accountSID's own voice dialing
// permissions allow low-risk numbers of country iso ("US").
func (s *Server) SetDialingPermission(accountSID, iso string, lowRisk bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.find(accountSID)
	if a == nil {
		panic("twilio fake: SetDialingPermission: no account " + accountSID)
	}
	if a.countries == nil {
		a.countries = map[string]bool{}
	}
	a.countries[iso] = lowRisk
}

// DialingInheritance reports whether the subaccount inherits the main
// account's voice dialing permissions.
func (s *Server) DialingInheritance(accountSID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.find(accountSID)
	return a != nil && a.inherit
}

// SetStatus sets an account's status ("active", "suspended", "closed")
// without a request, as Twilio itself might.
func (s *Server) SetStatus(accountSID, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.find(accountSID); a != nil {
		a.Status = status
	}
}

// Account returns a snapshot of the account sid.
func (s *Server) Account(sid string) (Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.find(sid); a != nil {
		return a.Account, true
	}
	return Account{}, false
}

// Subaccounts lists the main account's subaccounts in creation order.
func (s *Server) Subaccounts() []Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Account
	for _, a := range s.accounts[1:] {
		out = append(out, a.Account)
	}
	return out
}

// Keys lists accountSID's API keys (with their secrets) in creation order.
func (s *Server) Keys(accountSID string) []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Key
	if a := s.find(accountSID); a != nil {
		for _, k := range a.keys {
			out = append(out, *k)
		}
	}
	return out
}

// Apps lists accountSID's TwiML Apps in creation order.
func (s *Server) Apps(accountSID string) []App {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []App
	if a := s.find(accountSID); a != nil {
		for _, p := range a.apps {
			out = append(out, *p)
		}
	}
	return out
}

// Numbers lists accountSID's IncomingPhoneNumbers in creation order.
func (s *Server) Numbers(accountSID string) []Number {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Number
	if a := s.find(accountSID); a != nil {
		for _, n := range a.numbers {
			out = append(out, *n)
		}
	}
	return out
}

// SetNumber replaces the voice configuration of the number with n.SID, so a
// test can break what provisioning set up.
func (s *Server) SetNumber(accountSID string, n Number) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.find(accountSID); a != nil {
		for i, old := range a.numbers {
			if old.SID == n.SID {
				a.numbers[i] = &n
			}
		}
	}
}

// SetApp replaces the TwiML App with app.SID.
func (s *Server) SetApp(accountSID string, app App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.find(accountSID); a != nil {
		for i, old := range a.apps {
			if old.SID == app.SID {
				a.apps[i] = &app
			}
		}
	}
}

// Calls returns how many requests matched route (one of the Route
// constants) since the last ResetCalls, faulted and refused ones included.
func (s *Server) Calls(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// Writes counts the requests since the last ResetCalls that were not GETs:
// the number a no-op rerun must keep at zero.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for route, c := range s.calls {
		if len(route) < 4 || route[:4] != "GET " {
			n += c
		}
	}
	return n
}

// Log returns the routes called since the last ResetCalls, in order.
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// ResetCalls zeroes the counters and the log.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = make(map[string]int)
	s.log = nil
}

// SetFault installs f, called with the route of every authenticated request
// before it runs; a non-zero Fault is answered instead. f runs without the
// server's lock held, so it may inspect the server (or another fake) to
// check ordering. nil removes it.
func (s *Server) SetFault(f func(route string, r *http.Request) Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// SetMaxPageSize caps the page size the server answers with, so a test can
// make every list span several pages.
func (s *Server) SetMaxPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxPage = n
}

// find returns the account sid; the caller holds mu.
func (s *Server) find(sid string) *account {
	for _, a := range s.accounts {
		if a.SID == sid {
			return a
		}
	}
	return nil
}

// NewSID returns prefix followed by 32 random lowercase hex digits, the
// shape of every Twilio SID.
func NewSID(prefix string) string { return prefix + randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomAlnum(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
