package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"bubble-twilio-voice/shared/tenant"
)

// MainAccount names the main (parent) account in MoveOptions.
const MainAccount = "main"

// MoveOptions say which number moves where.
type MoveOptions struct {
	Number   string // E.164
	From, To string // AccountSids, or MainAccount
	// Clients, if set, become the number's route in the gaining tenant
	// (otherwise the losing tenant's route for it moves along).
	Clients    []string
	Deployment Deployment
}

// party is one side of a move: an account and, for a tenant, its record.
type party struct {
	sid  string
	main bool
	st   *stored // nil for the main account or a subaccount without a record
}

// MoveNumber moves a phone number between the main account and a
// subaccount, or between two subaccounts. Twilio keeps neither the
// number's webhooks nor this service's routing across a transfer, so, in
// an order where every interruption leaves callers routed somewhere:
//
//  1. the gaining tenant's record gets the number's route (the losing
//     tenant's, or --client) and the number in caller_ids;
//  2. Twilio transfers the number (main account credentials);
//  3. the number's Voice URL, fallback and status callback are set for
//     this deployment in the gaining subaccount;
//  4. the losing tenant's record loses the number's route and caller ID.
//
// The move is refused before any write when the number is the losing
// tenant's caller_id, or when nobody would ring for it in the gaining
// tenant. A rerun finishes an interrupted move and makes no writes after a
// finished one.
func (p *Provisioner) MoveNumber(ctx context.Context, o MoveOptions) error {
	if !tenant.ValidE164(o.Number) {
		return fmt.Errorf("%q must be an E.164 number such as +14155550100", o.Number)
	}
	for _, c := range o.Clients {
		if !tenant.ValidIdentity(c) {
			return fmt.Errorf("--client %q: %s", c, tenant.IdentityRule)
		}
	}
	if o.From == o.To {
		return errors.New("--from and --to are the same account")
	}
	from, to, err := p.parties(ctx, o.From, o.To)
	if err != nil {
		return err
	}
	if !to.main {
		if err := o.Deployment.Validate(); err != nil {
			return err
		}
	}

	n, moved, err := p.locateNumber(o.Number, from.sid, to.sid)
	if err != nil {
		return err
	}
	var route record // the route to give the number in the gaining tenant
	if from.st != nil {
		if from.st.rec.str("caller_id") == o.Number {
			return fmt.Errorf("%s is the caller_id of %s: give it another first (subaccounts create --account-sid %s --caller-id +E164), then rerun", o.Number, from.sid, from.sid)
		}
		if r, ok := from.st.rec.object("incoming").object("numbers")[o.Number]; ok {
			route, _ = parseRecord(r)
		}
	}
	if len(o.Clients) > 0 {
		if route == nil {
			route = record{}
		}
		route.set("clients", o.Clients)
	}
	if to.st != nil {
		if err := p.gainRoute(ctx, to.st, o.Number, route, len(o.Clients) > 0); err != nil {
			return err
		}
	}

	if !moved {
		if err := p.checkpoint(ctx, "transferring "+o.Number); err != nil {
			return err
		}
		t, err := p.tw.TransferNumber(from.sid, n.SID, to.sid)
		if err != nil {
			return stepErr(fmt.Sprintf("transfer %s from %s to %s", o.Number, from.sid, to.sid), err)
		}
		if !p.dryRun {
			n = t
		}
		p.done("number %s (%s): transferred from %s to %s\n", o.Number, n.SID, from.sid, to.sid)
	} else {
		p.printf("number %s (%s): already in %s\n", o.Number, n.SID, to.sid)
	}
	if to.main {
		p.printf("note: %s now belongs to the main account, which is not a tenant: it keeps what Twilio left and no longer reaches this deployment\n", o.Number)
	} else if err := p.ensureNumber(ctx, to.sid, n, o.Deployment); err != nil {
		return err
	}

	if from.st != nil {
		rec := from.st.rec.clone()
		inc := rec.object("incoming")
		nums := inc.object("numbers")
		if _, ok := nums[o.Number]; ok {
			delete(nums, o.Number)
			inc.setOrDrop("numbers", nums, len(nums))
			rec.setOrDrop("incoming", inc, len(inc))
		}
		if ids := rec.strs("caller_ids"); slices.Contains(ids, o.Number) {
			ids = slices.DeleteFunc(ids, func(s string) bool { return s == o.Number })
			rec.setOrDrop("caller_ids", ids, len(ids))
		}
		if err := p.saveIfValid(ctx, from.st, rec); err != nil {
			return err
		}
	}
	return nil
}

// parties resolves --from and --to: MainAccount or a subaccount, with the
// tenant record when there is one. The gaining subaccount must be a tenant
// of this deployment: the number is pointed at it.
func (p *Provisioner) parties(ctx context.Context, fromArg, toArg string) (from, to party, err error) {
	var mainSID string
	resolve := func(arg, flag string, gaining bool) (party, error) {
		if arg == MainAccount {
			return party{main: true}, nil
		}
		a, err := p.subaccountOf(arg)
		if err != nil {
			return party{}, fmt.Errorf("--%s: %w", flag, err)
		}
		if a.Status == "closed" {
			return party{}, fmt.Errorf("--%s: subaccount %s is closed", flag, arg)
		}
		mainSID = a.Owner
		pt := party{sid: a.SID}
		st, err := p.loadStored(ctx, p.secretName(a.SID))
		if err != nil {
			return party{}, err
		}
		if st.found {
			if _, err := tenant.Parse(st.rec.bytes()); err != nil && gaining {
				return party{}, fmt.Errorf("tenant record %s is invalid (%w): fix it with create --account-sid %s first", st.name, err, a.SID)
			}
			pt.st = st
		} else if gaining {
			return party{}, fmt.Errorf("%s has no tenant record %s: provision it first (subaccounts create --account-sid %s)", a.SID, st.name, a.SID)
		}
		return pt, nil
	}
	if from, err = resolve(fromArg, "from", false); err != nil {
		return
	}
	if to, err = resolve(toArg, "to", true); err != nil {
		return
	}
	if from.main {
		from.sid = mainSID
	}
	if to.main {
		to.sid = mainSID
	}
	return from, to, nil
}

// locateNumber finds the number in the losing account, or, after an
// interrupted move, already in the gaining one (moved).
func (p *Provisioner) locateNumber(e164, from, to string) (n Number, moved bool, err error) {
	for _, acct := range []string{from, to} {
		nums, err := p.tw.FindNumbers(acct, e164)
		if err != nil {
			return Number{}, false, stepErr("find number "+e164+" in "+acct, err)
		}
		if len(nums) > 0 {
			return nums[0], acct == to, nil
		}
	}
	return Number{}, false, fmt.Errorf("%s is a number of neither %s nor %s", e164, from, to)
}

// gainRoute writes the number's route (unless the gaining tenant has its
// own and override is false) and caller ID into the gaining tenant's
// record, refusing a move that would leave nobody to ring.
func (p *Provisioner) gainRoute(ctx context.Context, st *stored, e164 string, route record, override bool) error {
	rec := st.rec.clone()
	inc := rec.object("incoming")
	nums := inc.object("numbers")
	_, own := nums[e164]
	switch {
	case route != nil && (!own || override):
		nums.set(e164, route)
		inc.set("numbers", nums)
		rec.set("incoming", inc)
	case own, inc["default"] != nil:
	default:
		return fmt.Errorf("nobody would ring for %s in %s: it has no route there and no default route; pass --client ID", e164, rec.str("account_sid"))
	}
	if e164 != rec.str("caller_id") {
		if ids := rec.strs("caller_ids"); !slices.Contains(ids, e164) {
			rec.set("caller_ids", append(ids, e164))
		}
	}
	return p.save(ctx, st, rec, true)
}
