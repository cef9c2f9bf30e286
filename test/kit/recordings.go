package kit

import (
	"bytes"
	"context"
	"io"
	"sync"
	"time"

	"bubble-twilio-voice/shared/recordings"
)

// Recordings is an in-memory recordings.Store that hands out content, as
// the dev server's directory store does (S3 hands out a URL instead). It
// stamps objects with the real time.
type Recordings struct {
	mu   sync.Mutex
	objs map[string]stored
}

type stored struct {
	body []byte
	at   time.Time
}

// Put implements recordings.Store.
func (s *Recordings) Put(_ context.Context, key string, body io.ReadSeeker, _ int64) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.objs == nil {
		s.objs = map[string]stored{}
	}
	s.objs[key] = stored{body: b, at: time.Now()}
	return nil
}

// Stat implements recordings.Store.
func (s *Recordings) Stat(_ context.Context, key string) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[key]
	return o.at, ok, nil
}

// Get implements recordings.Store.
func (s *Recordings) Get(_ context.Context, key string) (recordings.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[key]
	if !ok {
		return recordings.Object{}, recordings.ErrNotFound
	}
	return recordings.Object{Content: nopCloser{bytes.NewReader(o.body)}, Modified: o.at}, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
