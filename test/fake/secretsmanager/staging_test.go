package secretsmanager_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
)

// TestStagingLabels rotates a secret twice with PutSecretValue, as the
// link-key recipe in docs/deploy.md does, and reads each staging label and
// version id back through the real SDK client.
func TestStagingLabels(t *testing.T) {
	srv := fakesm.Start(t)
	sm := client(t, srv.URL(), 1)
	ctx := context.Background()
	const name = "link-key"
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("k1")})
	if err != nil {
		t.Fatal(err)
	}
	get := func(id, stage string) (string, []string, error) {
		t.Helper()
		in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)}
		if id != "" {
			in.VersionId = aws.String(id)
		}
		if stage != "" {
			in.VersionStage = aws.String(stage)
		}
		out, err := sm.GetSecretValue(ctx, in)
		if err != nil {
			return "", nil, err
		}
		if out.CreatedDate == nil || out.CreatedDate.IsZero() {
			t.Errorf("GetSecretValue(%q, %q) without CreatedDate", id, stage)
		}
		return aws.ToString(out.SecretString), out.VersionStages, nil
	}

	// Written once: no AWSPREVIOUS yet, and AWS says so.
	_, _, err = get("", fakesm.StagePrevious)
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("AWSPREVIOUS of a secret written once: %v, want ResourceNotFoundException", err)
	}
	checkAPIError(t, err, "ResourceNotFoundException", 400)

	for i, next := range []string{"k2", "k3"} {
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(next)}); err != nil {
			t.Fatal(err)
		}
		prev := []string{"k1", "k2"}[i]
		if v, stages, err := get("", ""); err != nil || v != next || !slices.Equal(stages, []string{fakesm.StageCurrent}) {
			t.Errorf("after putting %s: default read %q %v %v", next, v, stages, err)
		}
		if v, _, err := get("", fakesm.StageCurrent); err != nil || v != next {
			t.Errorf("after putting %s: AWSCURRENT %q %v", next, v, err)
		}
		if v, stages, err := get("", fakesm.StagePrevious); err != nil || v != prev || !slices.Equal(stages, []string{fakesm.StagePrevious}) {
			t.Errorf("after putting %s: AWSPREVIOUS %q %v %v, want %s", next, v, stages, err, prev)
		}
	}
	// k1 has lost every label (deprecated) but is still readable by id.
	if st := srv.Stages(name, "k1"); len(st) != 0 {
		t.Errorf("k1 stages %v after two rotations, want none", st)
	}
	id := aws.ToString(created.VersionId)
	if v, stages, err := get(id, ""); err != nil || v != "k1" || len(stages) != 0 {
		t.Errorf("by version id: %q %v %v", v, stages, err)
	}
	if _, _, err := get(id, fakesm.StageCurrent); !errors.As(err, &nf) {
		t.Errorf("version id with a label it does not carry: %v, want ResourceNotFoundException", err)
	}
	if _, _, err := get("", "AWSPENDING"); !errors.As(err, &nf) {
		t.Errorf("a label no version carries: %v", err)
	}
	// Labels other than the default move are not modelled: refused, not
	// silently misapplied.
	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("k4"), VersionStages: []string{"AWSPENDING"}})
	checkAPIError(t, err, "InvalidParameterException", 400)
	if v, _, _ := get("", ""); v != "k3" {
		t.Errorf("a refused put changed AWSCURRENT to %q", v)
	}
}
