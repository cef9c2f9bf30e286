package kit

import (
	"bytes"
	"sync"
)

// LogBuffer collects a logger's output (a slog handler, a server's stdout)
// written by the code under test's goroutines while the test reads it. The
// zero value is ready to use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Len is the number of bytes written so far; pass it to Since later to see
// only what was logged in between.
func (l *LogBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Since returns what was written after the first n bytes.
func (l *LogBuffer) Since(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n > l.b.Len() {
		return ""
	}
	return string(l.b.Bytes()[n:])
}
