package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bubble-twilio-voice/shared/recordings"
)

// diskStore keeps recordings in a directory: the dev server's
// recordings.Store, which serves them itself.
type diskStore struct{ dir string }

// newDiskStore returns a store under dir, which the first Put creates.
func newDiskStore(dir string) (*diskStore, error) {
	if dir == "" {
		return nil, errors.New("recordings directory not set")
	}
	return &diskStore{dir: dir}, nil
}

// Dir is the store's directory.
func (s *diskStore) Dir() string { return s.dir }

func (s *diskStore) path(key string) (string, error) {
	if key == "" || strings.Contains(key, "..") || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
		return "", recordings.ErrNotFound
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), nil
}

// Put implements recordings.Store: it writes a temporary file and renames it, so a
// reader never sees half a recording.
func (s *diskStore) Put(_ context.Context, key string, body io.ReadSeeker, _ int64) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// Stat implements recordings.Store.
func (s *diskStore) Stat(_ context.Context, key string) (time.Time, bool, error) {
	p, err := s.path(key)
	if err != nil {
		return time.Time{}, false, nil
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return fi.ModTime(), true, nil
}

// Get implements recordings.Store with the file's content.
func (s *diskStore) Get(_ context.Context, key string) (recordings.Object, error) {
	p, err := s.path(key)
	if err != nil {
		return recordings.Object{}, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return recordings.Object{}, recordings.ErrNotFound
	}
	if err != nil {
		return recordings.Object{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return recordings.Object{}, err
	}
	return recordings.Object{Content: f, Modified: fi.ModTime()}, nil
}
