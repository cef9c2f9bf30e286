package recordings_test

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/test/kit"
)

// secret is a link key secret with its staging labels, as the link key
// reader sees it: PutSecretValue makes the new value AWSCURRENT and the old
// one AWSPREVIOUS.
type keySecret struct {
	mu     sync.Mutex
	keys   recordings.Keys
	reads  int
	broken bool
}

func (s *keySecret) put(key string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = recordings.Keys{Current: []byte(key), CurrentSince: at, Previous: s.keys.Current}
}

func (s *keySecret) read(context.Context) (recordings.Keys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.broken {
		return recordings.Keys{}, errors.New("ThrottlingException")
	}
	return s.keys, nil
}

func (s *keySecret) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

var (
	k0 = strings.Repeat("0", 32) + "-first-key"
	k1 = strings.Repeat("1", 32) + "-second-key"
	k2 = strings.Repeat("2", 32) + "-third-key"
)

const keyTTL = 5 * time.Minute

func rotationConfig(clock *kit.Clock) recordings.RotationConfig {
	return recordings.RotationConfig{TTL: keyTTL, RetryAfter: 30 * time.Second, FetchTimeout: 3 * time.Second, Now: clock.Now}
}

// verify checks link with l at now.
func verify(l *recordings.Links, link string, now time.Time) error {
	u, err := url.Parse(link)
	if err != nil {
		return err
	}
	parts := strings.Split(u.Path, "/")
	q := u.Query()
	return l.Verify(parts[len(parts)-2], parts[len(parts)-1], q.Get("expires"), q.Get("sig"), now)
}

// TestRotationBreaksNoLink is issue 20 item 6. Before it, the link key was
// one value read at cold start: rotating it (a new value in the secret)
// made every container started afterwards refuse every link sent before,
// and a leaked link could not be revoked without that. Reproduction:
// NewLinks(k0) signs a link; NewLinks(k1), a container started after the
// rotation, answers ErrLinkInvalid for it.
//
// Now a signer (the deliver function) and a verifier (the events function)
// started at different times read AWSCURRENT and AWSPREVIOUS every TTL:
// through one rotation every link works, including links signed in the
// minutes when only some containers know the new key; a second rotation
// revokes the links signed before the first.
func TestRotationBreaksNoLink(t *testing.T) {
	clock := kit.NewClock(time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC))
	sm := &keySecret{}
	sm.put(k0, clock.Now().Add(-30*24*time.Hour))
	ctx := context.Background()
	expires := clock.Now().Add(365 * 24 * time.Hour)

	// The signer reads first, so it learns of the rotation two minutes
	// before the verifier does.
	signer, err := recordings.NewRotatingLinks(ctx, sm.read, "https://voice.example.test/prod", rotationConfig(clock))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	verifier, err := recordings.NewRotatingLinks(ctx, sm.read, "https://voice.example.test/prod", rotationConfig(clock))
	if err != nil {
		t.Fatal(err)
	}
	before := signer.URL(acct, recSID, expires)

	clock.Advance(time.Minute)
	sm.put(k1, clock.Now()) // first rotation
	var links []string
	for range 20 { // through the minutes when only some containers know k1
		clock.Advance(30 * time.Second)
		link := signer.URL(acct, recSID, expires)
		links = append(links, link)
		for _, l := range []string{before, link} {
			if err := verify(verifier, l, clock.Now()); err != nil {
				t.Fatalf("%v after the first rotation: %v", clock.Now().Sub(sm.keys.CurrentSince), err)
			}
		}
	}
	after := links[len(links)-1]
	if after == before {
		t.Fatal("10 minutes after the rotation links are still signed with the old key")
	}
	old, _ := recordings.NewLinks([]byte(k0), "https://voice.example.test/prod")
	newer, _ := recordings.NewLinks([]byte(k1), "https://voice.example.test/prod")
	if verify(old, before, clock.Now()) != nil || verify(newer, after, clock.Now()) != nil {
		t.Fatal("links not signed with the expected keys")
	}
	if err := verify(newer, before, clock.Now()); !errors.Is(err, recordings.ErrLinkInvalid) {
		t.Fatalf("reproduction: a container with only the new key accepts an old link: %v", err)
	}

	// A second rotation revokes the links signed with k0, once every
	// container has read it, and keeps those signed with k1.
	sm.put(k2, clock.Now())
	clock.Advance(keyTTL)
	if err := verify(verifier, before, clock.Now()); !errors.Is(err, recordings.ErrLinkInvalid) {
		t.Errorf("link signed before the first rotation, after the second: %v, want ErrLinkInvalid", err)
	}
	if err := verify(verifier, after, clock.Now()); err != nil {
		t.Errorf("link signed between the rotations, after the second: %v", err)
	}
}

// TestKeyReads checks the reads: none on a warm path before TTL, one per
// TTL after, a failed read keeps the keys and waits RetryAfter, and a
// too-short current key is refused at start and ignored later.
func TestKeyReads(t *testing.T) {
	clock := kit.NewClock(time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC))
	sm := &keySecret{}
	sm.put(k0, clock.Now().Add(-time.Hour))
	logs := &kit.LogBuffer{}
	cfg := rotationConfig(clock)
	cfg.Log = slog.New(slog.NewJSONHandler(logs, nil))
	l, err := recordings.NewRotatingLinks(context.Background(), sm.read, "https://x.test", cfg)
	if err != nil {
		t.Fatal(err)
	}
	exp := clock.Now().Add(time.Hour)
	link := l.URL(acct, recSID, exp)
	for range 100 {
		_ = l.URL(acct, recSID, exp)
		_ = verify(l, link, clock.Now())
	}
	if n := sm.readCount(); n != 1 {
		t.Fatalf("%d reads before TTL, want 1 (the cold start)", n)
	}
	clock.Advance(keyTTL)
	sm.mu.Lock()
	sm.broken = true
	sm.mu.Unlock()
	for range 10 {
		if err := verify(l, link, clock.Now()); err != nil {
			t.Fatalf("while the secret cannot be read: %v", err)
		}
	}
	if n := sm.readCount(); n != 2 {
		t.Fatalf("%d reads after a failure, want 2 (one try per RetryAfter)", n)
	}
	if got := strings.Count(logs.String(), "read failed"); got != 1 {
		t.Errorf("%d warnings for one outage, want 1:\n%s", got, logs.String())
	}
	clock.Advance(30 * time.Second)
	sm.mu.Lock()
	sm.broken = false
	sm.keys = recordings.Keys{Current: []byte("short")}
	sm.mu.Unlock()
	if err := verify(l, link, clock.Now()); err != nil {
		t.Errorf("a too-short new key dropped the good one: %v", err)
	}
	if strings.Contains(logs.String(), k0) || strings.Contains(logs.String(), "short\"") {
		t.Errorf("a key reached the log:\n%s", logs.String())
	}
	if _, err := recordings.NewRotatingLinks(context.Background(), sm.read, "https://x.test", cfg); err == nil {
		t.Error("a too-short key at start was accepted")
	}
	sm.mu.Lock()
	sm.broken = true
	sm.mu.Unlock()
	if _, err := recordings.NewRotatingLinks(context.Background(), sm.read, "https://x.test", cfg); err == nil {
		t.Error("started without keys")
	}
}
