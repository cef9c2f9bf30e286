// Package smwire is an in-process fake of AWS Secrets Manager that speaks the
// service's real wire protocol (awsJson1_1 over HTTP), so tests can point the
// real aws-sdk-go-v2 client, or a real bootstrap binary through
// AWS_ENDPOINT_URL_SECRETS_MANAGER, at it instead of AWS.
//
// It implements the operations this repository uses (GetSecretValue,
// CreateSecret, PutSecretValue, UpdateSecret, DescribeSecret, ListSecrets),
// counts calls per operation, and injects faults (AWS errors, delays,
// malformed bodies, dropped connections) so callers' failure handling can be
// tested against the SDK's real retry and deserialisation code.
package smwire

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"
)

// Identity of the fake: every ARN it makes uses these.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
)

// Static test credentials that Env and SetEnv hand to clients. The server
// checks a request is SigV4-signed but not the signature itself, so any
// credentials work; these are merely convenient.
const (
	AccessKeyID     = "AKIDSMWIRETEST000000"
	SecretAccessKey = "smwire-test-secret-key"
)

// Server is a fake Secrets Manager. Its methods are safe for concurrent use;
// the zero value is not usable, call NewServer or Start.
type Server struct {
	handler http.Handler
	ts      *httptest.Server // nil until NewServer starts it
	closed  chan struct{}    // closed by Close to release held requests
	once    sync.Once

	mu      sync.Mutex
	secrets map[string]*secret // by name
	seq     int                // creation order, for ListSecrets
	calls   map[string]int     // by operation
	total   int
	fault   func(op, secretID string) Fault
	now     func() time.Time
}

// secret is one secret with its versions. Versions without a staging label
// are dropped, as AWS eventually does, so a long test stays small.
type secret struct {
	name        string
	arn         string
	description string
	seq         int
	created     time.Time
	changed     time.Time
	accessed    time.Time
	versions    map[string]*version // by version id
	stages      map[string]string   // staging label -> version id
}

type version struct {
	id      string
	str     *string
	bin     []byte
	created time.Time
}

// NewServer starts a fake listening on 127.0.0.1 on a free port. Close it
// when done (Start does that for you in a test).
func NewServer() *Server {
	s := newServer()
	s.ts = httptest.NewServer(s.handler)
	return s
}

// Start is NewServer for tests: the server is closed when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := NewServer()
	tb.Cleanup(s.Close)
	return s
}

func newServer() *Server {
	s := &Server{
		closed:  make(chan struct{}),
		secrets: make(map[string]*secret),
		calls:   make(map[string]int),
		now:     time.Now,
	}
	s.handler = http.HandlerFunc(s.serveHTTP)
	return s
}

// URL is the endpoint to give the SDK (BaseEndpoint or
// AWS_ENDPOINT_URL_SECRETS_MANAGER), e.g. "http://127.0.0.1:40123".
func (s *Server) URL() string { return s.ts.URL }

// Handler serves the same fake (same secrets, counters and faults) so a test
// can put it on a listener of its own.
func (s *Server) Handler() http.Handler { return s.handler }

// Close releases requests held by a delay fault, then stops the listener and
// waits for in-flight requests. After Close, new connections are refused,
// which is how a test simulates "connection refused".
func (s *Server) Close() {
	s.once.Do(func() { close(s.closed) })
	if s.ts != nil {
		s.ts.Close()
	}
}

// Env returns the environment a child process (a bootstrap binary under a
// Lambda emulator, a CLI) needs to use this server with static credentials
// and no EC2 metadata lookups, as KEY=value strings.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + s.URL(),
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// SetEnv sets Env's variables for the rest of tb (t.Setenv), so
// config.LoadDefaultConfig in the test process finds this server. Like
// t.Setenv it cannot be used in parallel tests.
func (s *Server) SetEnv(tb testing.TB) {
	tb.Helper()
	tb.Setenv("AWS_SESSION_TOKEN", "")
	tb.Setenv("AWS_PROFILE", "")
	for _, kv := range s.Env() {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				tb.Setenv(kv[:i], kv[i+1:])
				break
			}
		}
	}
}

// Put seeds a secret: it creates name with secretString as its AWSCURRENT
// version, or, if name exists, adds a new AWSCURRENT version and moves the
// old one to AWSPREVIOUS, exactly as PutSecretValue would. It is not counted
// as a call and ignores faults.
func (s *Server) Put(name, secretString string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[name]
	if sec == nil {
		sec = s.create(name, "")
	}
	v := secretString
	s.addVersion(sec, newUUID(), &v, nil, []string{stageCurrent})
}

// Get returns the AWSCURRENT SecretString of name, so a test can check what a
// CLI wrote. ok is false when there is no such secret or no string value.
func (s *Server) Get(name string) (value string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[name]
	if sec == nil {
		return "", false
	}
	v := sec.versions[sec.stages[stageCurrent]]
	if v == nil || v.str == nil {
		return "", false
	}
	return *v.str, true
}

// ARN returns the ARN of name, or "" when there is none.
func (s *Server) ARN(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[name]; sec != nil {
		return sec.arn
	}
	return ""
}

// Delete removes name at once (like DeleteSecret with
// ForceDeleteWithoutRecovery) and reports whether it existed.
func (s *Server) Delete(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.secrets[name]
	delete(s.secrets, name)
	return ok
}

// Names lists the secrets' names, sorted.
func (s *Server) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.secrets))
	for n := range s.secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Calls returns how many requests for op (e.g. "GetSecretValue") arrived
// since the last ResetCalls, including ones answered with a fault or an
// error.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// TotalCalls returns how many requests arrived since the last ResetCalls,
// including ones with an unknown operation or no signature.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// ResetCalls zeroes the counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = make(map[string]int)
	s.total = 0
}

// SetFault installs f, called for every well-formed, signed request with its
// operation and SecretId (or Name for CreateSecret, "" for ListSecrets); the
// Fault it returns is applied instead of (or, for a pure Delay, before) the
// real operation. A zero Fault lets the request through. nil removes it.
func (s *Server) SetFault(f func(op, secretID string) Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// SetNow replaces the clock used for CreatedDate and friends.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// create adds an empty secret; the caller holds mu.
func (s *Server) create(name, description string) *secret {
	s.seq++
	now := s.now()
	sec := &secret{
		name:        name,
		arn:         fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", Region, AccountID, name, randomSuffix()),
		description: description,
		seq:         s.seq,
		created:     now,
		changed:     now,
		versions:    make(map[string]*version),
		stages:      make(map[string]string),
	}
	s.secrets[name] = sec
	return sec
}

// addVersion stores a new version carrying stages. Moving AWSCURRENT turns
// the old current version into AWSPREVIOUS. The caller holds mu.
func (s *Server) addVersion(sec *secret, id string, str *string, bin []byte, stages []string) *version {
	now := s.now()
	v := &version{id: id, str: str, bin: bin, created: now}
	sec.versions[id] = v
	for _, st := range stages {
		if st == stageCurrent {
			if old, ok := sec.stages[stageCurrent]; ok && old != id {
				sec.stages[stagePrevious] = old
			}
		}
		sec.stages[st] = id
	}
	// Drop versions that lost every label.
	labelled := make(map[string]bool, len(sec.stages))
	for _, vid := range sec.stages {
		labelled[vid] = true
	}
	for vid := range sec.versions {
		if !labelled[vid] {
			delete(sec.versions, vid)
		}
	}
	sec.changed = now
	return v
}

// versionStages returns the labels each version carries.
func (sec *secret) versionStages() map[string][]string {
	m := make(map[string][]string, len(sec.versions))
	for st, vid := range sec.stages {
		m[vid] = append(m[vid], st)
	}
	for _, sts := range m {
		sort.Strings(sts)
	}
	return m
}

func (sec *secret) stagesOf(id string) []string {
	var sts []string
	for st, vid := range sec.stages {
		if vid == id {
			sts = append(sts, st)
		}
	}
	sort.Strings(sts)
	return sts
}

const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
)

// randomSuffix is the 6 characters AWS appends to a secret's name in its ARN.
func randomSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// newUUID returns a random version-4 UUID, the shape of AWS version ids and
// request ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
