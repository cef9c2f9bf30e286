// Package sqs is an in-process fake of Amazon SQS speaking the protocol
// today's AWS SDK for Go uses: AWS JSON 1.0 (POST /, X-Amz-Target
// "AmazonSQS.<Operation>", JSON bodies, errors as {"__type": ...}). The
// Go emulator goaws speaks only the older query protocol, which the SDK no
// longer sends. Tests point the real SDK client (or a bootstrap, through
// AWS_ENDPOINT_URL_SQS) at it.
//
// It serves the operations this repository calls: SendMessage,
// ReceiveMessage, DeleteMessage, ChangeMessageVisibility and
// GetQueueAttributes, with SQS's visibility rules (a received message is
// hidden for the visibility timeout; ChangeMessageVisibility needs the
// current receipt handle and refuses more than 12 h counted from the
// receive), receive counts, SentTimestamp and message attributes. It counts
// calls per operation, injects faults per operation, and reads a clock the
// test can move. Its name is the SDK package's, so callers import it as
// fakesqs.
package sqs

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdksqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"bubble-twilio-voice/shared/awsenv"
	"bubble-twilio-voice/test/kit"
)

// AccountID is the account in every queue URL.
const AccountID = "123456789012"

// DefaultVisibility is a queue's visibility timeout unless CreateQueue is
// given another.
const DefaultVisibility = 30 * time.Second

// maxVisibility is SQS's limit on a message's visibility, counted from the
// receive.
const maxVisibility = 12 * time.Hour

// Fault is what SetFault asks the server to answer instead of running an
// operation. The zero Fault runs it.
type Fault struct {
	// Status is the HTTP status; 0 means no fault.
	Status int
	// Type is the AWS error code, e.g. "RequestThrottled".
	Type    string
	Message string
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	ts *httptest.Server

	mu     sync.Mutex
	now    func() time.Time
	queues map[string]*queue // by name
	calls  map[string]int
	fault  func(op string) Fault
}

type queue struct {
	name       string
	visibility time.Duration
	msgs       []*message
}

type message struct {
	id         string
	body       string
	attrs      map[string]attribute
	sent       time.Time
	firstRecv  time.Time
	receives   int
	receivedAt time.Time
	hiddenTill time.Time
	handle     string // the latest receipt handle; "" before the first receive
}

// attribute is one message attribute, as SQS stores it.
type attribute struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
}

// Start starts a fake on loopback, closed when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{now: time.Now, queues: map[string]*queue{}, calls: map[string]int{}}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	tb.Cleanup(s.ts.Close)
	return s
}

// URL is the endpoint to give the SDK (BaseEndpoint, or
// AWS_ENDPOINT_URL_SQS for a child process).
func (s *Server) URL() string { return s.ts.URL }

// SDKClient is the AWS SDK's own SQS client for the fake, with the hermetic
// test credentials: what Lambda's event source mapping and the
// dead-letters command use, where the functions use sqsqueue.
func (s *Server) SDKClient(tb testing.TB) *sdksqs.Client {
	tb.Helper()
	cfg, err := awsenv.Config(kit.Getenv())
	if err != nil {
		tb.Fatal(err)
	}
	return sdksqs.NewFromConfig(cfg, func(o *sdksqs.Options) { o.BaseEndpoint = aws.String(s.URL()) })
}

// SetClock replaces the clock (time.Now) that visibility and timestamps
// read.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// CreateQueue creates a queue (visibility 0 means DefaultVisibility) and
// returns its URL. It is a test set-up call, not an operation.
func (s *Server) CreateQueue(name string, visibility time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if visibility == 0 {
		visibility = DefaultVisibility
	}
	s.queues[name] = &queue{name: name, visibility: visibility}
	return s.QueueURL(name)
}

// QueueURL is the URL of queue name.
func (s *Server) QueueURL(name string) string { return s.ts.URL + "/" + AccountID + "/" + name }

// SetFault makes every later call of an operation answer f(op) when its
// Status is set; nil removes faults.
func (s *Server) SetFault(f func(op string) Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Calls returns how many times op was called (faulted calls included).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// TotalCalls returns the number of calls of every operation.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// Message is a snapshot of one queued message.
type Message struct {
	ID           string
	Body         string
	Attributes   map[string]string // string message attributes
	ReceiveCount int
	SentAt       time.Time
	// HiddenUntil is when the message becomes visible again (zero: visible).
	HiddenUntil time.Time
}

// Messages returns the messages of queue name, oldest first.
func (s *Server) Messages(name string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		return nil
	}
	out := make([]Message, 0, len(q.msgs))
	now := s.now()
	for _, m := range q.msgs {
		snap := Message{ID: m.id, Body: m.body, ReceiveCount: m.receives, SentAt: m.sent, Attributes: map[string]string{}}
		if m.hiddenTill.After(now) {
			snap.HiddenUntil = m.hiddenTill
		}
		for k, a := range m.attrs {
			snap.Attributes[k] = a.StringValue
		}
		out = append(out, snap)
	}
	return out
}

// Put seeds a message without a call, as SendMessage would store it.
func (s *Server) Put(name, body string, attrs map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		panic("fake sqs: Put to unknown queue " + name)
	}
	a := map[string]attribute{}
	for k, v := range attrs {
		a[k] = attribute{DataType: "String", StringValue: v}
	}
	return s.store(q, body, a).id
}

// store appends a message to q; the caller holds mu.
func (s *Server) store(q *queue, body string, attrs map[string]attribute) *message {
	m := &message{id: newUUID(), body: body, attrs: attrs, sent: s.now()}
	q.msgs = append(q.msgs, m)
	return m
}

// queueFor resolves a QueueUrl to its queue; the caller holds mu.
func (s *Server) queueFor(url string) *queue {
	i := strings.LastIndex(url, "/")
	if i < 0 {
		return nil
	}
	return s.queues[url[i+1:]]
}

// receive hides up to max visible messages of q for visibility and returns
// them with fresh receipt handles; the caller holds mu.
func (s *Server) receive(q *queue, max int, visibility time.Duration) []*message {
	now := s.now()
	var out []*message
	for _, m := range q.msgs {
		if len(out) == max {
			break
		}
		if m.hiddenTill.After(now) {
			continue
		}
		m.receives++
		if m.firstRecv.IsZero() {
			m.firstRecv = now
		}
		m.receivedAt = now
		m.hiddenTill = now.Add(visibility)
		m.handle = newUUID() + "-" + m.id
		out = append(out, m)
	}
	return out
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// wanted reports whether name is selected by a list of attribute names
// ("All" and ".*" select everything).
func wanted(list []string, name string) bool {
	for _, n := range list {
		if n == "All" || n == ".*" || n == name {
			return true
		}
	}
	return false
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
