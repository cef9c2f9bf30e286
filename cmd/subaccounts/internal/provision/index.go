package provision

import (
	"bytes"
	"context"
	"sort"
	"strings"

	"bubble-twilio-voice/shared/tenant"
)

// indexName is the deployment's tenant index secret.
func (p *Provisioner) indexName() string { return p.prefix + tenant.IndexSecretName }

// Reindex rebuilds the deployment's tenant index (SECRET_PREFIX + "index")
// from the tenant secrets' names, so the functions refuse exactly the
// AccountSids that have no record. It writes only when the index changes.
func (p *Provisioner) Reindex(ctx context.Context) error {
	_, err := p.rebuildIndex(ctx)
	return err
}

// ensureIndexed rebuilds the index unless it already lets accountSID
// through (cheap for an existing tenant: one read, no listing).
func (p *Provisioner) ensureIndexed(ctx context.Context, accountSID string) error {
	data, found, err := p.secrets.Get(ctx, p.indexName())
	if err != nil {
		return stepErr("read index "+p.indexName(), err)
	}
	if found {
		if x, err := tenant.ParseIndex(data); err == nil && x.MayContain(accountSID) {
			p.printf("index %s: lists %s\n", p.indexName(), accountSID)
			return nil
		}
	}
	if p.dryRun {
		// The record was not written, so a rebuild would not find it.
		p.printf("plan: rebuild index %s to list %s\n", p.indexName(), accountSID)
		return nil
	}
	_, err = p.rebuildIndex(ctx)
	return err
}

// tenantSecrets lists the AccountSids that have a tenant secret under the
// prefix (every page), sorted.
func (p *Provisioner) tenantSecrets(ctx context.Context) ([]string, error) {
	names, err := p.secrets.List(ctx, p.prefix+"AC")
	if err != nil {
		return nil, stepErr("list secrets "+p.prefix+"AC*", err)
	}
	var sids []string
	for _, n := range names {
		if sid := strings.TrimPrefix(n, p.prefix); tenant.ValidAccountSID(sid) {
			sids = append(sids, sid)
		}
	}
	sort.Strings(sids)
	return sids, nil
}

// rebuildIndex lists the tenant secrets (every page) and writes the index
// of their AccountSids when it differs from the stored one. Rebuilding
// from the list, rather than adding or removing one SID, heals any earlier
// lost update: two runs racing can leave it stale only until the next
// create, close or reindex.
func (p *Provisioner) rebuildIndex(ctx context.Context) (changed bool, err error) {
	name := p.indexName()
	sids, err := p.tenantSecrets(ctx)
	if err != nil {
		return false, err
	}
	old, found, err := p.secrets.Get(ctx, name)
	if err != nil {
		return false, stepErr("read index "+name, err)
	}
	if found {
		if x, err := tenant.ParseIndex(old); err == nil {
			// Same SIDs encode to the same bytes at the old time.
			if same, err := tenant.EncodeIndex(sids, x.UpdatedAt()); err == nil && bytes.Equal(same, old) {
				p.printf("index %s: unchanged (%d tenant(s))\n", name, len(sids))
				return false, nil
			}
		}
	}
	data, err := tenant.EncodeIndex(sids, p.now())
	if err != nil {
		return false, err
	}
	if err := p.checkpoint(ctx, "writing index "+name); err != nil {
		return false, err
	}
	if err := p.write(ctx, name, data, found); err != nil {
		return false, stepErr("write index "+name+" (rerun, or run subaccounts reindex)", err)
	}
	p.done("index %s: rebuilt (%d tenant(s))\n", name, len(sids))
	return true, nil
}
