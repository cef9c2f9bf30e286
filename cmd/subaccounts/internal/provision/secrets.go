package provision

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"bubble-twilio-voice/shared/awsenv"
)

// Secrets is the part of Secrets Manager provisioning uses. Values are the
// tenant records' JSON text.
type Secrets interface {
	// Get returns the current value of name; found is false when there is
	// no such secret.
	Get(ctx context.Context, name string) (value []byte, found bool, err error)
	// Create makes name with value and tags; it fails if name exists.
	Create(ctx context.Context, name string, value []byte, tags map[string]string) error
	// Put stores value as the new current version of name.
	Put(ctx context.Context, name string, value []byte) error
	// List returns the secrets whose names start with prefix, with their
	// tags, without those scheduled for deletion. It may miss secrets
	// created in the last minutes: ListSecrets "might not reflect changes
	// from the last five minutes"
	// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html).
	List(ctx context.Context, prefix string) ([]Listed, error)
	// Delete schedules name for deletion after recoveryDays (7 to 30),
	// during which aws secretsmanager restore-secret brings it back.
	Delete(ctx context.Context, name string, recoveryDays int) error
	// Describe returns what Secrets Manager knows of name now (unlike List,
	// it is current at once).
	Describe(ctx context.Context, name string) (SecretInfo, error)
	// Tag adds tags to name, replacing the values of keys it has.
	Tag(ctx context.Context, name string, tags map[string]string) error
	// Versions lists name's versions, unlabeled ones included.
	Versions(ctx context.Context, name string) ([]Version, error)
}

// Listed is one secret List returned.
type Listed struct {
	Name string
	Tags map[string]string
}

// SecretInfo is what Describe says of a secret.
type SecretInfo struct {
	Found   bool // false: no such secret
	Deleted bool // scheduled for deletion
	Tags    map[string]string
}

// Version is one version of a secret.
type Version struct {
	Created time.Time
	// Labeled is true for a version with a staging label (AWSCURRENT,
	// AWSPREVIOUS), which Secrets Manager never removes.
	Labeled bool
}

// ErrScheduledForDeletion is returned by Get for a secret that Delete
// scheduled for deletion.
var ErrScheduledForDeletion = errors.New("secret is scheduled for deletion")

// SecretsManagerAPI is the subset of *secretsmanager.Client used, so a
// caller can wrap or replace it.
type SecretsManagerAPI interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	CreateSecret(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	ListSecrets(context.Context, *secretsmanager.ListSecretsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	DeleteSecret(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	TagResource(context.Context, *secretsmanager.TagResourceInput, ...func(*secretsmanager.Options)) (*secretsmanager.TagResourceOutput, error)
	ListSecretVersionIds(context.Context, *secretsmanager.ListSecretVersionIdsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretVersionIdsOutput, error)
}

// NewSecretsManager returns Secrets backed by the AWS SDK client. The
// secrets it creates are encrypted with kmsKeyID (the stack's
// SecretsKmsKeyArn output), or with Secrets Manager's own key when empty.
func NewSecretsManager(c SecretsManagerAPI, kmsKeyID string) Secrets { return smSecrets{c, kmsKeyID} }

type smSecrets struct {
	c        SecretsManagerAPI
	kmsKeyID string
}

func (s smSecrets) Get(ctx context.Context, name string) ([]byte, bool, error) {
	out, err := s.c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if awsenv.NotFound(err) {
		return nil, false, nil
	}
	if awsenv.MarkedForDeletion(err) {
		return nil, false, ErrScheduledForDeletion
	}
	if err != nil {
		return nil, false, err
	}
	if out.SecretString == nil {
		return nil, true, fmt.Errorf("secret %s has no string value", name)
	}
	return []byte(*out.SecretString), true, nil
}

func (s smSecrets) Create(ctx context.Context, name string, value []byte, tags map[string]string) error {
	_, err := s.c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		Description:  aws.String("Twilio voice tenant record (bubble-twilio-voice)"),
		SecretString: aws.String(string(value)),
		Tags:         smTags(tags),
		KmsKeyId:     kmsKey(s.kmsKeyID),
	})
	return err
}

// kmsKey is CreateSecret's KmsKeyId: nil leaves Secrets Manager's default.
func kmsKey(id string) *string {
	if id == "" {
		return nil
	}
	return aws.String(id)
}

func (s smSecrets) Put(ctx context.Context, name string, value []byte) error {
	_, err := s.c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:     aws.String(name),
		SecretString: aws.String(string(value)),
	})
	return err
}

func (s smSecrets) Delete(ctx context.Context, name string, recoveryDays int) error {
	_, err := s.c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId:             aws.String(name),
		RecoveryWindowInDays: aws.Int64(int64(recoveryDays)),
	})
	return err
}

func (s smSecrets) List(ctx context.Context, prefix string) ([]Listed, error) {
	var list []Listed
	pages := secretsmanager.NewListSecretsPaginator(s.c, &secretsmanager.ListSecretsInput{
		Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{prefix}}},
	})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range out.SecretList {
			// The name filter matches prefixes of words too; keep true prefixes.
			if n := aws.ToString(e.Name); strings.HasPrefix(n, prefix) {
				list = append(list, Listed{Name: n, Tags: tagMap(e.Tags)})
			}
		}
	}
	return list, nil
}

func (s smSecrets) Describe(ctx context.Context, name string) (SecretInfo, error) {
	out, err := s.c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if _, ok := errors.AsType[*smtypes.ResourceNotFoundException](err); ok {
		return SecretInfo{}, nil
	}
	if err != nil {
		return SecretInfo{}, err
	}
	return SecretInfo{Found: true, Deleted: out.DeletedDate != nil, Tags: tagMap(out.Tags)}, nil
}

func (s smSecrets) Tag(ctx context.Context, name string, tags map[string]string) error {
	_, err := s.c.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(name), Tags: smTags(tags)})
	return err
}

func (s smSecrets) Versions(ctx context.Context, name string) ([]Version, error) {
	var vs []Version
	pages := secretsmanager.NewListSecretVersionIdsPaginator(s.c, &secretsmanager.ListSecretVersionIdsInput{
		SecretId: aws.String(name), IncludeDeprecated: aws.Bool(true),
	})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range out.Versions {
			vs = append(vs, Version{Created: aws.ToTime(v.CreatedDate), Labeled: len(v.VersionStages) > 0})
		}
	}
	return vs, nil
}

// smTags is tags in the SDK's shape, sorted by key; nil for none.
func smTags(tags map[string]string) []smtypes.Tag {
	var out []smtypes.Tag
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, smtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

// tagMap is the SDK's tags as a map.
func tagMap(tags []smtypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
