// Package logtest captures what handlers log, for tests: a buffer that the
// server's goroutines write while the test reads it.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is a goroutine-safe bytes.Buffer for a logger's output. The zero
// value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Len is the number of bytes written so far; pass it to Since later to see
// only what was logged in between.
func (s *Buffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Since returns what was written after the first n bytes.
func (s *Buffer) Since(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > s.b.Len() {
		return ""
	}
	return string(s.b.Bytes()[n:])
}
