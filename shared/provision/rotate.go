package provision

import (
	"context"
	"fmt"
	"time"

	"bubble-twilio-voice/shared/tenant"
)

// loadTenant reads and validates an existing record for a rotation.
func (p *Provisioner) loadTenant(ctx context.Context, accountSID string) (record, *tenant.Tenant, error) {
	if !tenant.ValidAccountSID(accountSID) {
		return nil, nil, fmt.Errorf("%q is not an account SID (AC followed by 32 hex digits)", accountSID)
	}
	name := p.secretName(accountSID)
	rec, found, err := p.loadRecord(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if !found {
		return nil, nil, fmt.Errorf("no tenant record %s: provision it first with create --account-sid %s", name, accountSID)
	}
	t, err := tenant.Parse(rec.bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("tenant record %s is invalid (%w): fix it with create --account-sid %s first", name, err, accountSID)
	}
	return rec, t, nil
}

// RotateKey replaces the subaccount's API key. Order: create the new key,
// store it in the record, wait, and only then delete the old key, so no
// moment exists when the record names a key Twilio no longer has. If the
// store fails the new key is an orphan that the next create or rotate-key
// deletes.
func (p *Provisioner) RotateKey(ctx context.Context, accountSID string, wait time.Duration) error {
	old, t, err := p.loadTenant(ctx, accountSID)
	if err != nil {
		return err
	}
	keys, err := p.tw.ListKeys(accountSID)
	if err != nil {
		return stepErr("list API keys of "+accountSID, err)
	}
	keyName, oldExists := "bubble-twilio-voice", false
	for _, k := range keys {
		if k.SID == t.APIKeySID {
			keyName, oldExists = k.FriendlyName, true
		}
	}
	key, err := p.tw.CreateKey(accountSID, keyName)
	if err != nil {
		return stepErr("create API key in "+accountSID, err)
	}
	p.done("API key %s: created (its secret goes into the secret only)\n", key.SID)
	rec := old.clone()
	rec.set("api_key_sid", key.SID)
	rec.set("api_key_secret", key.Secret)
	if err := p.storeRecord(ctx, p.secretName(accountSID), old, rec, true); err != nil {
		return err
	}
	var orphans []string
	for _, k := range keys {
		if k.FriendlyName == keyName && k.SID != t.APIKeySID && k.SID != key.SID {
			orphans = append(orphans, k.SID)
		}
	}
	replaced := ""
	if oldExists {
		replaced = t.APIKeySID
	}
	return p.deleteKeys(ctx, accountSID, orphans, replaced, wait)
}

// RotateAuthTokenOptions tune RotateAuthToken.
type RotateAuthTokenOptions struct {
	// Wait between storing the secondary token and promoting it.
	Wait time.Duration
	// DropPrevious only removes previous_auth_token from a finished
	// rotation's record, once in-flight webhooks are done.
	DropPrevious bool
}

// RotateAuthToken replaces the subaccount's auth token with Twilio's
// secondary auth token flow. Order and why:
//
//  1. Create a secondary token (authenticated as the subaccount with its
//     current token P). Twilio now accepts both, still signs webhooks with P.
//  2. Store auth_token = S, previous_auth_token = P. The functions check a
//     signature against both, so every webhook passes whichever they hold.
//  3. Wait until every function instance has reloaded the record
//     (SECRET_CACHE_TTL), so none knows only P.
//  4. Promote S. Twilio deletes P and signs with S from now on; requests
//     signed with P still in flight or retried pass thanks to
//     previous_auth_token, which stays until --drop-previous.
//
// A rerun after a failure resumes: before step 2 it starts over (the new
// secondary replaces the unused one), after it it goes on with step 3.
func (p *Provisioner) RotateAuthToken(ctx context.Context, accountSID string, o RotateAuthTokenOptions) error {
	old, t, err := p.loadTenant(ctx, accountSID)
	if err != nil {
		return err
	}
	name := p.secretName(accountSID)
	acct, err := p.tw.FetchAccount(accountSID)
	if err != nil {
		return stepErr("fetch subaccount "+accountSID, err)
	}
	primary := acct.AuthToken
	if primary == "" {
		return fmt.Errorf("twilio did not return %s's auth token: use the main account's auth token (TWILIO_AUTH_TOKEN) instead of an API key", accountSID)
	}
	rec := old.clone()

	if o.DropPrevious {
		if t.AuthToken != primary {
			return fmt.Errorf("the record's auth_token is not %s's current auth token: finish the rotation (rerun rotate-auth-token) first", accountSID)
		}
		if t.PreviousAuthToken == "" {
			p.printf("secret %s: no previous_auth_token to drop\n", name)
			return nil
		}
		delete(rec, "previous_auth_token")
		return p.storeRecord(ctx, name, old, rec, true)
	}

	stage := func(cur record) (string, error) {
		s, err := p.tw.CreateSecondaryAuthToken(accountSID, primary)
		if err != nil {
			return "", stepErr("create secondary auth token of "+accountSID, err)
		}
		p.done("secondary auth token: created\n")
		rec.set("auth_token", s)
		rec.set("previous_auth_token", primary)
		return s, p.storeRecord(ctx, name, cur, rec, true)
	}
	var secondary string
	resumed := false
	switch {
	case t.AuthToken == primary:
		if secondary, err = stage(old); err != nil {
			return err
		}
	case t.PreviousAuthToken == primary:
		p.printf("resuming: the record holds a secondary auth token that is not promoted yet\n")
		secondary, resumed = t.AuthToken, true
	default:
		return fmt.Errorf("the record's auth_token is not %s's current auth token (changed in the console?): run create --account-sid %s to resync it, then rotate", accountSID, accountSID)
	}

	if err := p.wait(ctx, o.Wait, "before promoting the secondary auth token"); err != nil {
		return fmt.Errorf("not promoted: %w (rerun rotate-auth-token to finish)", err)
	}
	promoted, err := p.tw.PromoteSecondaryAuthToken(accountSID, secondary)
	if err != nil && resumed && isUnauthorized(err) {
		// The stored secondary was replaced by a newer one we do not know:
		// start over from the primary, which still works.
		p.printf("the stored secondary auth token was rejected (replaced since?): starting over\n")
		if secondary, err = stage(rec.clone()); err != nil {
			return err
		}
		if err := p.wait(ctx, o.Wait, "before promoting the secondary auth token"); err != nil {
			return fmt.Errorf("not promoted: %w (rerun rotate-auth-token to finish)", err)
		}
		promoted, err = p.tw.PromoteSecondaryAuthToken(accountSID, secondary)
	}
	if err != nil {
		return stepErr("promote secondary auth token of "+accountSID+" (rerun to retry)", err)
	}
	p.done("secondary auth token: promoted; the old token no longer works for the REST API\n")
	if promoted != secondary && !p.dryRun {
		// Someone else created a newer secondary; store what Twilio promoted.
		cur := rec.clone()
		rec.set("auth_token", promoted)
		if err := p.storeRecord(ctx, name, cur, rec, true); err != nil {
			return err
		}
	}
	p.printf("previous_auth_token is kept so webhooks signed with the old token still pass; when they are done, run rotate-auth-token --drop-previous %s\n", accountSID)
	return nil
}
