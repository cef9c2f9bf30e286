package provision

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Record fields provisioning keeps about API keys (see docs/subaccounts.md).
const (
	// pendingKeysField lists the FriendlyNames of API keys this tool is
	// about to create, written before each key is created. A key of the
	// subaccount with one of these names that the record does not use was
	// made by an interrupted run and its secret is lost: the only keys this
	// tool ever deletes as orphans. Another deployment's keys never appear
	// here, whatever they are called.
	pendingKeysField = "pending_api_key_names"
	// prevKeyField and prevKeyAtField name the key a rotation replaced and
	// when (RFC 3339): it is deleted only once no function instance can
	// still serve a cached record naming it.
	prevKeyField   = "previous_api_key_sid"
	prevKeyAtField = "previous_api_key_replaced_at"
)

// keyResult is what ensureKey decided.
type keyResult struct {
	key      Key    // the key the record must name
	replaced string // the live key it replaces, "" for none
	// resolved are pending names that are done with: their key is stored,
	// deleted, or was never created.
	resolved []string
	errs     []error // orphan deletions that failed (a rerun retries them)
}

// apply writes the key decision into rec.
func (k keyResult) apply(rec record, now time.Time) {
	rec.set("api_key_sid", k.key.SID)
	rec.set("api_key_secret", k.key.Secret)
	if k.replaced != "" {
		rec.set(prevKeyField, k.replaced)
		rec.set(prevKeyAtField, now.UTC().Format(time.RFC3339))
	}
	var pending []string
	for _, n := range rec.strs(pendingKeysField) {
		if !slices.Contains(k.resolved, n) {
			pending = append(pending, n)
		}
	}
	rec.setOrDrop(pendingKeysField, pending, len(pending))
}

// ensureKey deletes the keys interrupted runs left (listed in the record's
// pending names, unused by it), then keeps the record's key if Twilio still
// has it (unless rotate) or creates one: its name is written into the
// record first, so a run interrupted after Twilio created it can prove the
// key is its own. prefix starts the new key's name.
func (p *Provisioner) ensureKey(ctx context.Context, acct string, st *stored, keys []Key, prefix string, rotate bool) (keyResult, error) {
	var res keyResult
	cur, curSecret, prev := st.rec.str("api_key_sid"), st.rec.str("api_key_secret"), st.rec.str(prevKeyField)
	pending := st.rec.strs(pendingKeysField)
	for _, name := range pending {
		gone := true
		for _, k := range keys {
			if k.FriendlyName != name || k.SID == cur || k.SID == prev {
				continue
			}
			if err := p.checkpoint(ctx, "deleting API key "+k.SID); err != nil {
				return res, err
			}
			if err := p.tw.DeleteKey(acct, k.SID); err != nil && !isNotFound(err) {
				res.errs = append(res.errs, stepErr("delete API key "+k.SID+" left by an interrupted run (rerun to retry)", err))
				gone = false
				continue
			}
			p.done("API key %s: deleted (created by an interrupted run; its secret was never stored)\n", k.SID)
		}
		if gone {
			res.resolved = append(res.resolved, name)
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(k.FriendlyName, prefix) && k.SID != cur && k.SID != prev && !slices.Contains(pending, k.FriendlyName) {
			p.printf("note: API key %s (%q) is not in this deployment's record; left alone (delete it in the Twilio console if nothing uses it)\n", k.SID, k.FriendlyName)
		}
	}

	exists := cur != "" && slices.ContainsFunc(keys, func(k Key) bool { return k.SID == cur })
	if exists && curSecret != "" && !rotate {
		res.key = Key{SID: cur, Secret: curSecret}
		p.printf("API key %s: kept\n", cur)
		return res, nil
	}
	if exists && prev != "" {
		return res, fmt.Errorf("API key %s replaced %s and that rotation is not finished: run rotate-key %s to finish it first", cur, prev, acct)
	}
	if cur != "" && !exists {
		p.printf("note: API key %s in the record no longer exists in Twilio\n", cur)
	}

	name, err := p.keyName(prefix)
	if err != nil {
		return res, err
	}
	marker := st.rec.clone()
	marker.set("account_sid", acct)
	marker.set(pendingKeysField, append(slices.Clone(pending), name))
	if err := p.save(ctx, st, marker, false); err != nil {
		return res, err
	}
	if err := p.checkpoint(ctx, "creating API key "+name); err != nil {
		return res, err
	}
	key, err := p.tw.CreateKey(acct, name)
	if err != nil {
		return res, stepErr("create API key in "+acct+" (rerun to retry)", err)
	}
	if key.Secret == "" {
		return res, stepErr("create API key in "+acct, errors.New("twilio returned no secret"))
	}
	res.key = key
	res.resolved = append(res.resolved, name)
	if exists {
		res.replaced = cur
	}
	p.done("API key %s (%q): created (its secret goes into the secret only)\n", key.SID, name)
	return res, nil
}

// keyName is prefix followed by 8 random hex digits, unique to one attempt.
func (p *Provisioner) keyName(prefix string) (string, error) {
	b := make([]byte, 4)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	const maxName = 64 // Twilio's limit for a FriendlyName
	if len(prefix) > maxName-8 {
		prefix = prefix[:maxName-8]
	}
	return prefix + hex.EncodeToString(b), nil
}

// keyPrefixFrom derives a new key's name prefix from the current key's
// name ("... key-1a2b3c4d" -> "... key-"), so rotate-key needs no
// deployment to name keys the way create did.
func keyPrefixFrom(name string) string {
	if i := strings.LastIndex(name, " key-"); i >= 0 {
		return name[:i+len(" key-")]
	}
	name = cmp.Or(name, "bubble-twilio-voice")
	return name + " key-"
}

// retireKey deletes the key a rotation replaced (previous_api_key_sid) once
// cacheTTL has passed since it was replaced: until then a function instance
// may still serve a cached record naming it. Before that time it waits
// (wait) or says when a rerun can delete it.
func (p *Provisioner) retireKey(ctx context.Context, acct string, st *stored, cacheTTL time.Duration, wait bool) error {
	prev := st.rec.str(prevKeyField)
	if prev == "" {
		return nil
	}
	at, err := time.Parse(time.RFC3339, st.rec.str(prevKeyAtField))
	if err != nil {
		// Without a time, count from now (and record it, so reruns agree).
		at = p.now().UTC().Truncate(time.Second)
		rec := st.rec.clone()
		rec.set(prevKeyAtField, at.Format(time.RFC3339))
		if err := p.save(ctx, st, rec, false); err != nil {
			return err
		}
	}
	due := at.Add(cacheTTL)
	if now := p.now(); now.Before(due) {
		if !wait {
			p.printf("API key %s (replaced %s) can be deleted from %s, when no function instance can still hold a record naming it: rerun rotate-key %s then\n",
				prev, at.Format(time.RFC3339), due.Format(time.RFC3339), acct)
			return nil
		}
		if err := p.wait(ctx, due.Sub(now), "until "+due.Format(time.RFC3339)+" before deleting the replaced API key "+prev); err != nil {
			return fmt.Errorf("API key %s not deleted yet: %w (rerun rotate-key %s from %s to delete it)", prev, err, acct, due.Format(time.RFC3339))
		}
	}
	if err := p.checkpoint(ctx, "deleting the replaced API key "+prev); err != nil {
		return err
	}
	if err := p.tw.DeleteKey(acct, prev); err != nil && !isNotFound(err) {
		return stepErr("delete replaced API key "+prev+" (rerun to retry)", err)
	}
	p.done("API key %s: deleted (replaced %s)\n", prev, at.Format(time.RFC3339))
	rec := st.rec.clone()
	delete(rec, prevKeyField)
	delete(rec, prevKeyAtField)
	return p.save(ctx, st, rec, false)
}
