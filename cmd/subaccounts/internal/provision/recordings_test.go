package provision_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	"bubble-twilio-voice/shared/recordings"
)

const recordingsBucket = "voice-test-recordingsbucket-1x2y3z"

// bucket is gofakes3 behind the real S3 client, with AWS's limit of 1,000
// keys per DeleteObjects (gofakes3 takes any number) and a count of those
// requests.
type bucket struct {
	backend *s3mem.Backend
	client  *s3.Client

	mu      sync.Mutex
	deletes int
}

func newBucket(t *testing.T) *bucket {
	t.Helper()
	b := &bucket{backend: s3mem.New()}
	if err := b.backend.CreateBucket(recordingsBucket); err != nil {
		t.Fatal(err)
	}
	s3srv := gofakes3.New(b.backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.URL.Query()["delete"]; ok && r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			if n := bytes.Count(body, []byte("<Object>")); n > 1000 {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `<Error><Code>MalformedXML</Code><Message>The XML you provided was not well-formed or did not validate against our published schema</Message></Error>`)
				return
			}
			b.mu.Lock()
			b.deletes++
			b.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		s3srv.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	b.client = s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
	})
	return b
}

// put stores n recordings of accountSID.
func (b *bucket) put(t *testing.T, accountSID string, n int) {
	t.Helper()
	for i := range n {
		key := recordings.Key(accountSID, fmt.Sprintf("RE%032x", i))
		if _, err := b.backend.PutObject(recordingsBucket, key, map[string]string{}, strings.NewReader("ID3 audio"), 9, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// count lists accountSID's recordings through the client.
func (b *bucket) count(t *testing.T, accountSID string) int {
	t.Helper()
	keys, _, err := b.store().List(context.Background(), recordings.Prefix(accountSID))
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

func (b *bucket) store() provision.S3Recordings {
	return provision.S3Recordings{Client: b.client, Bucket: recordingsBucket}
}

func (e *env) closeWith(sid, confirm string, dryRun bool, o provision.CloseOptions) (string, error) {
	o.Confirm = confirm
	return e.run(func(p *provision.Provisioner) error { return p.Close(context.Background(), sid, o) }, dryRun)
}

// TestCloseDeletesRecordings is issue 20 item 5 at close. Before it,
// `close` said the recordings go with the subaccount, but the deployment's
// copies stayed in its bucket for RecordingRetentionDays (up to 10 years)
// and their links kept playing. Reproduction: a tenant with recordings in
// the bucket, `close --yes-close-<sid>`: every object under
// recordings/<sid>/ was still there.
func TestCloseDeletesRecordings(t *testing.T) {
	e, a, b := twoTenants(t)
	bk := newBucket(t)
	bk.put(t, a.SID, 1001) // two DeleteObjects requests
	bk.put(t, b.SID, 2)
	o := provision.CloseOptions{Recordings: bk.store()}
	where := "s3://" + recordingsBucket + "/recordings/" + a.SID + "/"

	out, err := e.closeWith(a.SID, "", false, o)
	if !errors.Is(err, provision.ErrNotConfirmed) || bk.count(t, a.SID) != 1001 {
		t.Fatalf("unconfirmed: %v, %d left\n%s", err, bk.count(t, a.SID), out)
	}
	if want := "its 1001 recording copies (9.0 kB) in " + where + " are deleted, for good (--keep-recordings keeps them)"; !strings.Contains(out, want) {
		t.Errorf("the warning lacks %q:\n%s", want, out)
	}
	out, err = e.closeWith(a.SID, "", true, o)
	if err != nil || bk.count(t, a.SID) != 1001 || !strings.Contains(out, "plan: delete 1001 recording copies (9.0 kB) under "+where) {
		t.Errorf("dry run: %v\n%s", err, out)
	}

	out, err = e.closeWith(a.SID, a.SID, false, o)
	if err != nil {
		t.Fatalf("close: %v\n%s", err, out)
	}
	assertClosed(t, e, a.SID, b.SID)
	if n := bk.count(t, a.SID); n != 0 || !strings.Contains(out, "recordings under "+where+": 1001 deleted") {
		t.Errorf("%d recordings left after close\n%s", n, out)
	}
	if n := bk.count(t, b.SID); n != 2 {
		t.Errorf("the other tenant has %d recordings, want 2", n)
	}
	if bk.deletes != 2 {
		t.Errorf("%d DeleteObjects requests, want 2 (1,000 keys each at most)", bk.deletes)
	}

	// A copy the deliver function made while close ran: a rerun deletes it,
	// and only with the confirmation.
	bk.put(t, a.SID, 1)
	if _, err := e.closeWith(a.SID, "", false, o); !errors.Is(err, provision.ErrNotConfirmed) || bk.count(t, a.SID) != 1 {
		t.Errorf("rerun without confirmation: %v", err)
	}
	if out, err := e.closeWith(a.SID, a.SID, false, o); err != nil || bk.count(t, a.SID) != 0 {
		t.Errorf("rerun: %v\n%s", err, out)
	}
	e.resetCalls()
	if out, err := e.closeWith(a.SID, a.SID, false, o); err != nil || e.smWrites() != 0 || !strings.Contains(out, "no recording copies") {
		t.Errorf("rerun with nothing left: %v, %d writes\n%s", err, e.smWrites(), out)
	}
}

// TestCloseKeepsRecordings: --keep-recordings, and a close that does not
// know the bucket, say what stays and for how long, and delete nothing.
func TestCloseKeepsRecordings(t *testing.T) {
	e, a, b := twoTenants(t)
	bk := newBucket(t)
	bk.put(t, a.SID, 3)
	out, err := e.closeWith(a.SID, a.SID, false, provision.CloseOptions{Recordings: bk.store(), KeepRecordings: true})
	if err != nil || bk.count(t, a.SID) != 3 || !strings.Contains(out, "its 3 recording copies (27 B) in s3://"+recordingsBucket+"/recordings/"+a.SID+"/ are kept (--keep-recordings) until the bucket's lifecycle rule deletes each, RecordingRetentionDays after it was stored") {
		t.Errorf("keep: %v, %d left\n%s", err, bk.count(t, a.SID), out)
	}
	out, err = e.closeWith(b.SID, b.SID, false, provision.CloseOptions{})
	if err != nil || !strings.Contains(out, "recording copies in the deployment's bucket (under recordings/"+b.SID+"/) are kept") {
		t.Errorf("no bucket: %v\n%s", err, out)
	}
}

// TestCloseRecordingsFailureThenRerun: a failed deletion fails the command
// after the rest of close is done, and a rerun finishes it.
func TestCloseRecordingsFailureThenRerun(t *testing.T) {
	e, a, b := twoTenants(t)
	bk := newBucket(t)
	bk.put(t, a.SID, 2)
	broken := provision.S3Recordings{Client: failingDeletes{bk.client}, Bucket: recordingsBucket}
	out, err := e.closeWith(a.SID, a.SID, false, provision.CloseOptions{Recordings: broken})
	if err == nil || !strings.Contains(err.Error(), "rerun to retry") || bk.count(t, a.SID) != 2 {
		t.Fatalf("failed delete: %v\n%s", err, out)
	}
	if out, err := e.closeWith(a.SID, a.SID, false, provision.CloseOptions{Recordings: bk.store()}); err != nil || bk.count(t, a.SID) != 0 {
		t.Errorf("rerun: %v\n%s", err, out)
	}
	assertClosed(t, e, a.SID, b.SID)
}

// failingDeletes answers DeleteObjects as S3 does when some keys fail: 200,
// with each failure in Errors.
type failingDeletes struct{ *s3.Client }

func (f failingDeletes) DeleteObjects(_ context.Context, in *s3.DeleteObjectsInput, _ ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error) {
	out := &s3.DeleteObjectsOutput{}
	for _, o := range in.Delete.Objects {
		out.Errors = append(out.Errors, s3types.Error{Key: o.Key, Code: aws.String("AccessDenied")})
	}
	return out, nil
}
