package s3store_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/recordings/s3store"
	"bubble-twilio-voice/test/kit"
)

const bucket = "bubble-twilio-voice-recordings-test"

// fakeS3 is gofakes3 (an S3 server in Go) on loopback with one bucket.
func fakeS3(t *testing.T) *httptest.Server {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return srv
}

func TestStore(t *testing.T) {
	srv := fakeS3(t)
	client, err := s3store.NewClient(kit.Getenv("AWS_ENDPOINT_URL_S3", srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	s := s3store.New(client, bucket)
	ctx := context.Background()
	key := recordings.Key("AC0123456789abcdef0123456789abcdef", "RE0123456789abcdef0123456789abcdef")
	body := append([]byte("ID3"), bytes.Repeat([]byte{0xff, 0xfb}, 5000)...)

	if _, ok, err := s.Stat(ctx, key); ok || err != nil {
		t.Fatalf("Stat before Put: %v %v", ok, err)
	}
	before := time.Now().Add(-2 * time.Second)
	if err := s.Put(ctx, key, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	stored, ok, err := s.Stat(ctx, key)
	if !ok || err != nil || stored.Before(before) {
		t.Fatalf("Stat after Put: %v %v %v", stored, ok, err)
	}

	obj, err := s.Get(ctx, key)
	if err != nil || obj.URL == "" || obj.Content != nil {
		t.Fatalf("Get: %+v %v", obj, err)
	}
	u, _ := url.Parse(obj.URL)
	if q := u.Query(); q.Get("X-Amz-Expires") != "300" || q.Get("X-Amz-Signature") == "" || q.Get("response-content-type") != "audio/mpeg" {
		t.Errorf("presigned URL query %v", q)
	}
	if !strings.HasPrefix(obj.URL, srv.URL+"/"+bucket+"/recordings/") {
		t.Errorf("presigned URL %s is not path-style on the fake", obj.URL)
	}
	// The presigned URL plays over plain HTTP, without credentials.
	resp, err := http.Get(obj.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Errorf("GET presigned URL: %d, %d bytes", resp.StatusCode, len(got))
	}
}

func TestStoreErrors(t *testing.T) {
	srv := fakeS3(t)
	client, _ := s3store.NewClient(kit.Getenv("AWS_ENDPOINT_URL_S3", srv.URL))
	s := s3store.New(client, "no-such-bucket")
	ctx := context.Background()
	if err := s.Put(ctx, "k", bytes.NewReader([]byte("x")), 1); err == nil {
		t.Error("Put to a missing bucket succeeded")
	}
	srv.Close()
	if _, _, err := s3store.New(client, bucket).Stat(ctx, "k"); err == nil {
		t.Error("Stat with S3 down reported no error")
	}
}
