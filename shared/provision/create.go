package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"bubble-twilio-voice/shared/tenant"
)

// CreateOptions says which subaccount to provision and how.
type CreateOptions struct {
	// Name is the subaccount's FriendlyName: a new one is created with it,
	// or the one active subaccount with it is adopted.
	Name string
	// AccountSID adopts this subaccount instead of finding one by Name.
	AccountSID string
	// Numbers (E.164) of the subaccount are pointed at the deployment's
	// incoming URL and added to caller_ids.
	Numbers []string
	// CallerID is the default caller ID; a new record falls back to the
	// first of Numbers, an existing one keeps its own.
	CallerID string
	// Clients ring for incoming calls: in incoming.default, or with
	// PerNumber in incoming.numbers[n] for each of Numbers.
	Clients   []string
	PerNumber bool
	// RotateKey replaces the API key even when the stored one is fine.
	RotateKey bool
	// NewBearerKey adds (and prints once) another token_api_keys entry
	// even when the record has some.
	NewBearerKey bool
	Deployment   Deployment
	// Wait is how long to wait, after storing a replacement API key, before
	// deleting the key it replaced, so function instances that cached the
	// old record (SECRET_CACHE_TTL) reload it first.
	Wait time.Duration
}

func (o *CreateOptions) validate() error {
	if o.Name == "" && o.AccountSID == "" {
		return errors.New("pass --name (find or create the subaccount by name) or --account-sid")
	}
	if o.AccountSID != "" && !tenant.ValidAccountSID(o.AccountSID) {
		return fmt.Errorf("--account-sid %q must be AC followed by 32 hex digits", o.AccountSID)
	}
	for _, n := range o.Numbers {
		if !tenant.ValidE164(n) {
			return fmt.Errorf("--number %q must be an E.164 number such as +14155550100", n)
		}
	}
	if o.CallerID != "" && !tenant.ValidE164(o.CallerID) {
		return fmt.Errorf("--caller-id %q must be an E.164 number such as +14155550100", o.CallerID)
	}
	for _, c := range o.Clients {
		if !tenant.ValidIdentity(c) {
			return fmt.Errorf("--client %q: %s", c, tenant.IdentityRule)
		}
	}
	if len(o.Clients) > tenant.MaxClientsPerRoute {
		return fmt.Errorf("%d clients given; Twilio rings at most %d at once", len(o.Clients), tenant.MaxClientsPerRoute)
	}
	if o.PerNumber && (len(o.Clients) == 0 || len(o.Numbers) == 0) {
		return errors.New("--per-number needs --client and --number")
	}
	return o.Deployment.Validate()
}

// Create provisions one subaccount end to end. Its steps, in order:
// subaccount (find by SID or name, else create), read the record, API key
// (keep, or create), TwiML App (find by SID or name, create or fix its
// URLs), numbers (point at the incoming URL), write the merged record, then
// delete keys nothing references any more. Each step only writes what is
// not already right, so a rerun after success makes no Twilio or Secrets
// Manager writes, and a rerun after a failure finishes the job.
func (p *Provisioner) Create(ctx context.Context, o CreateOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	d := o.Deployment
	acct, err := p.subaccount(o)
	if err != nil {
		return err
	}
	name := p.secretName(acct.SID)
	old, found, err := p.loadRecord(ctx, name)
	if err != nil {
		return err
	}
	rec := old.clone()

	key, replaced, orphans, err := p.ensureKey(acct.SID, rec, d.KeyName(), o.RotateKey)
	if err != nil {
		return err
	}
	app, err := p.ensureApp(acct.SID, rec.str("twiml_app_sid"), d)
	if err != nil {
		return err
	}
	for _, n := range o.Numbers {
		if err := p.ensureNumber(acct.SID, n, d); err != nil {
			return err
		}
	}

	bearer, err := p.fillRecord(rec, acct, key, app, o)
	if err != nil {
		return err
	}
	if err := p.storeRecord(ctx, name, old, rec, found); err != nil {
		return err
	}
	if bearer != "" {
		if p.dryRun {
			p.printf("plan: a new bearer key (token_api_keys) would be generated and printed once\n")
		} else {
			p.printf("Bearer key for the Bubble API Connector (shown once; store it in Bubble now):\n%s\n", bearer)
		}
	}
	if d.TokenURL != "" {
		p.printf("token URL for the Bubble API Connector: %s\n", d.TokenURL)
	}
	return p.deleteKeys(ctx, acct.SID, orphans, replaced, o.Wait)
}

// subaccount finds, adopts or creates the subaccount.
func (p *Provisioner) subaccount(o CreateOptions) (Account, error) {
	var acct Account
	if o.AccountSID != "" {
		a, err := p.tw.FetchAccount(o.AccountSID)
		if err != nil {
			return Account{}, stepErr("fetch subaccount "+o.AccountSID, err)
		}
		if a.Owner == a.SID {
			return Account{}, fmt.Errorf("%s is the main account, not a subaccount", a.SID)
		}
		if o.Name != "" && a.FriendlyName != o.Name {
			p.printf("note: subaccount %s is named %q, not %q; its name is left alone\n", a.SID, a.FriendlyName, o.Name)
		}
		p.printf("subaccount %s (%q): adopted by SID\n", a.SID, a.FriendlyName)
		acct = a
	} else {
		list, err := p.tw.FindAccounts(o.Name)
		if err != nil {
			return Account{}, stepErr(fmt.Sprintf("find subaccount named %q", o.Name), err)
		}
		var active, other []string
		for _, a := range list {
			if a.Owner == a.SID {
				continue // the main account itself
			}
			if a.Status == "active" {
				active = append(active, a.SID)
				acct = a
			} else {
				other = append(other, a.SID+" ("+a.Status+")")
			}
		}
		switch {
		case len(active) > 1:
			return Account{}, fmt.Errorf("several active subaccounts are named %q (%s): pass --account-sid", o.Name, strings.Join(active, ", "))
		case len(active) == 1:
			p.printf("subaccount %s (%q): found by name\n", acct.SID, acct.FriendlyName)
		case len(other) > 0:
			return Account{}, fmt.Errorf("the subaccount named %q is not active: %s; reactivate it or pass --account-sid", o.Name, strings.Join(other, ", "))
		default:
			a, err := p.tw.CreateAccount(o.Name)
			if err != nil {
				return Account{}, stepErr(fmt.Sprintf("create subaccount %q", o.Name), err)
			}
			p.done("subaccount %s (%q): created\n", a.SID, a.FriendlyName)
			acct = a
		}
	}
	if acct.Status != "" && acct.Status != "active" {
		return Account{}, fmt.Errorf("subaccount %s is %s, not active", acct.SID, acct.Status)
	}
	if acct.AuthToken == "" {
		return Account{}, fmt.Errorf("twilio did not return subaccount %s's auth token: use the main account's auth token (TWILIO_AUTH_TOKEN) instead of an API key", acct.SID)
	}
	return acct, nil
}

// loadRecord reads name as a JSON object; a missing secret is an empty
// record and found false.
func (p *Provisioner) loadRecord(ctx context.Context, name string) (record, bool, error) {
	data, found, err := p.secrets.Get(ctx, name)
	if err != nil {
		return nil, false, stepErr("read secret "+name, err)
	}
	rec, err := parseRecord(data)
	if err != nil {
		return nil, false, stepErr("read secret "+name, err)
	}
	return rec, found, nil
}

// ensureKey keeps the record's API key if Twilio still has it (unless
// rotate), else creates one. It returns the key to store, the in-use key it
// replaces (to delete after the wait) and orphans: keys named like ours that
// no record references, left by a run that failed before storing them.
func (p *Provisioner) ensureKey(acct string, rec record, keyName string, rotate bool) (key Key, replaced string, orphans []string, err error) {
	keys, err := p.tw.ListKeys(acct)
	if err != nil {
		return Key{}, "", nil, stepErr("list API keys of "+acct, err)
	}
	cur, curSecret := rec.str("api_key_sid"), rec.str("api_key_secret")
	exists := slices.ContainsFunc(keys, func(k Key) bool { return k.SID == cur })
	switch {
	case exists && curSecret != "" && !rotate:
		key = Key{SID: cur, Secret: curSecret}
		p.printf("API key %s: kept\n", cur)
	default:
		if cur != "" && !exists {
			p.printf("note: API key %s in the record no longer exists in Twilio\n", cur)
		}
		key, err = p.tw.CreateKey(acct, keyName)
		if err != nil {
			return Key{}, "", nil, stepErr("create API key in "+acct, err)
		}
		if key.Secret == "" {
			return Key{}, "", nil, stepErr("create API key in "+acct, errors.New("twilio returned no secret"))
		}
		if exists {
			replaced = cur
		}
		p.done("API key %s: created (its secret goes into the secret only)\n", key.SID)
	}
	for _, k := range keys {
		if k.FriendlyName == keyName && k.SID != key.SID && k.SID != replaced && k.SID != cur {
			orphans = append(orphans, k.SID)
		}
	}
	return key, replaced, orphans, nil
}

// ensureApp finds the deployment's TwiML App (the record's, else by name),
// creating it or fixing its voice URLs when needed.
func (p *Provisioner) ensureApp(acct, recordSID string, d Deployment) (App, error) {
	want := App{
		FriendlyName: d.AppName(), VoiceURL: d.VoiceURL, VoiceMethod: "POST",
		VoiceFallbackURL: d.FallbackURL, VoiceFallbackMethod: "POST",
	}
	var app App
	found := false
	if recordSID != "" {
		a, err := p.tw.FetchApp(acct, recordSID)
		switch {
		case err == nil:
			app, found = a, true
		case isNotFound(err):
			p.printf("note: TwiML App %s in the record no longer exists in Twilio\n", recordSID)
		default:
			return App{}, stepErr("fetch TwiML App "+recordSID, err)
		}
	}
	if !found {
		apps, err := p.tw.FindApps(acct, want.FriendlyName)
		if err != nil {
			return App{}, stepErr(fmt.Sprintf("find TwiML App %q", want.FriendlyName), err)
		}
		if len(apps) > 1 {
			p.printf("note: %d TwiML Apps are named %q; using %s\n", len(apps), want.FriendlyName, apps[0].SID)
		}
		if len(apps) > 0 {
			app, found = apps[0], true
		}
	}
	if !found {
		a, err := p.tw.CreateApp(acct, want)
		if err != nil {
			return App{}, stepErr(fmt.Sprintf("create TwiML App %q", want.FriendlyName), err)
		}
		p.done("TwiML App %s (%q): created, Voice URL %s\n", a.SID, a.FriendlyName, d.VoiceURL)
		return a, nil
	}
	if app.VoiceURL == want.VoiceURL && strings.EqualFold(app.VoiceMethod, "POST") &&
		app.VoiceFallbackURL == want.VoiceFallbackURL && (want.VoiceFallbackURL == "" || strings.EqualFold(app.VoiceFallbackMethod, "POST")) {
		p.printf("TwiML App %s (%q): already right\n", app.SID, app.FriendlyName)
		return app, nil
	}
	want.SID, want.FriendlyName = app.SID, app.FriendlyName
	a, err := p.tw.UpdateApp(acct, want)
	if err != nil {
		return App{}, stepErr("update TwiML App "+app.SID, err)
	}
	p.done("TwiML App %s (%q): updated, Voice URL %s (was %q)\n", a.SID, a.FriendlyName, d.VoiceURL, app.VoiceURL)
	return a, nil
}

// ensureNumber points one number of the subaccount at the incoming URL.
func (p *Provisioner) ensureNumber(acct, e164 string, d Deployment) error {
	step := "number " + e164
	nums, err := p.tw.FindNumbers(acct, e164)
	if err != nil {
		return stepErr("find "+step, err)
	}
	if len(nums) == 0 {
		return stepErr("find "+step, fmt.Errorf("it is not a phone number of subaccount %s: buy it there, or move it there from the main account, then rerun", acct))
	}
	n := nums[0]
	if n.VoiceURL == d.IncomingURL && strings.EqualFold(n.VoiceMethod, "POST") && n.VoiceApplicationSID == "" &&
		n.VoiceFallbackURL == d.FallbackURL && (d.FallbackURL == "" || strings.EqualFold(n.VoiceFallbackMethod, "POST")) {
		p.printf("number %s (%s): already right\n", e164, n.SID)
		return nil
	}
	want := Number{
		SID: n.SID, PhoneNumber: n.PhoneNumber,
		VoiceURL: d.IncomingURL, VoiceMethod: "POST",
		VoiceFallbackURL: d.FallbackURL, VoiceFallbackMethod: "POST",
	}
	if _, err := p.tw.UpdateNumber(acct, want); err != nil {
		return stepErr("update "+step, err)
	}
	p.done("number %s (%s): Voice URL set to %s\n", e164, n.SID, d.IncomingURL)
	return nil
}

// fillRecord sets the fields Create manages on rec and leaves every other
// field as it was. It returns a bearer key when it generated one.
func (p *Provisioner) fillRecord(rec record, acct Account, key Key, app App, o CreateOptions) (string, error) {
	rec.set("account_sid", acct.SID)
	cur, prev := rec.str("auth_token"), rec.str("previous_auth_token")
	switch {
	case cur == acct.AuthToken:
	case cur != "" && prev == acct.AuthToken:
		// rotate-auth-token stored a secondary token it has not promoted
		// yet; both tokens are in the record, leave them for it to finish.
		p.printf("note: an auth token rotation is in progress; run rotate-auth-token %s to finish it\n", acct.SID)
	default:
		rec.set("auth_token", acct.AuthToken)
	}
	rec.set("api_key_sid", key.SID)
	rec.set("api_key_secret", key.Secret)
	rec.set("twiml_app_sid", app.SID)

	switch {
	case o.CallerID != "":
		rec.set("caller_id", o.CallerID)
	case rec.str("caller_id") == "" && len(o.Numbers) > 0:
		rec.set("caller_id", o.Numbers[0])
	case rec.str("caller_id") == "":
		return "", errors.New("the record needs a caller ID: pass --caller-id or --number")
	}
	callerID := rec.str("caller_id")
	ids := rec.strs("caller_ids")
	added := false
	for _, n := range o.Numbers {
		if n != callerID && !slices.Contains(ids, n) {
			ids = append(ids, n)
			added = true
		}
	}
	if added {
		rec.set("caller_ids", ids)
	}

	var bearer string
	keys := rec.strs("token_api_keys")
	if len(keys) == 0 || o.NewBearerKey {
		k, err := p.newBearerKey()
		if err != nil {
			return "", err
		}
		bearer = k
		rec.set("token_api_keys", append(keys, k))
	}

	if len(o.Clients) > 0 {
		inc := rec.object("incoming")
		if o.PerNumber {
			nums := inc.object("numbers")
			for _, n := range o.Numbers {
				r := nums.object(n)
				r.set("clients", o.Clients)
				nums.set(n, r)
			}
			inc.set("numbers", nums)
		} else {
			r := inc.object("default")
			r.set("clients", o.Clients)
			inc.set("default", r)
		}
		rec.set("incoming", inc)
	}
	return bearer, nil
}

// storeRecord validates rec with tenant.Parse (what the functions will run)
// and writes it only if it differs from old.
func (p *Provisioner) storeRecord(ctx context.Context, name string, old, rec record, found bool) error {
	if _, err := tenant.Parse(rec.bytes()); err != nil {
		return stepErr("validate record "+name, err)
	}
	changed := changedFields(old, rec)
	if found && len(changed) == 0 {
		p.printf("secret %s: unchanged\n", name)
		return nil
	}
	verb := "updated"
	var err error
	if found {
		err = p.secrets.Put(ctx, name, rec.bytes())
	} else {
		verb = "created"
		err = p.secrets.Create(ctx, name, rec.bytes())
	}
	if err != nil {
		return stepErr("write secret "+name, err)
	}
	changes := strings.Join(describeChange(rec, changed), "; ")
	if p.dryRun {
		p.printf("plan:   changes: %s\n", changes)
		return nil
	}
	p.printf("secret %s: %s (%s)\n", name, verb, changes)
	return nil
}

// deleteKeys deletes orphaned keys now and the replaced in-use key after
// wait. A failure is reported but is harmless: the next run finds the key
// again as an orphan.
func (p *Provisioner) deleteKeys(ctx context.Context, acct string, orphans []string, replaced string, wait time.Duration) error {
	var errs []error
	for _, sid := range orphans {
		if err := p.tw.DeleteKey(acct, sid); err != nil && !isNotFound(err) {
			errs = append(errs, stepErr("delete orphaned API key "+sid+" (rerun to retry)", err))
			continue
		}
		p.done("API key %s: deleted (orphan of an earlier run)\n", sid)
	}
	if replaced != "" {
		if err := p.wait(ctx, wait, "before deleting the replaced API key "+replaced); err != nil {
			errs = append(errs, fmt.Errorf("API key %s not deleted: %w (delete it in the Twilio console, or rerun)", replaced, err))
			return errors.Join(errs...)
		}
		if err := p.tw.DeleteKey(acct, replaced); err != nil && !isNotFound(err) {
			errs = append(errs, stepErr("delete replaced API key "+replaced+" (rerun to retry)", err))
		} else {
			p.done("API key %s: deleted (replaced)\n", replaced)
		}
	}
	return errors.Join(errs...)
}

// wait sleeps d so that function instances reload the record (their cache
// lasts SECRET_CACHE_TTL); a dry run only says so.
func (p *Provisioner) wait(ctx context.Context, d time.Duration, why string) error {
	if d <= 0 {
		return nil
	}
	if p.dryRun {
		p.printf("plan: wait %s %s\n", d, why)
		return nil
	}
	p.printf("waiting %s %s, so function instances reload the record first\n", d, why)
	return p.sleep(ctx, d)
}
