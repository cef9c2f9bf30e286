package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"bubble-twilio-voice/shared/tenant"
)

// Secrets Manager's versions quota: it removes a secret's unlabeled
// versions only when there are more than VersionsKept and only those older
// than VersionsKeptFor, so a secret written more than about 100 times a day
// refuses the next write with LimitExceededException
// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html).
const (
	VersionsKept    = 100
	VersionsKeptFor = 24 * time.Hour
)

// ReadyWait is how long after an index write every function container
// admits what it lists: a cold one reads the new index at once, a warm one
// re-reads it on the first lookup of a SID it does not admit, at most
// tenant.DefaultIndexRecheck after its last read, and that read takes at
// most the store's fetch timeout.
const ReadyWait = tenant.DefaultIndexRecheck + tenant.DefaultFetchTimeout

// quotaAdvice says what to do about the index's versions quota.
const quotaAdvice = "Secrets Manager keeps every version of a secret for 24 hours and at most 100, and each create writes the index once: create the others with --no-reindex, then run subaccounts reindex once"

// indexName is the deployment's tenant index secret.
func (p *Provisioner) indexName() string { return p.prefix + tenant.IndexSecretName }

// ReindexOptions tune Reindex.
type ReindexOptions struct {
	// NoWait returns right after the index write and says when every
	// container admits its tenants, instead of waiting ReadyWait.
	NoWait bool
}

// Reindex rebuilds the deployment's tenant index (SECRET_PREFIX + "index")
// from this stack's tenant secrets: those ListSecrets shows and, because
// the listing may lag by minutes (the last ones after a bulk of create
// --no-reindex), every subaccount of the main account whose secret exists
// now (DescribeSecret). It drops entries of tenants gone by other means,
// writes only when the index changes, then waits ReadyWait, so that when it
// returns every container admits every tenant it lists.
func (p *Provisioner) Reindex(ctx context.Context, o ReindexOptions) error {
	if err := p.checkIndexOwner(ctx); err != nil {
		return err
	}
	if err := p.checkVersionsQuota(ctx); err != nil {
		return err
	}
	changed, err := p.rebuildIndex(ctx, indexChange{exact: true})
	if err != nil || !changed {
		return err
	}
	return p.waitReady(ctx, o.NoWait, "every tenant in the index")
}

// indexChange is what a rebuild adds to or removes from the listing.
type indexChange struct {
	add  string // an AccountSid just written: admitted whatever the listing says
	drop string // an AccountSid just closed: left out whatever the listing says
	// exact rebuilds the index from what this run finds (the listing, and
	// the Twilio subaccounts whose secret exists: nothing that exists is
	// missed), dropping entries of tenants gone by other means. Otherwise
	// the stored index's entries are kept: they may be tenants a lagging
	// listing does not show yet.
	exact bool
}

// indexAdmits reports whether the stored index admits accountSID. With
// upgrade, a version-1 index does not count: the next write replaces it.
func (p *Provisioner) indexAdmits(ctx context.Context, accountSID string, upgrade bool) (bool, error) {
	x, _, found, err := p.readIndex(ctx)
	return found && (x.Version() == 2 || !upgrade) && x.MayContain(accountSID), err
}

// ensureIndexed rebuilds the index unless it already admits accountSID
// (cheap for an existing tenant: one read, no listing). changed reports a
// write, after which every container admits accountSID within ReadyWait.
func (p *Provisioner) ensureIndexed(ctx context.Context, accountSID string) (changed bool, err error) {
	ok, err := p.indexAdmits(ctx, accountSID, true)
	if err != nil || ok {
		if ok {
			p.printf("index %s: lists %s\n", p.indexName(), accountSID)
		}
		return false, err
	}
	if p.dryRun {
		// The record was not written, so a rebuild would not find it.
		p.printf("plan: rebuild index %s to list %s\n", p.indexName(), accountSID)
		return false, nil
	}
	return p.rebuildIndex(ctx, indexChange{add: accountSID})
}

// readIndex reads and parses the index; found is false when there is none
// or it does not parse (a rebuild replaces it).
func (p *Provisioner) readIndex(ctx context.Context) (x tenant.Index, raw []byte, found bool, err error) {
	name := p.indexName()
	raw, found, err = p.secrets.Get(ctx, name)
	if errors.Is(err, ErrScheduledForDeletion) {
		return x, nil, false, fmt.Errorf("index %s is scheduled for deletion: restore it (aws secretsmanager restore-secret --secret-id %s), then rerun", name, name)
	}
	if err != nil {
		return x, nil, false, stepErr("read index "+name, err)
	}
	if !found {
		return x, nil, false, nil
	}
	if x, err = tenant.ParseIndex(raw); err != nil {
		p.printf("note: index %s does not parse (%v); it is rebuilt\n", name, err)
		return tenant.Index{}, raw, false, nil
	}
	return x, raw, true, nil
}

// rebuildIndex writes the index of this stack's tenants when it differs
// from the stored one: those ListSecrets shows (untagged, or tagged for
// this stack) and the SID just written, never the SID just closed nor
// another stack's; and, unless exact, every entry of the stored index, so a
// lagging listing never drops a tenant. The write is read back before it
// counts.
func (p *Provisioner) rebuildIndex(ctx context.Context, c indexChange) (changed bool, err error) {
	name := p.indexName()
	old, stored, found, err := p.readIndex(ctx)
	if err != nil {
		return false, err
	}
	keep, drop, err := p.indexMembers(ctx, c)
	if err != nil {
		return false, err
	}
	salt := old.Salt()
	if salt == nil { // the first version-2 index (or a version-1 one replaced)
		if salt, err = tenant.NewIndexSalt(); err != nil {
			return false, err
		}
	}
	encode := func(at time.Time) ([]byte, error) {
		if found && old.Version() == 2 && !c.exact {
			return tenant.RewriteIndex(old, keep, drop, at)
		}
		return tenant.IndexContents{Salt: salt, Tenants: keep, UpdatedAt: at}.Encode()
	}
	if same, err := encode(old.UpdatedAt()); err == nil && bytes.Equal(same, stored) {
		// Same salt and entries encode to the same bytes at the old time.
		p.printf("index %s: unchanged (%d tenant(s))\n", name, old.Count())
		return false, nil
	}
	data, err := encode(p.now())
	if err != nil {
		return false, err
	}
	if err := p.checkpoint(ctx, "writing index "+name); err != nil {
		return false, err
	}
	if err := p.write(ctx, name, data, stored != nil); err != nil {
		if isLimitExceeded(err) {
			return false, fmt.Errorf("write index %s: %s: %w", name, quotaAdvice, err)
		}
		return false, stepErr("write index "+name+" (rerun, or run subaccounts reindex)", err)
	}
	if !p.dryRun {
		// The functions read the same secret: what comes back is what they
		// will admit.
		back, _, err := p.secrets.Get(context.WithoutCancel(ctx), name)
		if err != nil {
			return false, stepErr("read back index "+name, err)
		}
		if !bytes.Equal(back, data) {
			return false, fmt.Errorf("index %s: read back other than written (did another run write it at the same time?): rerun", name)
		}
	}
	// An exact rebuild knows its tenants; otherwise the index's count of
	// entries stands for them (two SIDs may share a 3-byte entry, about one
	// pair in 30 among 1,000 tenants, so it can be one short).
	n := len(keep)
	if !c.exact {
		x, _ := tenant.ParseIndex(data)
		n = x.Count()
	}
	p.done("index %s: rebuilt (%d tenant(s))\n", name, n)
	return true, nil
}

// indexMembers are the AccountSids the index must admit (keep) and must
// not (drop): this stack's listed tenants, the SID just written and, when
// exact, those found through Twilio; another stack's listed tenants and the
// SID just closed.
func (p *Provisioner) indexMembers(ctx context.Context, c indexChange) (keep, drop []string, err error) {
	stack, err := p.stackName(ctx)
	if err != nil {
		return nil, nil, err
	}
	listed, err := p.secrets.List(ctx, p.prefix+"AC")
	if err != nil {
		return nil, nil, stepErr("list secrets "+p.prefix+"AC*", err)
	}
	members := map[string]bool{}
	for _, s := range listed {
		sid := strings.TrimPrefix(s.Name, p.prefix)
		if !tenant.ValidAccountSID(sid) {
			continue
		}
		if owner := s.Tags[StackTagKey]; owner != "" && owner != stack {
			drop = append(drop, sid) // another stack's tenant under the same prefix
			continue
		}
		members[sid] = true
	}
	if len(drop) > 0 {
		p.printf("note: %d secret(s) under %s are tagged for another stack: not in this stack's index\n", len(drop), p.prefix)
	}
	if c.exact {
		if err := p.sweepTwilio(ctx, members, stack); err != nil {
			return nil, nil, err
		}
	}
	if c.add != "" {
		members[c.add] = true
	}
	if c.drop != "" {
		delete(members, c.drop)
		drop = append(drop, c.drop)
	}
	return slices.Sorted(maps.Keys(members)), drop, nil
}

// checkVersionsQuota refuses, before anything is written, an index write
// that Secrets Manager would refuse: the versions it keeps (those with a
// staging label, and every one younger than VersionsKeptFor) already number
// VersionsKept.
func (p *Provisioner) checkVersionsQuota(ctx context.Context) error {
	name := p.indexName()
	info, err := p.secrets.Describe(ctx, name)
	if err != nil || !info.Found {
		if err != nil {
			return stepErr("describe index "+name, err)
		}
		return nil
	}
	vs, err := p.secrets.Versions(ctx, name)
	if err != nil {
		return stepErr("list versions of "+name, err)
	}
	now := p.now()
	kept := 0
	var oldest time.Time // the oldest version that will be removable
	for _, v := range vs {
		young := now.Sub(v.Created) < VersionsKeptFor
		if v.Labeled || young {
			kept++
		}
		if !v.Labeled && young && (oldest.IsZero() || v.Created.Before(oldest)) {
			oldest = v.Created
		}
	}
	if kept < VersionsKept {
		return nil
	}
	when := "when an older version is 24 hours old"
	if !oldest.IsZero() {
		when = "after " + oldest.Add(VersionsKeptFor).UTC().Format(time.RFC3339)
	}
	return fmt.Errorf("index %s has %d versions from the last 24 hours, so writing it once more would fail (LimitExceededException); nothing was changed. %s; the index can be written again %s",
		name, kept, quotaAdvice, when)
}

// isLimitExceeded reports Secrets Manager's answer to a write over one of
// its quotas (for the index: the versions per secret).
func isLimitExceeded(err error) bool {
	var api interface{ ErrorCode() string }
	return errors.As(err, &api) && api.ErrorCode() == "LimitExceededException"
}

// isTenant reports whether the stack has a tenant secret for sid now
// (DescribeSecret is current at once, unlike ListSecrets).
func (p *Provisioner) isTenant(ctx context.Context, sid, stack string) (bool, error) {
	name := p.secretName(sid)
	info, err := p.secrets.Describe(ctx, name)
	if err != nil {
		return false, stepErr("describe secret "+name, err)
	}
	owner := info.Tags[StackTagKey]
	return info.Found && !info.Deleted && (owner == "" || owner == stack), nil
}

// sweepTwilio adds to members every subaccount of the main account (not
// closed) that the listing did not show but that has a tenant secret of the
// stack: ListSecrets may not show secrets created in the last minutes, the
// last ones of a bulk of create --no-reindex.
func (p *Provisioner) sweepTwilio(ctx context.Context, members map[string]bool, stack string) error {
	subs, err := p.tw.ListSubaccounts()
	if err != nil {
		return stepErr("list subaccounts", err)
	}
	found := 0
	for _, a := range subs {
		if members[a.SID] || a.Status == "closed" || !tenant.ValidAccountSID(a.SID) {
			continue
		}
		ok, err := p.isTenant(ctx, a.SID, stack)
		if err != nil {
			return err
		}
		if ok {
			members[a.SID] = true
			found++
		}
	}
	if found > 0 {
		p.printf("index %s: %d tenant(s) that ListSecrets does not show yet, found through the Twilio subaccounts\n", p.indexName(), found)
	}
	return nil
}

// waitReady waits ReadyWait after an index write, so that when it returns
// every container admits what the index lists; with noWait it says from
// when instead.
func (p *Provisioner) waitReady(ctx context.Context, noWait bool, what string) error {
	switch {
	case p.dryRun:
		p.printf("plan: wait %s until every function container admits %s\n", ReadyWait, what)
		return nil
	case noWait:
		p.printf("every function container admits %s from %s (%s after the index write)\n", what, p.now().Add(ReadyWait).UTC().Format(time.RFC3339), ReadyWait)
		return nil
	}
	p.printf("waiting %s until every function container admits %s\n", ReadyWait, what)
	return p.sleep(ctx, ReadyWait)
}
