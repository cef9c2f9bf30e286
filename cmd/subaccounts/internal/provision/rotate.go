package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"bubble-twilio-voice/shared/tenant"
)

// loadTenant reads and validates an existing record for a rotation.
func (p *Provisioner) loadTenant(ctx context.Context, accountSID string) (*stored, *tenant.Tenant, error) {
	if err := checkAccountSID(accountSID); err != nil {
		return nil, nil, err
	}
	name := p.secretName(accountSID)
	st, err := p.loadStored(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if !st.found {
		return nil, nil, fmt.Errorf("no tenant record %s: provision it first with create --account-sid %s", name, accountSID)
	}
	t, err := tenant.Parse(st.rec.bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("tenant record %s is invalid (%w): fix it with create --account-sid %s first", name, err, accountSID)
	}
	return st, t, nil
}

// RotateKeyOptions tune RotateKey.
type RotateKeyOptions struct {
	// CacheTTL is how long function instances may serve a cached record
	// (SECRET_CACHE_TTL); the replaced key is deleted this long after the
	// new one was stored.
	CacheTTL time.Duration
	// NoWait stores the new key and returns; a rerun after CacheTTL
	// deletes the old one.
	NoWait bool
}

// RotateKey replaces the subaccount's API key. Order: note the new key's
// name in the record, create the key, store it with the replaced key and
// the time (previous_api_key_sid, previous_api_key_replaced_at), then,
// once CacheTTL has passed since that time, delete the old key. So no
// moment exists when a record that any function instance may hold names a
// key Twilio no longer has. A rerun while a rotation is unfinished finishes
// it (waiting out what is left of CacheTTL) and starts no new one.
func (p *Provisioner) RotateKey(ctx context.Context, accountSID string, o RotateKeyOptions) error {
	st, t, err := p.loadTenant(ctx, accountSID)
	if err != nil {
		return err
	}
	if prev := st.rec.str(prevKeyField); prev != "" {
		p.printf("resuming: API key %s replaced %s at %s; finishing that rotation (run rotate-key again afterwards for another)\n",
			t.APIKeySID, prev, st.rec.str(prevKeyAtField))
		return p.retireKey(ctx, accountSID, st, o.CacheTTL, !o.NoWait)
	}
	keys, err := p.tw.ListKeys(accountSID)
	if err != nil {
		return stepErr("list API keys of "+accountSID, err)
	}
	prefix := keyPrefixFrom("")
	for _, k := range keys {
		if k.SID == t.APIKeySID {
			prefix = keyPrefixFrom(k.FriendlyName)
		}
	}
	res, err := p.ensureKey(ctx, accountSID, st, keys, prefix, true)
	if err != nil {
		return err
	}
	rec := st.rec.clone()
	res.apply(rec, p.now())
	if err := p.save(ctx, st, rec, true); err != nil {
		return err
	}
	errs := res.errs
	if err := p.retireKey(ctx, accountSID, st, o.CacheTTL, !o.NoWait); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
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
	st, t, err := p.loadTenant(ctx, accountSID)
	if err != nil {
		return err
	}
	acct, err := p.tw.FetchAccount(accountSID)
	if err != nil {
		return stepErr("fetch subaccount "+accountSID, err)
	}
	primary := acct.AuthToken
	if primary == "" {
		return errNoAuthToken(accountSID)
	}
	rec := st.rec.clone()

	if o.DropPrevious {
		if t.AuthToken != primary {
			return fmt.Errorf("the record's auth_token is not %s's current auth token: finish the rotation (rerun rotate-auth-token) first", accountSID)
		}
		if t.PreviousAuthToken == "" {
			p.printf("secret %s: no previous_auth_token to drop\n", st.name)
			return nil
		}
		delete(rec, "previous_auth_token")
		return p.save(ctx, st, rec, true)
	}

	stage := func() (string, error) {
		if err := p.checkpoint(ctx, "creating a secondary auth token"); err != nil {
			return "", err
		}
		s, err := p.tw.CreateSecondaryAuthToken(accountSID, primary)
		if err != nil {
			return "", stepErr("create secondary auth token of "+accountSID, err)
		}
		p.done("secondary auth token: created\n")
		rec.set("auth_token", s)
		rec.set("previous_auth_token", primary)
		return s, p.save(ctx, st, rec, true)
	}
	var secondary string
	resumed := false
	switch {
	case t.AuthToken == primary:
		if secondary, err = stage(); err != nil {
			return err
		}
	case t.PreviousAuthToken == primary:
		p.printf("resuming: the record holds a secondary auth token that is not promoted yet\n")
		secondary, resumed = t.AuthToken, true
	default:
		return fmt.Errorf("the record's auth_token is not %s's current auth token (changed in the console?): run create --account-sid %s to resync it, then rotate", accountSID, accountSID)
	}

	// promote waits until every function instance holds the secondary, then
	// promotes it.
	promote := func() (string, error) {
		if err := p.wait(ctx, o.Wait, "before promoting the secondary auth token"); err != nil {
			return "", fmt.Errorf("not promoted: %w (rerun rotate-auth-token to finish)", err)
		}
		if err := p.checkpoint(ctx, "promoting the secondary auth token"); err != nil {
			return "", err
		}
		promoted, err := p.tw.PromoteSecondaryAuthToken(accountSID, secondary)
		if err != nil {
			return "", stepErr("promote secondary auth token of "+accountSID+" (rerun to retry)", err)
		}
		return promoted, nil
	}
	promoted, err := promote()
	if err != nil && resumed && isUnauthorized(err) {
		// The stored secondary was replaced by a newer one we do not know:
		// start over from the primary, which still works.
		p.printf("the stored secondary auth token was rejected (replaced since?): starting over\n")
		if secondary, err = stage(); err != nil {
			return err
		}
		promoted, err = promote()
	}
	if err != nil {
		return err
	}
	p.done("secondary auth token: promoted; the old token no longer works for the REST API\n")
	if promoted != secondary && !p.dryRun {
		// Someone else created a newer secondary; store what Twilio promoted.
		rec.set("auth_token", promoted)
		if err := p.save(ctx, st, rec, true); err != nil {
			return err
		}
	}
	p.printf("previous_auth_token is kept so webhooks signed with the old token still pass; when they are done, run rotate-auth-token --drop-previous %s\n", accountSID)
	return nil
}
