package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"bubble-twilio-voice/shared/recordings"
)

// Recordings is the deployment's recordings bucket as close sees it: the
// copies the deliver function made of a tenant's recordings, under
// recordings.Prefix(AccountSid).
type Recordings interface {
	// Where names the bucket and prefix for the report (s3://bucket/prefix).
	Where(prefix string) string
	// List returns the keys under prefix and their total size in bytes.
	List(ctx context.Context, prefix string) (keys []string, size int64, err error)
	// Delete deletes keys for good (the bucket keeps no versions).
	Delete(ctx context.Context, keys []string) error
}

// S3API is the subset of *s3.Client that S3Recordings uses.
type S3API interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	DeleteObjects(context.Context, *s3.DeleteObjectsInput, ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

// S3Recordings is Recordings on the stack's RecordingsBucket.
type S3Recordings struct {
	Client S3API
	Bucket string
}

// maxDeleteKeys is DeleteObjects' limit of keys per request.
const maxDeleteKeys = 1000

// Where implements Recordings.
func (r S3Recordings) Where(prefix string) string { return "s3://" + r.Bucket + "/" + prefix }

// List implements Recordings with ListObjectsV2, page by page.
func (r S3Recordings) List(ctx context.Context, prefix string) ([]string, int64, error) {
	var keys []string
	var size int64
	pages := s3.NewListObjectsV2Paginator(r.Client, &s3.ListObjectsV2Input{Bucket: aws.String(r.Bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("list %s: %w", r.Where(prefix), err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
			size += aws.ToInt64(o.Size)
		}
	}
	return keys, size, nil
}

// Delete implements Recordings with DeleteObjects, maxDeleteKeys at a time.
// DeleteObjects answers 200 even when some keys fail: each failure is in
// its Errors, and any makes Delete fail (a rerun deletes what is left).
func (r S3Recordings) Delete(ctx context.Context, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), maxDeleteKeys)
		ids := make([]s3types.ObjectIdentifier, n)
		for i, k := range keys[:n] {
			ids[i] = s3types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := r.Client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(r.Bucket),
			Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("delete from s3://%s: %w", r.Bucket, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return fmt.Errorf("delete from s3://%s: %d object(s) not deleted, first %s: %s", r.Bucket, len(out.Errors), aws.ToString(e.Key), aws.ToString(e.Code))
		}
		keys = keys[n:]
	}
	return nil
}

// recordingsPlan is what Close will do with a tenant's recording copies.
type recordingsPlan struct {
	where string
	keys  []string
	size  int64
}

// planRecordings lists accountSID's recording copies and says in the
// report what closing does with them: deleted, or kept with
// o.KeepRecordings until the bucket's lifecycle rule deletes each,
// RecordingRetentionDays after it was stored.
func (p *Provisioner) planRecordings(ctx context.Context, accountSID string, o CloseOptions) (recordingsPlan, error) {
	prefix := recordings.Prefix(accountSID)
	if o.Recordings == nil { // the CLI refuses this without --keep-recordings
		p.printf("  - its recording copies in the deployment's bucket (under %s) are kept until the bucket's lifecycle rule deletes each, RecordingRetentionDays after it was stored; its links answer 404 from now on\n", prefix)
		return recordingsPlan{}, nil
	}
	where := o.Recordings.Where(prefix)
	keys, size, err := o.Recordings.List(ctx, prefix)
	if err != nil {
		return recordingsPlan{}, stepErr("list recordings of "+accountSID, err)
	}
	switch {
	case len(keys) == 0:
		p.printf("  - it has no recording copies in %s\n", where)
	case o.KeepRecordings:
		p.printf("  - its %d recording copies (%s) in %s are kept (--keep-recordings) until the bucket's lifecycle rule deletes each, RecordingRetentionDays after it was stored; its links answer 404 from now on\n", len(keys), byteSize(size), where)
		return recordingsPlan{}, nil
	default:
		p.printf("  - its %d recording copies (%s) in %s are deleted, for good (--keep-recordings keeps them)\n", len(keys), byteSize(size), where)
	}
	return recordingsPlan{where: where, keys: keys, size: size}, nil
}

// deleteRecordings carries out a plan of planRecordings.
func (p *Provisioner) deleteRecordings(ctx context.Context, o CloseOptions, plan recordingsPlan) error {
	if len(plan.keys) == 0 {
		return nil
	}
	if p.dryRun {
		p.printf("plan: delete %d recording copies (%s) under %s\n", len(plan.keys), byteSize(plan.size), plan.where)
		return nil
	}
	if err := p.checkpoint(ctx, "deleting recordings under "+plan.where); err != nil {
		return err
	}
	if err := o.Recordings.Delete(context.WithoutCancel(ctx), plan.keys); err != nil {
		return stepErr("delete recordings under "+plan.where+" (rerun to retry)", err)
	}
	p.done("recordings under %s: %d deleted (%s)\n", plan.where, len(plan.keys), byteSize(plan.size))
	return nil
}

// byteSize writes n bytes for a person: 512 B, 3.4 MB.
func byteSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
