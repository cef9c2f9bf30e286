// Package provision sets up Twilio subaccounts ("tenants") for this
// service end to end: the subaccount, an API key in it, the deployment's
// TwiML App, its phone numbers' webhooks, and the tenant record in Secrets
// Manager; and it rotates, lists, shows and checks them. It is used by
// cmd/subaccounts only: it imports twilio-go's REST client, which the Lambda
// functions must not carry.
//
// Every operation is ordered so that a failure or an interruption (a
// cancelled context, checked before every write) at any step leaves state
// that works and that a rerun finishes: the tenant record is written before
// any number is pointed at the deployment, Twilio objects are found again
// by record SID or by deployment-unique name, and the only API keys ever
// deleted as orphans are those whose names the record listed as pending
// before they were created.
package provision

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"bubble-twilio-voice/shared/tenant"
)

// Config holds a Provisioner's dependencies.
type Config struct {
	Twilio  Twilio
	Secrets Secrets
	// SecretPrefix + AccountSid names a tenant's secret; default
	// tenant.DefaultSecretPrefix.
	SecretPrefix string
	// Out receives the report (and, once, a new bearer key).
	Out io.Writer
	// DryRun prints each write (Twilio call, secret change) instead of
	// making it; reads still happen so the plan is accurate.
	DryRun bool
	// Stack is the CloudFormation stack the run writes for (--stack): every
	// secret written is tagged StackTagKey=Stack, and a tenant tagged for
	// another stack is refused unless Force. Empty: the stack the index is
	// tagged for, else none (untagged, as older releases wrote).
	Stack string
	// Force changes or closes a tenant tagged for another stack, and takes
	// it over for Stack.
	Force bool
	// Now defaults to time.Now; Sleep to a context-aware time.Sleep.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Provisioner runs the subaccount operations.
type Provisioner struct {
	tw      Twilio
	secrets Secrets
	prefix  string
	out     io.Writer
	dryRun  bool
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	force   bool

	// stack is the run's stack, known once resolved (see stackName);
	// indexOwner is the stack the index is tagged for.
	stack, indexOwner string
	stackKnown        bool
}

// New returns a Provisioner; in dry-run mode its writes only print.
func New(c Config) *Provisioner {
	p := &Provisioner{
		tw: c.Twilio, secrets: c.Secrets, prefix: c.SecretPrefix, out: c.Out, dryRun: c.DryRun,
		now: c.Now, sleep: c.Sleep, stack: c.Stack, force: c.Force,
	}
	p.prefix = cmp.Or(p.prefix, tenant.DefaultSecretPrefix)
	if p.out == nil {
		p.out = io.Discard
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.sleep == nil {
		p.sleep = sleepContext
	}
	if c.DryRun {
		p.tw = &planTwilio{Twilio: c.Twilio, out: p.out}
		p.secrets = planSecrets{Secrets: c.Secrets, out: p.out}
	}
	return p
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// StepError says which step failed; its text carries Twilio's error code
// and message (see Describe) and never a credential.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + Describe(e.Err) }

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

func stepErr(step string, err error) error { return &StepError{Step: step, Err: err} }

// checkpoint stops an interrupted run before its next write: twilio-go
// takes no context, so every write is preceded by this check. next says
// what would have been written.
func (p *Provisioner) checkpoint(ctx context.Context, next string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stopped before %s: %w (rerun the same command to finish)", next, err)
	}
	return nil
}

// checkAccountSID refuses what is not an AccountSid before any request.
func checkAccountSID(sid string) error {
	if !tenant.ValidAccountSID(sid) {
		return fmt.Errorf("%q is not an account SID (AC followed by 32 hex digits)", sid)
	}
	return nil
}

// errNoAuthToken says why Twilio left a subaccount's auth token out: it
// returns it only to the main account's auth token, not to an API key.
func errNoAuthToken(sid string) error {
	return fmt.Errorf("twilio did not return subaccount %s's auth token: use the main account's auth token (TWILIO_AUTH_TOKEN) instead of an API key", sid)
}

// ErrCheckFailed is returned by Check when it found problems (already
// printed), so the command exits non-zero.
var ErrCheckFailed = errors.New("check found problems")

func (p *Provisioner) secretName(accountSID string) string { return p.prefix + accountSID }

func (p *Provisioner) printf(format string, args ...any) {
	fmt.Fprintf(p.out, format, args...)
}

// done reports a write that happened; a dry run already printed its plan
// line instead.
func (p *Provisioner) done(format string, args ...any) {
	if !p.dryRun {
		p.printf(format, args...)
	}
}

// newBearerKey returns 32 random bytes as base64url (43 characters): the
// token_api_keys entry Bubble's API Connector sends.
func (p *Provisioner) newBearerKey() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
