// Package transcribe is an in-process fake of Amazon Transcribe's batch
// API speaking its wire protocol: AWS JSON 1.1 (POST /, X-Amz-Target
// "Transcribe.<Operation>", a SigV4 Authorization header for the
// "transcribe" service, JSON bodies, errors as {"__type": ...} with
// X-Amzn-ErrorType). Tests point shared/transcribe's client at it.
//
// It serves StartTranscriptionJob and GetTranscriptionJob with
// Transcribe's documented rules and unpleasant parts: a job name is unique
// (a second start is ConflictException), a job moves QUEUED -> IN_PROGRESS
// -> COMPLETED or FAILED over the Gets the test chooses, an unknown job is
// BadRequestException ("The requested job couldn't be found"), a missing
// language without IdentifyLanguage, or both, is BadRequestException, and
// a completed job's transcript is written to the output bucket through
// the test's Output function (an S3 fake). It counts calls and injects
// faults per operation.
package transcribe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"bubble-twilio-voice/shared/transcribe"
	"bubble-twilio-voice/test/kit"
)

// Operations, as Calls and SetFault name them.
const (
	OpStart = "StartTranscriptionJob"
	OpGet   = "GetTranscriptionJob"
)

// Fault is what SetFault asks the server to answer instead of running an
// operation. The zero Fault runs it.
type Fault struct {
	Status int    // HTTP status; 0: no fault
	Type   string // the error code, e.g. "LimitExceededException"
}

// Outcome is how a job ends, set with SetOutcome before or after it
// starts.
type Outcome struct {
	// Polls is how many Gets see the job unfinished (QUEUED, then
	// IN_PROGRESS) before it ends. 0 ends it at the first Get.
	Polls int
	// Transcript is the text a completed job writes.
	Transcript string
	// FailureReason, when set, fails the job with it instead.
	FailureReason string
}

// Job is a started job as the fake recorded it.
type Job struct {
	Name, LanguageCode, MediaURI, OutputBucket, OutputKey string
	IdentifyLanguage                                      bool
	State                                                 string
	gets                                                  int
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	ts *httptest.Server
	// Output writes a completed job's transcript document to the output
	// bucket (the S3 fake the code under test reads from); nil drops it.
	output func(bucket, key string, body []byte)

	mu       sync.Mutex
	jobs     map[string]*Job
	outcomes map[string]Outcome
	calls    map[string]int
	faults   map[string]Fault
}

// New starts a fake for the test; output receives the transcripts of
// completed jobs.
func New(t testing.TB, output func(bucket, key string, body []byte)) *Server {
	s := &Server{
		output:   output,
		jobs:     map[string]*Job{},
		outcomes: map[string]Outcome{},
		calls:    map[string]int{},
		faults:   map[string]Fault{},
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.ts.Close)
	return s
}

// URL is the endpoint to give the client.
func (s *Server) URL() string { return s.ts.URL }

// SetOutcome decides how the job called name ends.
func (s *Server) SetOutcome(name string, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes[name] = o
}

// SetFault makes op answer f until cleared with the zero Fault.
func (s *Server) SetFault(op string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = f
}

// Calls reports how many requests op received (faulted ones included).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Job returns a copy of the job called name, and whether it exists.
func (s *Server) Job(name string) (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if !ok {
		return Job{}, false
	}
	return *j, true
}

// Transcribe's constraints on a job name, and on a SigV4 header.
var (
	jobName = regexp.MustCompile(`^[0-9a-zA-Z._-]{1,200}$`)
	sigV4   = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=[^/]+/\d{8}/[a-z0-9-]+/transcribe/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "Transcribe.")
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/" || !ok:
		apiError(w, http.StatusBadRequest, "UnknownOperationException")
		return
	case !sigV4.MatchString(r.Header.Get("Authorization")):
		apiError(w, http.StatusForbidden, "MissingAuthenticationTokenException")
		return
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		apiError(w, http.StatusBadRequest, "SerializationException")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	if f := s.faults[op]; f.Status != 0 {
		apiError(w, f.Status, f.Type)
		return
	}
	var in struct {
		Name             string `json:"TranscriptionJobName"`
		LanguageCode     string
		IdentifyLanguage bool
		Media            struct{ MediaFileUri string }
		OutputBucketName string
		OutputKey        string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		apiError(w, http.StatusBadRequest, "SerializationException")
		return
	}
	if !jobName.MatchString(in.Name) || in.Name == "." || in.Name == ".." {
		apiError(w, http.StatusBadRequest, "BadRequestException")
		return
	}
	switch op {
	case OpStart:
		switch {
		case s.jobs[in.Name] != nil:
			apiError(w, http.StatusBadRequest, "ConflictException")
			return
		case (in.LanguageCode == "") == !in.IdentifyLanguage,
			!strings.HasPrefix(in.Media.MediaFileUri, "s3://"),
			in.OutputBucketName == "":
			apiError(w, http.StatusBadRequest, "BadRequestException")
			return
		}
		j := &Job{Name: in.Name, LanguageCode: in.LanguageCode, IdentifyLanguage: in.IdentifyLanguage,
			MediaURI: in.Media.MediaFileUri, OutputBucket: in.OutputBucketName, OutputKey: in.OutputKey, State: "QUEUED"}
		s.jobs[in.Name] = j
		writeJob(w, j, "")
	case OpGet:
		j := s.jobs[in.Name]
		if j == nil {
			apiError(w, http.StatusBadRequest, "BadRequestException")
			return
		}
		reason := s.advance(j)
		writeJob(w, j, reason)
	default:
		apiError(w, http.StatusBadRequest, "UnknownOperationException")
	}
}

// advance moves j on by one Get and returns its failure reason, if any.
func (s *Server) advance(j *Job) string {
	o := s.outcomes[j.Name]
	if j.State == "COMPLETED" || j.State == "FAILED" {
		return o.FailureReason
	}
	j.gets++
	switch {
	case j.gets <= o.Polls:
		j.State = "IN_PROGRESS"
		return ""
	case o.FailureReason != "":
		j.State = "FAILED"
		return o.FailureReason
	}
	j.State = "COMPLETED"
	if s.output != nil {
		key := j.OutputKey
		if key == "" {
			key = j.Name + ".json"
		}
		doc, _ := json.Marshal(map[string]any{
			"jobName": j.Name, "accountId": "123456789012", "status": "COMPLETED",
			"results": map[string]any{
				"transcripts": []map[string]string{{"transcript": o.Transcript}},
				"items":       []any{},
			},
		})
		s.output(j.OutputBucket, key, doc)
	}
	return ""
}

func writeJob(w http.ResponseWriter, j *Job, reason string) {
	job := map[string]any{
		"TranscriptionJobName":   j.Name,
		"TranscriptionJobStatus": j.State,
		"Media":                  map[string]string{"MediaFileUri": j.MediaURI},
	}
	if j.LanguageCode != "" {
		job["LanguageCode"] = j.LanguageCode
	}
	if reason != "" {
		job["FailureReason"] = reason
	}
	if j.State == "COMPLETED" {
		job["Transcript"] = map[string]string{"TranscriptFileUri": fmt.Sprintf("https://s3.us-east-1.amazonaws.com/%s/%s", j.OutputBucket, j.OutputKey)}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"TranscriptionJob": job})
}

func apiError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code+":http://internal.amazon.com/coral/com.amazonaws.transcribe/")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.transcribe#" + code, "Message": "fake: " + code})
}

// Client returns the real client (shared/transcribe) pointed at the fake,
// with the kit's static credentials and region.
func (s *Server) Client(tb testing.TB, now func() time.Time) *transcribe.Client {
	tb.Helper()
	cfg := aws.Config{
		Region:      kit.AWSRegion,
		Credentials: credentials.NewStaticCredentialsProvider(kit.AWSAccessKeyID, kit.AWSSecretAccessKey, ""),
	}
	c, err := transcribe.New(cfg, s.URL(), now)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
