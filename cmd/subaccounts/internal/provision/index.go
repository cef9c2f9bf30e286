package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"bubble-twilio-voice/shared/tenant"
)

// RecentWindow is how long the index keeps an AccountSid the CLI wrote
// under "recent", so a rewrite keeps it even when ListSecrets does not show
// it yet: AWS documents that ListSecrets "might not reflect changes from the
// last five minutes"; an hour leaves room for a listing later than that.
const RecentWindow = time.Hour

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
// from this stack's tenant secrets: those ListSecrets shows, those written
// in the last RecentWindow, and, because the listing may lag by minutes
// (the last ones after a bulk of create --no-reindex), every subaccount of
// the main account whose secret exists now. It writes only when the index
// changes, then waits ReadyWait, so that when it returns every container
// admits every tenant it lists.
func (p *Provisioner) Reindex(ctx context.Context, o ReindexOptions) error {
	if err := p.checkIndexOwner(ctx); err != nil {
		return err
	}
	if err := p.checkVersionsQuota(ctx); err != nil {
		return err
	}
	changed, err := p.rebuildIndex(ctx, indexChange{sweep: true})
	if err != nil || !changed {
		return err
	}
	return p.waitReady(ctx, o.NoWait, "every tenant in the index")
}

// indexChange is what a rebuild adds to or removes from the listing.
type indexChange struct {
	add   string // an AccountSid just written: admitted whatever the listing says
	drop  string // an AccountSid just closed: left out whatever the listing says
	sweep bool   // also look for tenants through the Twilio subaccount list
}

// indexAdmits reports whether the stored index (version 2) already admits
// accountSID, so that no index write is needed for it.
func (p *Provisioner) indexAdmits(ctx context.Context, accountSID string) (bool, error) {
	x, _, found, err := p.readIndex(ctx)
	return found && x.Version() == 2 && x.MayContain(accountSID), err
}

// ensureIndexed rebuilds the index unless it already admits accountSID
// (cheap for an existing tenant: one read, no listing). changed reports a
// write, after which every container admits accountSID within ReadyWait.
func (p *Provisioner) ensureIndexed(ctx context.Context, accountSID string) (changed bool, err error) {
	ok, err := p.indexAdmits(ctx, accountSID)
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
// this stack), those written in the last RecentWindow whose secret still
// exists, the SID just written, and with sweep those found through Twilio;
// never the SID just closed. A lagging listing therefore never drops a
// tenant the CLI wrote. The write is read back before it counts.
func (p *Provisioner) rebuildIndex(ctx context.Context, c indexChange) (changed bool, err error) {
	name := p.indexName()
	old, stored, _, err := p.readIndex(ctx)
	if err != nil {
		return false, err
	}
	members, recent, err := p.indexMembers(ctx, old, c)
	if err != nil {
		return false, err
	}
	sids := slices.Sorted(maps.Keys(members))
	salt := old.Salt()
	if salt == nil { // the first version-2 index
		salt = make([]byte, tenant.IndexSaltLen)
		if _, err := io.ReadFull(p.random, salt); err != nil {
			return false, fmt.Errorf("index salt: %w", err)
		}
	}
	contents := tenant.IndexContents{Salt: salt, Tenants: sids, Recent: recent, UpdatedAt: old.UpdatedAt()}
	if same, err := contents.Encode(); err == nil && bytes.Equal(same, stored) {
		// Same salt, tenants and recent SIDs encode to the same bytes at the
		// old time.
		p.printf("index %s: unchanged (%d tenant(s))\n", name, len(sids))
		return false, nil
	}
	contents.UpdatedAt = p.now()
	data, err := contents.Encode()
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
		if err := p.readBack(ctx, sids); err != nil {
			return false, err
		}
	}
	p.done("index %s: rebuilt (%d tenant(s))\n", name, len(sids))
	return true, nil
}

// indexMembers is the set of AccountSids the index should admit, and the
// recent ones among them with when they were written.
func (p *Provisioner) indexMembers(ctx context.Context, old tenant.Index, c indexChange) (map[string]bool, map[string]time.Time, error) {
	stack, err := p.stackName(ctx)
	if err != nil {
		return nil, nil, err
	}
	listed, err := p.secrets.List(ctx, p.prefix+"AC")
	if err != nil {
		return nil, nil, stepErr("list secrets "+p.prefix+"AC*", err)
	}
	now := p.now()
	members := map[string]bool{}
	other := 0
	for _, s := range listed {
		sid := strings.TrimPrefix(s.Name, p.prefix)
		switch owner := s.Tags[StackTagKey]; {
		case !tenant.ValidAccountSID(sid):
		case owner != "" && owner != stack:
			other++ // another stack's tenant under the same prefix
		default:
			members[sid] = true
		}
	}
	if other > 0 {
		p.printf("note: %d secret(s) under %s are tagged for another stack: not in this stack's index\n", other, p.prefix)
	}
	recent := map[string]time.Time{}
	for sid, at := range old.Recent() {
		if sid == c.drop || now.Sub(at) >= RecentWindow {
			continue
		}
		if !members[sid] {
			// Not listed yet, or gone: DescribeSecret is current at once.
			ok, err := p.isTenant(ctx, sid, stack)
			if err != nil || !ok {
				if err != nil {
					return nil, nil, err
				}
				continue
			}
			members[sid] = true
		}
		recent[sid] = at
	}
	if c.sweep {
		if err := p.sweepTwilio(ctx, members, recent, stack, now); err != nil {
			return nil, nil, err
		}
	}
	if c.add != "" {
		members[c.add], recent[c.add] = true, now
	}
	delete(members, c.drop)
	return members, recent, nil
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

// readBack reads the index just written and checks that it admits every
// SID it was written with: the functions read the same secret.
func (p *Provisioner) readBack(ctx context.Context, sids []string) error {
	x, _, found, err := p.readIndex(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("index %s: not found when read back after writing it: rerun", p.indexName())
	}
	for _, sid := range sids {
		if !x.MayContain(sid) {
			return fmt.Errorf("index %s: read back without %s (did another run write it at the same time?): rerun", p.indexName(), sid)
		}
	}
	return nil
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
// stack: ListSecrets may not show secrets created in the last minutes. They
// go under recent too, so the next rewrite keeps them while the listing
// still lags.
func (p *Provisioner) sweepTwilio(ctx context.Context, members map[string]bool, recent map[string]time.Time, stack string, now time.Time) error {
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
			members[a.SID], recent[a.SID] = true, now
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
