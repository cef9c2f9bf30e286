package provision

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"bubble-twilio-voice/shared/tenant"
)

// subaccountOf fetches accountSID with the main account's credentials and
// refuses the main account itself.
func (p *Provisioner) subaccountOf(accountSID string) (Account, error) {
	if err := checkAccountSID(accountSID); err != nil {
		return Account{}, err
	}
	a, err := p.tw.FetchAccount(accountSID)
	if err != nil {
		return Account{}, stepErr("fetch subaccount "+accountSID, err)
	}
	if a.Owner == a.SID {
		return Account{}, fmt.Errorf("%s is the main account, not a subaccount", a.SID)
	}
	return a, nil
}

// saveIfValid writes next, validating it unless the stored record was
// already invalid (a status change must never make a valid record invalid,
// and must not be blocked by an unrelated fault in an invalid one).
func (p *Provisioner) saveIfValid(ctx context.Context, st *stored, next record) error {
	_, err := tenant.Parse(st.rec.bytes())
	return p.save(ctx, st, next, err == nil)
}

// setStatus sets subaccount a's status in Twilio (main account
// credentials); verb and doing name the change in errors.
func (p *Provisioner) setStatus(ctx context.Context, a Account, status, verb, doing string) error {
	if err := p.checkpoint(ctx, doing+" the subaccount in Twilio"); err != nil {
		return err
	}
	if _, err := p.tw.UpdateAccountStatus(a.SID, status); err != nil {
		return stepErr(verb+" subaccount "+a.SID, err)
	}
	p.done("subaccount %s (%q): %s in Twilio\n", a.SID, a.FriendlyName, status)
	return nil
}

// liveCallStatuses are the call statuses suspending ends, with the status
// that ends each: Twilio hangs up a call in progress set to completed, and
// cancels one queued or ringing.
var liveCallStatuses = [][2]string{{"in-progress", "completed"}, {"ringing", "canceled"}, {"queued", "canceled"}}

// Suspend suspends a subaccount for the agency (a customer pauses, or has
// not paid). Order: mark the tenant record (status suspended, suspended_at),
// so /token refuses it with tenant_suspended at once instead of minting
// tokens that cannot work; set Twilio's Status=suspended (main account
// credentials); then end the calls Twilio leaves running (in progress:
// completed; ringing or queued: canceled). Each step writes only when
// needed, so a rerun on a suspended subaccount makes no writes.
func (p *Provisioner) Suspend(ctx context.Context, accountSID string) error {
	a, err := p.subaccountOf(accountSID)
	if err != nil {
		return err
	}
	if a.Status == "closed" {
		return fmt.Errorf("subaccount %s is closed: nothing to suspend", accountSID)
	}
	st, err := p.loadStored(ctx, p.secretName(accountSID))
	if err != nil {
		return err
	}
	switch {
	case !st.found:
		p.printf("note: no tenant record %s; suspending in Twilio only\n", st.name)
	case st.rec.str("status") == tenant.StatusSuspended:
		p.printf("tenant record %s: already marked suspended (since %s)\n", st.name, st.rec.str("suspended_at"))
	default:
		rec := st.rec.clone()
		rec.set("status", tenant.StatusSuspended)
		rec.set("suspended_at", p.now().UTC().Format(time.RFC3339))
		if err := p.saveIfValid(ctx, st, rec); err != nil {
			return err
		}
	}
	if a.Status == "suspended" {
		p.printf("subaccount %s (%q): already suspended in Twilio\n", a.SID, a.FriendlyName)
	} else if err := p.setStatus(ctx, a, "suspended", "suspend", "suspending"); err != nil {
		return err
	}
	return p.endCalls(ctx, accountSID)
}

// endCalls ends every live call of the subaccount and says how many.
func (p *Provisioner) endCalls(ctx context.Context, accountSID string) error {
	ended, gone := 0, 0
	var errs []error
	for _, sc := range liveCallStatuses {
		calls, err := p.tw.ListCalls(accountSID, sc[0])
		if err != nil {
			return stepErr("list "+sc[0]+" calls of "+accountSID, err)
		}
		for _, c := range calls {
			if err := p.checkpoint(ctx, "ending call "+c.SID); err != nil {
				return err
			}
			err := p.tw.UpdateCallStatus(accountSID, c.SID, sc[1])
			switch {
			case err == nil:
				ended++
				p.done("call %s (%s, %s -> %s): %s\n", c.SID, sc[0], c.From, c.To, sc[1])
			case isNotFound(err) || hasCode(err, 21220):
				gone++ // it ended by itself meanwhile
			default:
				errs = append(errs, stepErr("end call "+c.SID+" (rerun to retry)", err))
			}
		}
	}
	switch {
	case p.dryRun:
		p.printf("plan: %d live call(s) would be ended\n", ended)
	case ended+gone == 0:
		p.printf("calls: none in progress\n")
	default:
		p.printf("calls: ended %d call(s) in progress (%d had already ended)\n", ended, gone)
	}
	return errors.Join(errs...)
}

// Reactivate undoes Suspend: Twilio's Status=active first, then the record
// loses its status and suspended_at, so /token issues tokens again only
// when they can work. A rerun makes no writes.
func (p *Provisioner) Reactivate(ctx context.Context, accountSID string) error {
	a, err := p.subaccountOf(accountSID)
	if err != nil {
		return err
	}
	switch a.Status {
	case "closed":
		return fmt.Errorf("subaccount %s is closed; Twilio cannot reopen it", accountSID)
	case "active":
		p.printf("subaccount %s (%q): already active in Twilio\n", a.SID, a.FriendlyName)
	default:
		if err := p.setStatus(ctx, a, "active", "reactivate", "reactivating"); err != nil {
			return err
		}
	}
	st, err := p.loadStored(ctx, p.secretName(accountSID))
	if err != nil {
		return err
	}
	if !st.found {
		p.printf("note: no tenant record %s\n", st.name)
		return nil
	}
	if st.rec["status"] == nil && st.rec["suspended_at"] == nil {
		p.printf("tenant record %s: not marked suspended\n", st.name)
		return nil
	}
	rec := st.rec.clone()
	delete(rec, "status")
	delete(rec, "suspended_at")
	return p.saveIfValid(ctx, st, rec)
}

// ErrNotConfirmed is returned by Close without its confirmation, after it
// printed what closing would lose.
var ErrNotConfirmed = errors.New("not closed: confirmation missing")

// CloseOptions tune Close.
type CloseOptions struct {
	// Confirm must be the AccountSid (the CLI's --yes-close-<AccountSid>):
	// closing is irreversible.
	Confirm string
	// RecoveryDays is the tenant secret's recovery window, 7 to 30.
	RecoveryDays int
	// Recordings is the deployment's recordings bucket, whose copies of the
	// subaccount's recordings are deleted unless KeepRecordings; nil: not
	// known, and they are kept (recordings.go).
	Recordings     Recordings
	KeepRecordings bool
}

// Close closes a subaccount for good. It first shows what will be lost
// (Twilio releases every number of a closed subaccount; the record goes),
// and without o.Confirm == accountSID stops there with ErrNotConfirmed.
// Then: Twilio's Status=closed, the tenant secret is deleted with a
// recovery window, the recording copies in o.Recordings are deleted
// (unless o.KeepRecordings), and the index is rebuilt without it, so the
// deployment refuses the AccountSid. A rerun finishes what is left and
// writes nothing once everything is done.
func (p *Provisioner) Close(ctx context.Context, accountSID string, o CloseOptions) error {
	o.RecoveryDays = cmp.Or(o.RecoveryDays, 30)
	if o.RecoveryDays < 7 || o.RecoveryDays > 30 {
		return fmt.Errorf("--recovery-days %d: Secrets Manager keeps a deleted secret 7 to 30 days", o.RecoveryDays)
	}
	a, err := p.subaccountOf(accountSID)
	if err != nil {
		return err
	}
	if err := p.checkIndexOwner(ctx); err != nil {
		return err
	}
	name := p.secretName(accountSID)
	_, found, err := p.secrets.Get(ctx, name)
	scheduled := errors.Is(err, ErrScheduledForDeletion)
	if err != nil && !scheduled {
		return stepErr("read secret "+name, err)
	}
	if found {
		info, err := p.secrets.Describe(ctx, name)
		if err != nil {
			return stepErr("describe secret "+name, err)
		}
		if err := p.checkOwner(ctx, name, info.Tags); err != nil {
			return err
		}
	}
	var nums []Number
	if a.Status != "closed" {
		if nums, err = p.tw.ListNumbers(accountSID); err != nil {
			return stepErr("list numbers of "+accountSID, err)
		}
	}

	if a.Status == "closed" && !found {
		record := "absent"
		if scheduled {
			record = "scheduled for deletion"
		}
		p.printf("subaccount %s (%q): already closed; tenant record %s: %s\n", a.SID, a.FriendlyName, name, record)
		// A rerun finishes an interrupted deletion of the recordings; a
		// subaccount closed elsewhere still needs the confirmation for it.
		rec, err := p.planRecordings(ctx, accountSID, o)
		if err != nil {
			return err
		}
		if len(rec.keys) > 0 && o.Confirm != accountSID && !p.dryRun {
			p.printf("to delete them, rerun with --yes-close-%s\n", accountSID)
			return ErrNotConfirmed
		}
		if err := p.deleteRecordings(ctx, o, rec); err != nil {
			return err
		}
		_, err = p.rebuildIndex(ctx, indexChange{drop: accountSID})
		return err
	}
	p.printf("closing subaccount %s (%q, %s) cannot be undone:\n", a.SID, a.FriendlyName, a.Status)
	if a.Status != "closed" {
		if len(nums) == 0 {
			p.printf("  - it has no phone numbers\n")
		} else {
			var list []string
			for _, n := range nums {
				list = append(list, n.PhoneNumber)
			}
			p.printf("  - Twilio releases its %d phone number(s): %s\n", len(nums), strings.Join(list, ", "))
			p.printf("    to keep one, move it first: subaccounts move-number %s --from %s --to main\n", nums[0].PhoneNumber, a.SID)
		}
		p.printf("  - its API keys, TwiML Apps, call logs and recordings in Twilio go with it\n")
	} else {
		p.printf("  - it is already closed in Twilio\n")
	}
	if found {
		p.printf("  - tenant record %s is deleted (recoverable for %d days: aws secretsmanager restore-secret --secret-id %s)\n", name, o.RecoveryDays, name)
		p.printf("  - the deployment refuses its AccountSid once the index %s is rebuilt\n", p.indexName())
	}
	rec, err := p.planRecordings(ctx, accountSID, o)
	if err != nil {
		return err
	}
	if o.Confirm != accountSID && !p.dryRun {
		p.printf("to close it, rerun with --yes-close-%s\n", accountSID)
		return ErrNotConfirmed
	}

	if a.Status != "closed" {
		if err := p.setStatus(ctx, a, "closed", "close", "closing"); err != nil {
			return err
		}
	}
	if found {
		if err := p.checkpoint(ctx, "deleting secret "+name); err != nil {
			return err
		}
		if err := p.secrets.Delete(context.WithoutCancel(ctx), name, o.RecoveryDays); err != nil {
			return stepErr("delete secret "+name+" (rerun to retry)", err)
		}
		p.done("secret %s: scheduled for deletion in %d days\n", name, o.RecoveryDays)
	}
	if err := p.deleteRecordings(ctx, o, rec); err != nil {
		return err
	}
	_, err = p.rebuildIndex(ctx, indexChange{drop: accountSID})
	return err
}
