// Package transcribe starts and polls Amazon Transcribe batch jobs
// (StartTranscriptionJob, GetTranscriptionJob) and reads the transcript a
// finished job wrote. It speaks Transcribe's JSON 1.1 wire protocol
// directly, signed with the AWS SDK's SigV4 signer: the SDK's Transcribe
// module at the release matching the other service modules is not
// available from the module proxy, and two operations do not need it
// (docs/transcripts.md).
package transcribe

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"bubble-twilio-voice/shared/recordings"
)

// signingName is Transcribe's SigV4 service name; targetPrefix its JSON
// 1.1 X-Amz-Target prefix.
const (
	signingName  = "transcribe"
	targetPrefix = "Transcribe."
	contentType  = "application/x-amz-json-1.1"
)

// maxResponse bounds a Transcribe response read into memory: a job
// description is a few kilobytes.
const maxResponse = 1 << 20

// Job states, as TranscriptionJobStatus says them.
const (
	StateQueued     = "QUEUED"
	StateInProgress = "IN_PROGRESS"
	StateCompleted  = "COMPLETED"
	StateFailed     = "FAILED"
)

// Job is a transcription job to start.
type Job struct {
	// Name is unique in the account and region for as long as Transcribe
	// keeps the job (90 days): JobName makes one per recording, so a
	// retried start finds the job it already started.
	Name string
	// LanguageCode is a Transcribe language code such as "en-US"; empty
	// lets Transcribe identify the language (IdentifyLanguage).
	LanguageCode string
	// MediaURI is the recording, "s3://bucket/key", in the client's region.
	MediaURI string
	// OutputBucket and OutputKey are where Transcribe writes the transcript
	// JSON (TranscriptKey).
	OutputBucket, OutputKey string
}

// Status is what GetTranscriptionJob (or StartTranscriptionJob) says of a
// job.
type Status struct {
	State string
	// FailureReason is Transcribe's reason for a StateFailed job.
	FailureReason string
}

// Client calls Transcribe in one region.
type Client struct {
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	http     *http.Client
	signer   *v4.Signer
	now      func() time.Time
}

// New returns a client for cfg's region and credentials. endpoint
// overrides Transcribe's regional endpoint (a test's fake); "" uses
// https://transcribe.<region>.amazonaws.com.
func New(cfg aws.Config, endpoint string, now func() time.Time) (*Client, error) {
	if cfg.Region == "" {
		return nil, errors.New("transcribe: no region")
	}
	if endpoint == "" {
		endpoint = "https://transcribe." + cfg.Region + ".amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			endpoint += ".cn"
		}
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	if cfg.HTTPClient != nil {
		if c, ok := cfg.HTTPClient.(*http.Client); ok {
			hc = c
		}
	}
	return &Client{
		endpoint: strings.TrimRight(endpoint, "/"),
		region:   cfg.Region,
		creds:    cfg.Credentials,
		http:     hc,
		signer:   v4.NewSigner(),
		now:      now,
	}, nil
}

// jobName is what Transcribe accepts as TranscriptionJobName.
var jobName = regexp.MustCompile(`^[0-9a-zA-Z._-]{1,200}$`)

// JobName is the job of one recording: "<AccountSid>-<RecordingSid>".
func JobName(accountSID, recordingSID string) string {
	return accountSID + "-" + recordingSID
}

// TranscriptKey is where Transcribe writes the transcript of one
// recording: in the deployment's bucket beside the recording
// (recordings.Prefix), so the bucket's lifecycle rule and `subaccounts
// close` delete both together.
func TranscriptKey(accountSID, recordingSID string) string {
	return recordings.Prefix(accountSID) + recordingSID + ".transcript.json"
}

// Start starts job. A job of that name that already exists (an earlier
// attempt started it) is not an error: its status is returned.
func (c *Client) Start(ctx context.Context, job Job) (Status, error) {
	if !jobName.MatchString(job.Name) || job.Name == "." || job.Name == ".." {
		return Status{}, errors.New("transcribe: malformed job name")
	}
	if !strings.HasPrefix(job.MediaURI, "s3://") || job.OutputBucket == "" {
		return Status{}, errors.New("transcribe: media must be an s3:// URI and the output a bucket")
	}
	req := startRequest{
		Name:         job.Name,
		Media:        media{URI: job.MediaURI},
		OutputBucket: job.OutputBucket,
		OutputKey:    job.OutputKey,
	}
	if job.LanguageCode == "" {
		req.IdentifyLanguage = true
	} else {
		req.LanguageCode = job.LanguageCode
	}
	var out jobResponse
	err := c.call(ctx, "StartTranscriptionJob", req, &out)
	if apiErr, ok := errors.AsType[*APIError](err); ok && apiErr.Code == "ConflictException" {
		return c.Get(ctx, job.Name)
	}
	if err != nil {
		return Status{}, err
	}
	return out.status(), nil
}

// Get returns the status of the job called name.
func (c *Client) Get(ctx context.Context, name string) (Status, error) {
	var out jobResponse
	if err := c.call(ctx, "GetTranscriptionJob", struct {
		Name string `json:"TranscriptionJobName"`
	}{name}, &out); err != nil {
		return Status{}, err
	}
	return out.status(), nil
}

type media struct {
	URI string `json:"MediaFileUri"`
}

type startRequest struct {
	Name             string `json:"TranscriptionJobName"`
	LanguageCode     string `json:"LanguageCode,omitempty"`
	IdentifyLanguage bool   `json:"IdentifyLanguage,omitempty"`
	Media            media  `json:"Media"`
	OutputBucket     string `json:"OutputBucketName"`
	OutputKey        string `json:"OutputKey,omitempty"`
}

type jobResponse struct {
	Job struct {
		Status        string `json:"TranscriptionJobStatus"`
		FailureReason string `json:"FailureReason"`
	} `json:"TranscriptionJob"`
}

func (r jobResponse) status() Status {
	return Status{State: r.Job.Status, FailureReason: r.Job.FailureReason}
}

// APIError is an error Transcribe answered: its __type code and HTTP
// status. Its text never holds Transcribe's message, which may quote the
// request.
type APIError struct {
	Code   string
	Status int
}

func (e *APIError) Error() string {
	return fmt.Sprintf("transcribe: %s (HTTP %d)", e.Code, e.Status)
}

// ErrorCode returns the code, as the SDK's API errors do (for logs).
func (e *APIError) ErrorCode() string { return e.Code }

// Retryable reports whether trying again later may succeed: throttling
// (LimitExceededException), Transcribe's own failures (5xx) and anything
// that is not an APIError (a network error, a timeout). A request
// Transcribe refused as bad (BadRequestException: an unsupported language
// or media, a recording too long) or a job it does not know will not
// succeed later.
func Retryable(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return true
	}
	switch {
	case e.Status >= 500, e.Code == "LimitExceededException", e.Code == "ThrottlingException",
		// Credentials that expired between signing and arrival, and a
		// request that timed out, pass: retried, not dead-lettered.
		e.Code == "ExpiredTokenException", e.Code == "RequestTimeoutException":
		return true
	default:
		return false
	}
}

// call POSTs one JSON 1.1 operation, signed, and decodes its answer.
func (c *Client) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("transcribe: credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), signingName, c.region, c.now()); err != nil {
		return fmt.Errorf("transcribe: sign: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("transcribe: %s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("transcribe: %s: reading the answer: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &APIError{Code: errorCode(resp.Header.Get("X-Amzn-ErrorType"), data), Status: resp.StatusCode}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("transcribe: %s: malformed answer", op)
	}
	return nil
}

// errorCode reads a JSON 1.1 error's code: the X-Amzn-ErrorType header or
// the body's __type, either possibly "namespace#Code" or "Code:uri".
func errorCode(header string, body []byte) string {
	code := header
	if code == "" {
		var e struct {
			Type string `json:"__type"`
		}
		_ = json.Unmarshal(body, &e)
		code = e.Type
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if code == "" {
		return "UnknownError"
	}
	return code
}

// ErrNoTranscript is returned by ReadTranscript for a document that is not
// a Transcribe transcript.
var ErrNoTranscript = errors.New("transcribe: not a transcript")

// maxTranscriptDocument bounds the transcript JSON read: with per-word
// items it is roughly 60 times the text, so 32 MiB is over 4 hours of
// speech.
const maxTranscriptDocument = 32 << 20

// ReadTranscript returns the text of a transcript JSON document as
// Transcribe writes it ({"results": {"transcripts": [{"transcript":
// "..."}]}}): the transcripts joined by a space, trimmed. A document
// without results.transcripts is ErrNoTranscript; a job that heard no
// speech has one empty transcript, and its text is "".
func ReadTranscript(r io.Reader) (string, error) {
	var doc struct {
		Results *struct {
			Transcripts []struct {
				Transcript string `json:"transcript"`
			} `json:"transcripts"`
		} `json:"results"`
	}
	data, err := io.ReadAll(io.LimitReader(r, maxTranscriptDocument+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxTranscriptDocument {
		return "", fmt.Errorf("%w: larger than %d bytes", ErrNoTranscript, maxTranscriptDocument)
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Results == nil || doc.Results.Transcripts == nil {
		return "", ErrNoTranscript
	}
	parts := make([]string, 0, len(doc.Results.Transcripts))
	for _, t := range doc.Results.Transcripts {
		if s := strings.TrimSpace(t.Transcript); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " "), nil
}
