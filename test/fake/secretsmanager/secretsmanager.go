// Package secretsmanager is an in-process fake of AWS Secrets Manager that
// speaks the service's wire protocol (awsJson1_1 over HTTP), so tests point
// the real aws-sdk-go-v2 client, or a real bootstrap binary through
// kit.AWSEnv, at it instead of AWS. Its name is the SDK package's, so
// callers import it as fakesm.
//
// It serves the operations the repository calls: GetSecretValue
// (shared/tenant and the CLI's provision package), CreateSecret,
// PutSecretValue, ListSecrets with a name filter and DeleteSecret with a
// recovery window (the CLI). It counts calls per operation and injects
// faults (AWS errors, delays, malformed bodies, dropped connections) so
// callers' failure handling is tested against the SDK's real retry and
// deserialisation code.
package secretsmanager

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

// Server is a fake Secrets Manager. Its methods are safe for concurrent use.
type Server struct {
	handler http.Handler
	ts      *httptest.Server
	closed  chan struct{} // closed by Close to release held requests
	once    sync.Once

	mu      sync.Mutex
	secrets map[string]*secret // by name
	calls   map[string]int     // by operation
	perID   map[string]int     // by operation and SecretId (Name for CreateSecret)
	total   int
	fault   func(op, secretID string) Fault
	now     func() time.Time // for deletion dates
}

// secret is one secret's current version; the fake keeps no older ones.
type secret struct {
	arn       string
	versionID string
	value     *string    // nil: created without a value
	deletion  *time.Time // when a scheduled deletion happens; nil: not scheduled
	kmsKeyID  string     // CreateSecret's KmsKeyId; "": Secrets Manager's own key
}

// Start starts a fake listening on 127.0.0.1 on a free port, closed when tb
// ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		closed:  make(chan struct{}),
		secrets: make(map[string]*secret),
		calls:   make(map[string]int),
		now:     time.Now,
		perID:   make(map[string]int),
	}
	s.handler = http.HandlerFunc(s.serveHTTP)
	s.ts = httptest.NewServer(s.handler)
	tb.Cleanup(s.Close)
	return s
}

// URL is the endpoint to give the SDK (BaseEndpoint, or kit.AWSEnv for a
// child process), e.g. "http://127.0.0.1:40123".
func (s *Server) URL() string { return s.ts.URL }

// Handler serves the same fake (same secrets, counters and faults) so a test
// can put it on a listener of its own, one it can close and reopen.
func (s *Server) Handler() http.Handler { return s.handler }

// Close releases requests held by a delay fault, then stops the listener and
// waits for in-flight requests. After Close, new connections are refused.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closed) })
	s.ts.Close()
}

// Put seeds a secret: it creates name with value as its current version, or
// replaces the current version of name, as PutSecretValue would. It is not
// counted as a call and ignores faults.
func (s *Server) Put(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[name]
	if sec == nil {
		sec = s.create(name)
	}
	sec.put(newUUID(), value)
}

// Get returns the current value of name, so a test can check what a CLI
// wrote. ok is false when there is no such secret or it has no value.
func (s *Server) Get(name string) (value string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[name]
	if sec == nil || sec.value == nil {
		return "", false
	}
	return *sec.value, true
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

// DeletionDate reports whether name is scheduled for deletion (by
// DeleteSecret with a recovery window) and when it would be purged.
func (s *Server) DeletionDate(name string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[name]; sec != nil && sec.deletion != nil {
		return *sec.deletion, true
	}
	return time.Time{}, false
}

// KmsKeyID returns the KmsKeyId a secret was created with ("" for
// Secrets Manager's own key, or no such secret).
func (s *Server) KmsKeyID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[name]; sec != nil {
		return sec.kmsKeyID
	}
	return ""
}

// Names lists the secrets' names, sorted, including those scheduled for
// deletion.
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

// CallsFor returns how many well-formed requests for op named secretID (the
// SecretId, or the Name of a CreateSecret) arrived since the last
// ResetCalls, including ones answered with a fault or an error.
func (s *Server) CallsFor(op, secretID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perID[op+"\x00"+secretID]
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
	s.perID = make(map[string]int)
	s.total = 0
}

// SetFault installs f, called for every well-formed, signed request with its
// operation and SecretId (Name for CreateSecret, "" for ListSecrets); the
// Fault it returns is applied instead of (or, for a pure Delay or Hold,
// before) the operation. A zero Fault lets the request through. nil removes
// it.
func (s *Server) SetFault(f func(op, secretID string) Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// create adds a secret without a value; the caller holds mu.
func (s *Server) create(name string) *secret {
	sec := &secret{arn: fmt.Sprintf("arn:aws:secretsmanager:us-east-1:123456789012:secret:%s-%s", name, randomSuffix())}
	s.secrets[name] = sec
	return sec
}

// put makes value the current version, with id as its version id.
func (sec *secret) put(id, value string) {
	sec.versionID, sec.value = id, &value
}

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
