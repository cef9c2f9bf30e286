package provision

import (
	"cmp"
	"context"
	"errors"
	"fmt"
)

// StackTagKey is the tag the CLI puts on every secret it writes, valued
// with the CloudFormation stack the secret belongs to. The template's
// policy lets a stack's functions read no secret tagged for another stack
// (untagged secrets, written by older releases, stay readable), and the CLI
// changes or closes no tenant tagged for another stack without --force.
const StackTagKey = "bubble-twilio-voice:stack"

// ErrOtherStack is the cause of a refusal to change a secret tagged for
// another stack.
var ErrOtherStack = errors.New("the secret belongs to another stack")

// stackName is the stack this run writes for: Config.Stack (from --stack),
// else the stack the index is tagged for, else "" (untagged, as older
// releases wrote). It reads the index's tags once per run.
func (p *Provisioner) stackName(ctx context.Context) (string, error) {
	if p.stackKnown {
		return p.stack, nil
	}
	info, err := p.secrets.Describe(ctx, p.indexName())
	if err != nil {
		return "", stepErr("describe index "+p.indexName(), err)
	}
	p.indexOwner = info.Tags[StackTagKey]
	p.stack = cmp.Or(p.stack, p.indexOwner)
	p.stackKnown = true
	return p.stack, nil
}

// stackTags are the tags of a secret written for the run's stack (none
// when it is not known).
func (p *Provisioner) stackTags(ctx context.Context) (map[string]string, error) {
	stack, err := p.stackName(ctx)
	if err != nil || stack == "" {
		return nil, err
	}
	return map[string]string{StackTagKey: stack}, nil
}

// checkOwner refuses to change the secret name, tagged with tags, when it
// belongs to another stack than the run's, unless the run forces it.
func (p *Provisioner) checkOwner(ctx context.Context, name string, tags map[string]string) error {
	owner := tags[StackTagKey]
	stack, err := p.stackName(ctx)
	if err != nil || owner == "" || owner == stack {
		return err
	}
	switch {
	case p.force:
		p.printf("note: secret %s is tagged for stack %q; --force takes it over\n", name, owner)
		return nil
	case stack == "":
		return fmt.Errorf("secret %s belongs to stack %q and this command does not know its own stack: pass --stack %s if that is the one (or --force to change it anyway): %w", name, owner, owner, ErrOtherStack)
	}
	return fmt.Errorf("secret %s belongs to stack %q, not %q: another stack's tenant is left alone (pass --force to take it over): %w", name, owner, stack, ErrOtherStack)
}

// checkIndexOwner refuses to write an index tagged for another stack: two
// stacks with one SecretPrefix would share, and overwrite, each other's
// tenants.
func (p *Provisioner) checkIndexOwner(ctx context.Context) error {
	stack, err := p.stackName(ctx)
	if err != nil || p.indexOwner == "" || p.indexOwner == stack || p.force {
		return err
	}
	return fmt.Errorf("index %s belongs to stack %q, not %q: two stacks with one SecretPrefix would share their tenants; deploy %q with its own SecretPrefix (or pass --force): %w",
		p.indexName(), p.indexOwner, stack, stack, ErrOtherStack)
}

// ensureTagged tags the secret name for the run's stack when it is not yet
// (an untagged secret of an older release, or one taken over with --force),
// so a rerun makes no write.
func (p *Provisioner) ensureTagged(ctx context.Context, name string, tags map[string]string) error {
	want, err := p.stackTags(ctx)
	if err != nil || want == nil || tags[StackTagKey] == want[StackTagKey] {
		return err
	}
	if err := p.checkpoint(ctx, "tagging secret "+name); err != nil {
		return err
	}
	if err := p.secrets.Tag(context.WithoutCancel(ctx), name, want); err != nil {
		return stepErr("tag secret "+name, err)
	}
	p.done("secret %s: tagged %s=%s\n", name, StackTagKey, want[StackTagKey])
	return nil
}
