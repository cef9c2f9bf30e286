package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"bubble-twilio-voice/shared/recordings"
)

func TestDiskStore(t *testing.T) {
	const acct = "AC0123456789abcdef0123456789abcdef"
	mp3 := []byte("ID3\x03\x00\x00\x00 and some frames")
	dir := filepath.Join(t.TempDir(), "recordings")
	s, err := newDiskStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := recordings.Key(acct, "RE0123456789abcdef0123456789abcdef")
	if _, ok, err := s.Stat(ctx, key); ok || err != nil {
		t.Fatalf("Stat before Put: %v %v", ok, err)
	}
	if _, err := s.Get(ctx, key); !errors.Is(err, recordings.ErrNotFound) {
		t.Errorf("Get before Put: %v", err)
	}
	if err := s.Put(ctx, key, bytes.NewReader(mp3), int64(len(mp3))); err != nil {
		t.Fatal(err)
	}
	stored, ok, err := s.Stat(ctx, key)
	if !ok || err != nil || stored.IsZero() {
		t.Fatalf("Stat: %v %v %v", stored, ok, err)
	}
	obj, err := s.Get(ctx, key)
	if err != nil || obj.URL != "" || obj.Content == nil {
		t.Fatalf("Get: %+v %v", obj, err)
	}
	got, _ := io.ReadAll(obj.Content)
	obj.Content.Close()
	if !bytes.Equal(got, mp3) {
		t.Error("content differs")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "recordings", acct, ".put-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	for _, bad := range []string{"../escape.mp3", "/etc/passwd", "", `a\b`} {
		if err := s.Put(ctx, bad, bytes.NewReader(nil), 0); err == nil {
			t.Errorf("Put(%q) accepted", bad)
		}
		if _, err := s.Get(ctx, bad); err == nil {
			t.Errorf("Get(%q) accepted", bad)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape.mp3")); err == nil {
		t.Error("a key escaped the directory")
	}
}
