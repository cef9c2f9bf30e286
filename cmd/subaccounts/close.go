package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
)

// closeFlags are close's flags for the recording copies in the stack's
// bucket (its --stack is every writing command's).
type closeFlags struct {
	bucket string
	keep   bool
}

func (c *closeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.bucket, "recordings-bucket", "", "the recordings bucket, whose copies of the subaccount's recordings are deleted (default: the --stack's RecordingsBucketName)")
	fs.BoolVar(&c.keep, "keep-recordings", false, "keep the recording copies until the bucket's lifecycle rule deletes them (RecordingRetentionDays)")
}

// errNoRecordingsBucket: close must know what becomes of the recordings.
var errNoRecordingsBucket = errors.New("close needs the stack, whose bucket holds the subaccount's recording copies: pass --stack NAME (or --recordings-bucket NAME) to delete them, or --keep-recordings to leave them to the bucket's lifecycle rule")

// recordings sets o's bucket: --recordings-bucket, else the stack's
// RecordingsBucketName output (d, read for --stack). Without either, only
// --keep-recordings lets close go on.
func (c closeFlags) recordings(awsCfg aws.Config, d provision.Deployment, o *provision.CloseOptions) error {
	o.KeepRecordings = c.keep
	bucket := c.bucket
	if bucket == "" && d.Stack != "" {
		if bucket = d.RecordingsBucket; bucket == "" {
			return fmt.Errorf("stack %s has no RecordingsBucketName output (is it deployed from this repository's template.yaml?): pass --recordings-bucket or --keep-recordings", d.Stack)
		}
	}
	if bucket == "" {
		if !c.keep {
			return errNoRecordingsBucket
		}
		return nil
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		// A local S3 (AWS_ENDPOINT_URL_S3, as in the tests) needs path-style
		// addressing.
		o.UsePathStyle = o.BaseEndpoint != nil
	})
	o.Recordings = provision.S3Recordings{Client: client, Bucket: bucket}
	return nil
}
