package recordings_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"bubble-twilio-voice/shared/recordings"
)

const (
	acct   = "AC0123456789abcdef0123456789abcdef"
	recSID = "RE0123456789abcdef0123456789abcdef"
	keySID = "SK0123456789abcdef0123456789abcdef"
	secret = "api-key-secret-of-the-subaccount"
)

var mp3 = append([]byte("ID3\x03\x00\x00\x00"), bytes.Repeat([]byte{0xff, 0xfb, 0x90, 0x64}, 256)...)

// mediaServer plays Twilio's media endpoint with HTTP auth enforced: only
// the subaccount's API key gets the MP3.
func mediaServer(t *testing.T, hits *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		user, pass, ok := r.BasicAuth()
		if !ok || user != keySID || pass != secret {
			w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/2010-04-01/Accounts/" + acct + "/Recordings/" + recSID + ".mp3":
			w.Header().Set("Content-Type", "audio/mpeg")
			_, _ = w.Write(mp3)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetch(t *testing.T) {
	var hits, foreignHits atomic.Int64
	twilio := mediaServer(t, &hits)
	foreign := mediaServer(t, &foreignHits) // answers like Twilio, but is not the API host
	f, err := recordings.NewFetcher(twilio.URL)
	if err != nil {
		t.Fatal(err)
	}
	recURL := twilio.URL + "/2010-04-01/Accounts/" + acct + "/Recordings/" + recSID
	tests := []struct {
		name           string
		url, user, pwd string
		wantErr        error
		wantStatus     int
	}{
		{"the subaccount's key", recURL, keySID, secret, nil, 0},
		{"already .mp3", recURL + ".mp3", keySID, secret, nil, 0},
		{"wrong secret", recURL, keySID, "wrong", nil, 401},
		{"unknown recording", twilio.URL + "/2010-04-01/Accounts/" + acct + "/Recordings/RE00000000000000000000000000000000", keySID, secret, recordings.ErrNotFound, 0},
		{"foreign host", foreign.URL + "/2010-04-01/Accounts/" + acct + "/Recordings/" + recSID, keySID, secret, recordings.ErrForeignHost, 0},
		{"foreign host with the API host in the path", foreign.URL + "/" + strings.TrimPrefix(twilio.URL, "http://"), keySID, secret, recordings.ErrForeignHost, 0},
		{"credentials in the URL", strings.Replace(recURL, "http://", "http://x:y@", 1), keySID, secret, recordings.ErrForeignHost, 0},
		{"https to the http test host", strings.Replace(recURL, "http://", "https://", 1), keySID, secret, recordings.ErrForeignHost, 0},
		{"not a URL", "::", keySID, secret, recordings.ErrForeignHost, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := f.Fetch(context.Background(), tc.url, tc.user, tc.pwd, &buf)
			var fe *recordings.FetchError
			switch {
			case tc.wantStatus != 0:
				if !errors.As(err, &fe) || fe.Status != tc.wantStatus {
					t.Fatalf("err = %v, want status %d", err, tc.wantStatus)
				}
			case !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			case err == nil && (n != int64(len(mp3)) || !bytes.Equal(buf.Bytes(), mp3)):
				t.Errorf("got %d bytes", n)
			}
		})
	}
	if n := foreignHits.Load(); n != 0 {
		t.Errorf("the foreign host got %d requests; it must never be fetched", n)
	}
	if hits.Load() == 0 {
		t.Error("the Twilio host was never asked")
	}
}

// TestFetchRedirectDropsCredentials: Twilio may redirect a media request to
// its storage; the credentials must not follow to another host.
func TestFetchRedirectDropsCredentials(t *testing.T) {
	var storageAuth atomic.Value
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		storageAuth.Store(r.Header.Get("Authorization"))
		_, _ = w.Write(mp3)
	}))
	defer storage.Close()
	// Another loopback name, so net/http sees a different host.
	storageURL := strings.Replace(storage.URL, "127.0.0.1", "localhost", 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); !ok {
			w.WriteHeader(401)
			return
		}
		http.Redirect(w, r, storageURL+"/signed?X-Amz-Signature=abc", http.StatusFound)
	}))
	defer api.Close()
	f, _ := recordings.NewFetcher(api.URL)
	var buf bytes.Buffer
	if _, err := f.Fetch(context.Background(), api.URL+"/2010-04-01/Accounts/"+acct+"/Recordings/"+recSID, keySID, secret, &buf); err != nil {
		t.Fatal(err)
	}
	if got, _ := storageAuth.Load().(string); got != "" {
		t.Errorf("storage host got Authorization %q", got)
	}
	if !bytes.Equal(buf.Bytes(), mp3) {
		t.Error("redirected body not read")
	}
}

func TestNewFetcher(t *testing.T) {
	tests := []struct {
		base string
		ok   bool
	}{
		{"https://api.twilio.com", true},
		{"https://api.twilio.com/", true},
		{"http://127.0.0.1:4010", true},
		{"api.twilio.com", false},
		{"ftp://api.twilio.com", false},
		{"https://api.twilio.com/2010-04-01", false},
		{"https://user:pw@api.twilio.com", false},
	}
	for _, tc := range tests {
		f, err := recordings.NewFetcher(tc.base)
		if (err == nil) != tc.ok {
			t.Errorf("NewFetcher(%q) = %v", tc.base, err)
		}
		if err == nil && f.Base() != strings.TrimRight(tc.base, "/") {
			t.Errorf("Base = %q", f.Base())
		}
	}
	if recordings.Host("https://evil.example/x?sig=1") != "evil.example" || recordings.Host("::") != "" {
		t.Error("Host")
	}
}
