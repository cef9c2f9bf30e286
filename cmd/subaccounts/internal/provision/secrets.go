package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	// Create makes name with value; it fails if name exists.
	Create(ctx context.Context, name string, value []byte) error
	// Put stores value as the new current version of name.
	Put(ctx context.Context, name string, value []byte) error
	// List returns the names starting with prefix, without those
	// scheduled for deletion.
	List(ctx context.Context, prefix string) ([]string, error)
	// Delete schedules name for deletion after recoveryDays (7 to 30),
	// during which aws secretsmanager restore-secret brings it back.
	Delete(ctx context.Context, name string, recoveryDays int) error
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

func (s smSecrets) Create(ctx context.Context, name string, value []byte) error {
	_, err := s.c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		Description:  aws.String("Twilio voice tenant record (bubble-twilio-voice)"),
		SecretString: aws.String(string(value)),
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

func (s smSecrets) List(ctx context.Context, prefix string) ([]string, error) {
	var names []string
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
				names = append(names, n)
			}
		}
	}
	return names, nil
}
