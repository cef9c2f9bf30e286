// Package s3store is recordings.Store on Amazon S3: the deployment's own
// private, encrypted bucket, whose lifecycle rule deletes recordings after
// the retention the template sets. Recordings are handed out as presigned
// GET URLs valid for minutes, made at the moment a link is followed.
package s3store

import (
	"context"
	"fmt"
	"io"
	"path"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"bubble-twilio-voice/shared/awsenv"
	"bubble-twilio-voice/shared/recordings"
)

// PresignTTL is how long a presigned GET URL works: long enough to start
// playing, short enough that a copied URL is soon useless.
const PresignTTL = 5 * time.Minute

// NewClient returns an S3 client configured from a Lambda function's
// environment (awsenv). With an endpoint override (AWS_ENDPOINT_URL_S3,
// tests and local S3 servers) it uses path-style addressing, which such
// servers need.
func NewClient(getenv func(string) string) (*s3.Client, error) {
	cfg, err := awsenv.Config(getenv)
	if err != nil {
		return nil, fmt.Errorf("s3 client: %w", err)
	}
	endpoint := awsenv.BaseEndpoint(getenv, "S3")
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = endpoint
		o.UsePathStyle = endpoint != nil
	}), nil
}

// Store is a bucket.
type Store struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
}

// New returns the store of bucket.
func New(client *s3.Client, bucket string) *Store {
	return &Store{client: client, presign: s3.NewPresignClient(client), bucket: bucket}
}

// Put implements recordings.Store. The bucket's default encryption applies.
func (s *Store) Put(ctx context.Context, key string, body io.ReadSeeker, size int64) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(recordings.ContentTypeOf(key)),
	})
	if err != nil {
		return fmt.Errorf("s3 put: %w", err)
	}
	return nil
}

// Stat implements recordings.Store with HeadObject.
func (s *Store) Stat(ctx context.Context, key string) (time.Time, bool, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		if awsenv.NotFound(err) {
			return time.Time{}, false, nil
		}
		return time.Time{}, false, fmt.Errorf("s3 head: %w", err)
	}
	return aws.ToTime(out.LastModified), true, nil
}

// Get implements recordings.Store with a presigned GET URL valid for
// PresignTTL, which opens inline (audio/mpeg, or text for a transcript).
// Presigning is local: no request is made.
func (s *Store) Get(ctx context.Context, key string) (recordings.Object, error) {
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket:                     aws.String(s.bucket),
		Key:                        aws.String(key),
		ResponseContentType:        aws.String(recordings.ContentTypeOf(key)),
		ResponseContentDisposition: aws.String(`inline; filename="` + path.Base(key) + `"`),
	}, s3.WithPresignExpires(PresignTTL))
	if err != nil {
		return recordings.Object{}, fmt.Errorf("s3 presign: %w", err)
	}
	return recordings.Object{URL: req.URL}, nil
}

// Read returns the content of the object at key (a transcript Transcribe
// wrote); recordings.ErrNotFound when there is none.
func (s *Store) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		if awsenv.NotFound(err) {
			return nil, recordings.ErrNotFound
		}
		return nil, fmt.Errorf("s3 get: %w", err)
	}
	return out.Body, nil
}

// Bucket is the store's bucket, as Transcribe is told where to read and
// write (s3://Bucket/key).
func (s *Store) Bucket() string { return s.bucket }
