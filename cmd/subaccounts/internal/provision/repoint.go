package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"bubble-twilio-voice/shared/tenant"
)

// ErrRepointFailed is returned by Repoint when some tenant could not be
// repointed; the others were, and a rerun retries the rest.
var ErrRepointFailed = errors.New("some tenants were not repointed (see their lines); rerun the same command to retry them")

// RepointOptions says which tenants to point at which deployment.
type RepointOptions struct {
	// AccountSIDs are the tenants to repoint; All takes every tenant record
	// under the prefix instead.
	AccountSIDs []string
	All         bool
	Deployment  Deployment
	// Force re-targets an app or number that points at another deployment
	// of this service (not this one's own URLs).
	Force bool
}

// tenantSIDs returns the AccountSids to work on: the given ones, or with
// all every tenant record of this stack under the prefix (untagged ones
// included), sorted, so a rerun goes in the same order.
func (p *Provisioner) tenantSIDs(ctx context.Context, sids []string, all bool) ([]string, error) {
	switch {
	case all && len(sids) > 0:
		return nil, errors.New("pass AccountSids or --all, not both")
	case !all && len(sids) == 0:
		return nil, errors.New("pass one or more AccountSids, or --all for every tenant")
	case !all:
		for _, sid := range sids {
			if err := checkAccountSID(sid); err != nil {
				return nil, err
			}
		}
		return sids, nil
	}
	stack, err := p.stackName(ctx)
	if err != nil {
		return nil, err
	}
	listed, err := p.secrets.List(ctx, p.prefix+"AC")
	if err != nil {
		return nil, stepErr("list secrets "+p.prefix+"AC*", err)
	}
	var out []string
	for _, s := range listed {
		sid := strings.TrimPrefix(s.Name, p.prefix)
		// Another stack's tenants under the same prefix are not this one's
		// to move or check (as for the index).
		if owner := s.Tags[StackTagKey]; tenant.ValidAccountSID(sid) && (owner == "" || owner == stack) {
			out = append(out, sid)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Repoint points each tenant's TwiML App and the numbers its record routes
// at deployment d (its Voice URL, fallback and status callback), for a move
// to a custom domain or between deployments. It changes only what is not
// already right, so a rerun after an interruption or a failure finishes the
// rest, and it goes on to the next tenant when one fails. It prints each
// change, a line per tenant ("AC...: updated (app, 2 numbers)", "already
// right", "FAILED: ...") and a total; it returns ErrRepointFailed if a
// tenant failed, and stops at once when ctx is cancelled (before its next
// write).
func (p *Provisioner) Repoint(ctx context.Context, o RepointOptions) error {
	d := o.Deployment
	if err := d.Validate(); err != nil {
		return err
	}
	sids, err := p.tenantSIDs(ctx, o.AccountSIDs, o.All)
	if err != nil {
		return err
	}
	var updated, right, failed int
	for _, sid := range sids {
		if err := ctx.Err(); err != nil {
			return err
		}
		changes, err := p.repointOne(ctx, sid, d, o.Force)
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			p.printf("%s: interrupted; rerun to finish\n", sid)
			return err
		case err != nil:
			failed++
			p.printf("%s: FAILED: %s\n", sid, Describe(err))
		case len(changes) == 0:
			right++
			p.printf("%s: already right\n", sid)
		default:
			updated++
			verb := "updated"
			if p.dryRun {
				verb = "would update"
			}
			p.printf("%s: %s (%s)\n", sid, verb, strings.Join(changes, ", "))
		}
	}
	p.printf("repoint: %d tenant(s): %d updated, %d already right, %d failed\n", len(sids), updated, right, failed)
	if failed > 0 {
		return ErrRepointFailed
	}
	return nil
}

// repointOne repoints one tenant and names what it changed.
func (p *Provisioner) repointOne(ctx context.Context, sid string, d Deployment, force bool) ([]string, error) {
	name := p.secretName(sid)
	data, found, err := p.secrets.Get(ctx, name)
	if err != nil {
		return nil, stepErr("read secret "+name, err)
	}
	if !found {
		return nil, fmt.Errorf("no tenant record %s", name)
	}
	t, err := tenant.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("tenant record %s does not load (subaccounts show %s): %w", name, sid, err)
	}
	// Another stack's tenant is not this one's to move (unless --force).
	info, err := p.secrets.Describe(ctx, name)
	if err != nil {
		return nil, stepErr("describe secret "+name, err)
	}
	if err := p.checkOwner(ctx, name, info.Tags); err != nil {
		return nil, err
	}
	app, err := p.tw.FetchApp(sid, t.TwiMLAppSID)
	if err != nil {
		return nil, stepErr("fetch TwiML App "+t.TwiMLAppSID, err)
	}
	if !force && (d.otherDeployment(app.VoiceURL) || d.otherDeployment(app.StatusCallback)) {
		return nil, fmt.Errorf("TwiML App %s points at %s, another deployment of this service: not re-targeted (pass --force to take it over)", app.SID, app.VoiceURL)
	}
	// Read every number first, so a refusal comes before any write.
	var nums []Number
	for _, tg := range routedNumbers(t) {
		found, err := p.tw.FindNumbers(sid, tg.number)
		if err != nil {
			return nil, stepErr("find number "+tg.number, err)
		}
		if len(found) == 0 {
			if tg.routed {
				p.printf("note: routed number %s is not a number of %s (subaccounts check %s)\n", tg.number, sid, sid)
			}
			continue
		}
		n := found[0]
		if !force && (d.otherDeployment(n.VoiceURL) || d.otherDeployment(n.StatusCallback)) {
			return nil, fmt.Errorf("number %s (%s) points at %s, another deployment of this service: not re-targeted (pass --force to take it over)", n.PhoneNumber, n.SID, n.VoiceURL)
		}
		nums = append(nums, n)
	}

	var changes []string
	if !appRight(app, appWant(d)) {
		if _, err := p.ensureApp(ctx, sid, app, true, d); err != nil {
			return changes, err
		}
		changes = append(changes, "app")
	}
	moved := 0
	for _, n := range nums {
		if numberRight(n, d) {
			continue
		}
		if err := p.ensureNumber(ctx, sid, n, d); err != nil {
			return changes, err
		}
		moved++
	}
	if moved > 0 {
		changes = append(changes, fmt.Sprintf("%d number(s)", moved))
	}
	return changes, nil
}

// CheckAll runs Check on each tenant (the given AccountSids, or with all
// every tenant record), going on after a tenant with problems, and prints
// a line per tenant and a total. It returns ErrCheckFailed if any tenant
// has a problem.
func (p *Provisioner) CheckAll(ctx context.Context, sids []string, all bool, d Deployment) error {
	sids, err := p.tenantSIDs(ctx, sids, all)
	if err != nil {
		return err
	}
	var ok, bad int
	for _, sid := range sids {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.printf("== %s\n", sid)
		err := p.Check(ctx, sid, d)
		switch {
		case err == nil:
			ok++
			p.printf("%s: ok\n", sid)
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return err
		case errors.Is(err, ErrCheckFailed):
			bad++
			p.printf("%s: PROBLEMS (above)\n", sid)
		default:
			bad++
			p.printf("%s: FAILED: %s\n", sid, Describe(err))
		}
	}
	p.printf("check: %d tenant(s): %d ok, %d with problems\n", len(sids), ok, bad)
	if bad > 0 {
		return ErrCheckFailed
	}
	return nil
}
