// Package secretsmanager is an in-process fake of AWS Secrets Manager that
// speaks the service's wire protocol (awsJson1_1 over HTTP), so tests point
// the real aws-sdk-go-v2 client, or a real bootstrap binary through
// kit.AWSEnv, at it instead of AWS. Its name is the SDK package's, so
// callers import it as fakesm.
//
// It serves the operations the repository calls: GetSecretValue
// (shared/tenant and the CLI's provision package), CreateSecret (with
// tags), PutSecretValue, ListSecrets with a name filter, DeleteSecret with a
// recovery window, DescribeSecret, TagResource and ListSecretVersionIds (the
// CLI). It models two unpleasant parts of the real service: the quota of
// versions per secret (see VersionsPerSecret) and a ListSecrets that does
// not show recent changes (SetListLag). GetSecretValue reads a version by
// staging label or id (staging.go). It counts calls per operation and
// injects faults (AWS errors, delays, malformed bodies, dropped connections)
// so callers' failure handling is tested against the SDK's real retry and
// deserialisation code.
package secretsmanager

import (
	"crypto/rand"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
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
	now     func() time.Time // for deletion dates, version ages and the listing lag
	listLag time.Duration    // ListSecrets does not show changes younger than this
}

// secret is one secret with its versions.
type secret struct {
	arn       string
	created   time.Time
	versionID string     // the AWSCURRENT version's id
	value     *string    // the AWSCURRENT version's value; nil: created without a value
	deletion  *time.Time // when a scheduled deletion happens; nil: not scheduled
	deletedAt time.Time  // when the deletion was scheduled
	versions  []*version // oldest first
	tags      []tag      // in the order first set
	kmsKeyID  string     // CreateSecret's KmsKeyId; "": Secrets Manager's own key
}

// version is one version of a secret. stages holds AWSCURRENT and
// AWSPREVIOUS; a version with none is "deprecated" and may be removed.
type version struct {
	id, value string
	created   time.Time
	stages    []string
}

// tag is a secret's tag, in AWS's shape.
type tag struct{ Key, Value string }

// VersionsPerSecret is how many versions AWS keeps per secret before a write
// is refused: it removes unlabeled versions only when there are more than
// 100 and only those older than VersionsKeptFor, so a secret written more
// than 100 times in 24 hours refuses the next write with
// LimitExceededException
// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html).
const VersionsPerSecret = 100

// VersionsKeptFor is how long AWS keeps every version, labeled or not.
const VersionsKeptFor = 24 * time.Hour

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
	sec.seed(newUUID(), value, s.now())
}

// SetClock replaces the clock that dates versions, deletions and the
// listing lag (default time.Now), so a test can let 24 hours pass.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetListLag makes ListSecrets not reflect changes younger than d, as AWS
// documents ("ListSecrets might not reflect changes from the last five
// minutes"): a secret created less than d ago is not listed, and one
// scheduled for deletion less than d ago still is. 0 (the default) lists
// everything at once.
func (s *Server) SetListLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listLag = d
}

// SetTags seeds tags on name, as TagResource would (a test's way to make a
// secret another stack's). It reports whether name exists.
func (s *Server) SetTags(name string, tags map[string]string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[name]
	if sec == nil {
		return false
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		sec.setTags([]tag{{k, tags[k]}})
	}
	return true
}

// Tags returns the tags of name as a map (nil for no such secret).
func (s *Server) Tags(name string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[name]
	if sec == nil {
		return nil
	}
	m := make(map[string]string, len(sec.tags))
	for _, t := range sec.tags {
		m[t.Key] = t.Value
	}
	return m
}

// Versions returns how many versions name holds, deprecated ones included.
func (s *Server) Versions(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[name]; sec != nil {
		return len(sec.versions)
	}
	return 0
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
	sec := &secret{arn: fmt.Sprintf("arn:aws:secretsmanager:us-east-1:123456789012:secret:%s-%s", name, randomSuffix()), created: s.now()}
	s.secrets[name] = sec
	return sec
}

// errVersionsQuota is AWS's answer to a write over VersionsPerSecret. The
// code is the one AWS documents for its quotas; the text is the API
// reference's description of LimitExceededException
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html).
var errVersionsQuota = errf("LimitExceededException", "The request failed because it would exceed one of the Secrets Manager quotas.")

// put makes value the current version, with id as its version id, unless
// the versions quota refuses it: first the versions AWS would have removed
// (no staging label, older than VersionsKeptFor, oldest first) go.
func (sec *secret) put(id, value string, now time.Time) *apiError {
	if len(sec.versions) >= VersionsPerSecret {
		kept := sec.versions[:0]
		removable := len(sec.versions) - VersionsPerSecret + 1
		for _, v := range sec.versions {
			if removable > 0 && len(v.stages) == 0 && now.Sub(v.created) >= VersionsKeptFor {
				removable--
				continue
			}
			kept = append(kept, v)
		}
		sec.versions = kept
		if len(sec.versions) >= VersionsPerSecret {
			return errVersionsQuota
		}
	}
	sec.seed(id, value, now)
	return nil
}

// seed adds the version without the quota check: AWSCURRENT moves to it
// and AWSPREVIOUS to the version that had AWSCURRENT.
func (sec *secret) seed(id, value string, now time.Time) {
	for _, v := range sec.versions {
		v.stages = slices.DeleteFunc(v.stages, func(st string) bool { return st == "AWSPREVIOUS" })
		for i, st := range v.stages {
			if st == "AWSCURRENT" {
				v.stages[i] = "AWSPREVIOUS"
			}
		}
	}
	sec.versions = append(sec.versions, &version{id: id, value: value, created: now, stages: []string{"AWSCURRENT"}})
	sec.versionID, sec.value = id, &value
}

// version returns the version with id, or nil.
func (sec *secret) version(id string) *version {
	for _, v := range sec.versions {
		if v.id == id {
			return v
		}
	}
	return nil
}

// setTags adds tags, replacing the value of a key already set, as
// TagResource does.
func (sec *secret) setTags(tags []tag) {
	for _, t := range tags {
		i := slices.IndexFunc(sec.tags, func(o tag) bool { return o.Key == t.Key })
		if i >= 0 {
			sec.tags[i].Value = t.Value
		} else {
			sec.tags = append(sec.tags, t)
		}
	}
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
