package kit

import (
	"fmt"
	"sync"
	"testing"
)

func TestLogBuffer(t *testing.T) {
	var b LogBuffer
	fmt.Fprint(&b, "first\n")
	mark := b.Len()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { fmt.Fprint(&b, "x") })
	}
	wg.Wait()
	if got := b.Since(mark); got != "xxxxxxxx" {
		t.Errorf("Since(%d) = %q, want 8 x", mark, got)
	}
	if got := b.String(); got != "first\nxxxxxxxx" {
		t.Errorf("String() = %q", got)
	}
	if got := b.Since(1000); got != "" {
		t.Errorf("Since past the end = %q, want empty", got)
	}
}
