package recordings

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DiskStore keeps recordings in a directory: the dev server's Store, which
// serves them itself.
type DiskStore struct{ dir string }

// NewDiskStore returns a store under dir, which the first Put creates.
func NewDiskStore(dir string) (*DiskStore, error) {
	if dir == "" {
		return nil, errors.New("recordings directory not set")
	}
	return &DiskStore{dir: dir}, nil
}

// Dir is the store's directory.
func (s *DiskStore) Dir() string { return s.dir }

func (s *DiskStore) path(key string) (string, error) {
	if key == "" || strings.Contains(key, "..") || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
		return "", ErrNotFound
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), nil
}

// Put implements Store: it writes a temporary file and renames it, so a
// reader never sees half a recording.
func (s *DiskStore) Put(_ context.Context, key string, body io.ReadSeeker, _ int64) error {
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

// Stat implements Store.
func (s *DiskStore) Stat(_ context.Context, key string) (time.Time, bool, error) {
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

// Get implements Store with the file's content.
func (s *DiskStore) Get(_ context.Context, key string) (Object, error) {
	p, err := s.path(key)
	if err != nil {
		return Object{}, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Object{}, ErrNotFound
	}
	if err != nil {
		return Object{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return Object{}, err
	}
	return Object{Content: f, Modified: fi.ModTime()}, nil
}

// Read returns the content of the object at key; ErrNotFound when there
// is none.
func (s *DiskStore) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return obj.Content, nil
}
