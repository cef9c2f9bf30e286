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
	// Force re-targets a TwiML App or number that points at another
	// deployment of this service (see Deployment.otherDeployment).
	Force      bool
	Deployment Deployment
	// CacheTTL is how long function instances may serve a record from
	// their cache (SECRET_CACHE_TTL): a replaced API key is deleted only
	// this long after the record stopped naming it.
	CacheTTL time.Duration
	// NoReindex writes the tenant but not the index (bulk onboarding: the
	// index secret takes about 100 writes a day): the tenant is not ready,
	// and its numbers are left alone, until subaccounts reindex and a rerun.
	NoReindex bool
	// NoWait does not wait for every container to admit a new tenant
	// (ReadyWait; it says from when instead), and leaves a replaced key
	// for a later run to delete instead of
	// waiting for CacheTTL to pass.
	NoWait bool
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

// Create provisions one subaccount end to end. It reads everything first
// (subaccount, record, keys, TwiML App, numbers) so that a refusal comes
// before any write, then writes in an order where every interruption leaves
// a state that works and that a rerun finishes:
//
//  1. the subaccount (found, adopted or created);
//  2. the API key: its name goes into the record (pending_api_key_names)
//     before Twilio creates it, so a rerun can prove which keys it made;
//  3. the TwiML App (created, or its URLs fixed);
//  4. the record, merged and validated, and the deployment's index, read
//     back; then a wait of ReadyWait, after which every function container
//     admits the tenant (unless NoWait);
//  5. only then the numbers, so no number ever points at the deployment
//     before the deployment admits its subaccount (with NoReindex they are
//     left alone until a rerun after subaccounts reindex);
//  6. keys left by interrupted runs, and a replaced key once the cache
//     TTL has passed.
//
// Each step writes only what is not already right, so a rerun after
// success makes no Twilio or Secrets Manager writes. A cancelled ctx stops
// the run before its next write.
func (p *Provisioner) Create(ctx context.Context, o CreateOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	d := o.Deployment
	if err := p.checkIndexOwner(ctx); err != nil {
		return err
	}
	if !o.NoReindex {
		// Refuse before any write what the index write would fail at.
		admitted := false
		if o.AccountSID != "" {
			var err error
			if admitted, err = p.indexAdmits(ctx, o.AccountSID, true); err != nil {
				return err
			}
		}
		if !admitted {
			if err := p.checkVersionsQuota(ctx); err != nil {
				return err
			}
		}
	}
	acct, err := p.subaccount(ctx, o)
	if err != nil {
		return err
	}
	st, err := p.loadStored(ctx, p.secretName(acct.SID))
	if err != nil {
		return err
	}
	if o.CallerID == "" && len(o.Numbers) == 0 && st.rec.str("caller_id") == "" {
		return errors.New("the record needs a caller ID: pass --caller-id or --number")
	}
	keys, err := p.tw.ListKeys(acct.SID)
	if err != nil {
		return stepErr("list API keys of "+acct.SID, err)
	}
	app, appFound, err := p.findApp(acct.SID, st.rec.str("twiml_app_sid"), d)
	if err != nil {
		return err
	}
	if appFound && !o.Force && (d.otherDeployment(app.VoiceURL) || d.otherDeployment(app.StatusCallback)) {
		return fmt.Errorf("TwiML App %s (%q) points at %s, another deployment of this service: not re-targeted (pass --force to take it over)", app.SID, app.FriendlyName, app.VoiceURL)
	}
	nums, err := p.findNumbers(acct.SID, o.Numbers, d, o.Force)
	if err != nil {
		return err
	}

	kr, err := p.ensureKey(ctx, acct.SID, st, keys, d.keyNamePrefix(), o.RotateKey)
	if err != nil {
		return err
	}
	if app, err = p.ensureApp(ctx, acct.SID, app, appFound, d); err != nil {
		return err
	}
	rec := st.rec.clone()
	kr.apply(rec, p.now())
	bearer, err := p.fillRecord(rec, acct, app, o)
	if err != nil {
		return err
	}
	if err := p.save(ctx, st, rec, true); err != nil {
		return err
	}
	if bearer != "" {
		if p.dryRun {
			p.printf("plan: a new bearer key (token_api_keys) would be generated and printed once\n")
		} else {
			p.printf("Bearer key for the Bubble API Connector (shown once; store it in Bubble now):\n%s\n", bearer)
		}
	}
	admitted, ready, err := p.admit(ctx, acct.SID, o)
	if err != nil {
		return err
	}
	for _, n := range nums {
		if !admitted {
			p.printf("number %s: left as it is until the deployment admits %s\n", n.PhoneNumber, acct.SID)
			continue
		}
		if err := p.ensureNumber(ctx, acct.SID, n, d); err != nil {
			return err
		}
	}
	if d.TokenURL != "" {
		p.printf("token URL for the Bubble API Connector: %s\n", d.TokenURL)
	}
	errs := kr.errs
	if err := p.retireKey(ctx, acct.SID, st, o.CacheTTL, o.RotateKey && !o.NoWait); err != nil {
		errs = append(errs, err)
	}
	if ready && len(errs) == 0 && !p.dryRun {
		p.printf("subaccount %s (%q): ready\n", acct.SID, acct.FriendlyName)
	}
	return errors.Join(errs...)
}

// admit makes the deployment admit accountSID: it puts it in the index
// (unless NoReindex) and waits until every function container admits it
// (unless NoWait). admitted is false when the index does not admit the
// tenant, so its numbers must wait; ready is true when every container
// admits it already.
func (p *Provisioner) admit(ctx context.Context, accountSID string, o CreateOptions) (admitted, ready bool, err error) {
	if o.NoReindex {
		ok, err := p.indexAdmits(ctx, accountSID, false)
		if err != nil || ok {
			return ok, ok, err
		}
		p.printf("subaccount %s: NOT ready: the index does not list it yet (--no-reindex). After the last create --no-reindex, run subaccounts reindex, then rerun the creates without --no-reindex to point their numbers\n", accountSID)
		return false, false, nil
	}
	changed, err := p.ensureIndexed(ctx, accountSID)
	switch {
	case err != nil:
		return false, false, err
	case !changed:
		return true, true, nil
	}
	return true, !o.NoWait, p.waitReady(ctx, o.NoWait, accountSID)
}

// subaccount finds, adopts or creates the subaccount.
func (p *Provisioner) subaccount(ctx context.Context, o CreateOptions) (Account, error) {
	var acct Account
	if o.AccountSID != "" {
		a, err := p.subaccountOf(o.AccountSID)
		if err != nil {
			return Account{}, err
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
			if err := p.checkpoint(ctx, "creating the subaccount"); err != nil {
				return Account{}, err
			}
			a, err := p.tw.CreateAccount(o.Name)
			if err != nil {
				return Account{}, stepErr(fmt.Sprintf("create subaccount %q", o.Name), err)
			}
			p.done("subaccount %s (%q): created\n", a.SID, a.FriendlyName)
			acct = a
		}
	}
	if acct.Status != "" && acct.Status != "active" {
		return Account{}, fmt.Errorf("subaccount %s is %s, not active (reactivate it first: subaccounts reactivate %s)", acct.SID, acct.Status, acct.SID)
	}
	if acct.AuthToken == "" {
		return Account{}, errNoAuthToken(acct.SID)
	}
	return acct, nil
}

// appWant is the TwiML App deployment d needs.
func appWant(d Deployment) App {
	return App{
		FriendlyName: d.AppName(), VoiceURL: d.VoiceURL, VoiceMethod: "POST",
		VoiceFallbackURL: d.FallbackURL, VoiceFallbackMethod: "POST",
		StatusCallback: d.StatusCallbackURL, StatusCallbackMethod: "POST",
	}
}

// appRight reports whether app already has want's URLs and methods.
func appRight(app, want App) bool {
	return app.VoiceURL == want.VoiceURL && strings.EqualFold(app.VoiceMethod, "POST") &&
		app.VoiceFallbackURL == want.VoiceFallbackURL && (want.VoiceFallbackURL == "" || strings.EqualFold(app.VoiceFallbackMethod, "POST")) &&
		app.StatusCallback == want.StatusCallback && strings.EqualFold(app.StatusCallbackMethod, "POST")
}

// findApp finds the deployment's TwiML App: the record's, else by name.
func (p *Provisioner) findApp(acct, recordSID string, d Deployment) (App, bool, error) {
	if recordSID != "" {
		a, err := p.tw.FetchApp(acct, recordSID)
		switch {
		case err == nil:
			return a, true, nil
		case isNotFound(err):
			p.printf("note: TwiML App %s in the record no longer exists in Twilio\n", recordSID)
		default:
			return App{}, false, stepErr("fetch TwiML App "+recordSID, err)
		}
	}
	name := d.AppName()
	apps, err := p.tw.FindApps(acct, name)
	if err != nil {
		return App{}, false, stepErr(fmt.Sprintf("find TwiML App %q", name), err)
	}
	if len(apps) > 1 {
		p.printf("note: %d TwiML Apps are named %q; using %s\n", len(apps), name, apps[0].SID)
	}
	if len(apps) > 0 {
		return apps[0], true, nil
	}
	return App{}, false, nil
}

// ensureApp creates the deployment's TwiML App or fixes its URLs.
func (p *Provisioner) ensureApp(ctx context.Context, acct string, app App, found bool, d Deployment) (App, error) {
	want := appWant(d)
	if !found {
		if err := p.checkpoint(ctx, "creating the TwiML App"); err != nil {
			return App{}, err
		}
		a, err := p.tw.CreateApp(acct, want)
		if err != nil {
			return App{}, stepErr(fmt.Sprintf("create TwiML App %q", want.FriendlyName), err)
		}
		p.done("TwiML App %s (%q): created, Voice URL %s, status callback %s\n", a.SID, a.FriendlyName, d.VoiceURL, d.StatusCallbackURL)
		return a, nil
	}
	if appRight(app, want) {
		p.printf("TwiML App %s (%q): already right\n", app.SID, app.FriendlyName)
		return app, nil
	}
	if err := p.checkpoint(ctx, "updating TwiML App "+app.SID); err != nil {
		return App{}, err
	}
	want.SID, want.FriendlyName = app.SID, app.FriendlyName
	a, err := p.tw.UpdateApp(acct, want)
	if err != nil {
		return App{}, stepErr("update TwiML App "+app.SID, err)
	}
	p.done("TwiML App %s (%q): updated, Voice URL %s, status callback %s (was %q, %q)\n", a.SID, a.FriendlyName, d.VoiceURL, d.StatusCallbackURL, app.VoiceURL, app.StatusCallback)
	return a, nil
}

// findNumbers looks up each number in the subaccount and refuses one that
// points at another deployment of this service unless force.
func (p *Provisioner) findNumbers(acct string, e164s []string, d Deployment, force bool) ([]Number, error) {
	var out []Number
	for _, e164 := range e164s {
		nums, err := p.tw.FindNumbers(acct, e164)
		if err != nil {
			return nil, stepErr("find number "+e164, err)
		}
		if len(nums) == 0 {
			return nil, stepErr("find number "+e164, fmt.Errorf("it is not a phone number of subaccount %s: buy it there, or move it there (subaccounts move-number), then rerun", acct))
		}
		n := nums[0]
		if !force && (d.otherDeployment(n.VoiceURL) || d.otherDeployment(n.StatusCallback)) {
			return nil, fmt.Errorf("number %s (%s) points at %s, another deployment of this service: not re-targeted (pass --force to take it over)", e164, n.SID, n.VoiceURL)
		}
		out = append(out, n)
	}
	return out, nil
}

// numberRight reports whether n already routes to deployment d.
func numberRight(n Number, d Deployment) bool {
	return n.VoiceURL == d.IncomingURL && strings.EqualFold(n.VoiceMethod, "POST") && n.VoiceApplicationSID == "" &&
		n.VoiceFallbackURL == d.FallbackURL && (d.FallbackURL == "" || strings.EqualFold(n.VoiceFallbackMethod, "POST")) &&
		n.StatusCallback == d.StatusCallbackURL && strings.EqualFold(n.StatusCallbackMethod, "POST")
}

// ensureNumber points one number of the subaccount at the deployment: its
// Voice URL, fallback and status callback.
func (p *Provisioner) ensureNumber(ctx context.Context, acct string, n Number, d Deployment) error {
	if numberRight(n, d) {
		p.printf("number %s (%s): already right\n", n.PhoneNumber, n.SID)
		return nil
	}
	if err := p.checkpoint(ctx, "updating number "+n.PhoneNumber); err != nil {
		return err
	}
	want := Number{
		SID: n.SID, PhoneNumber: n.PhoneNumber,
		VoiceURL: d.IncomingURL, VoiceMethod: "POST",
		VoiceFallbackURL: d.FallbackURL, VoiceFallbackMethod: "POST",
		StatusCallback: d.StatusCallbackURL, StatusCallbackMethod: "POST",
	}
	if _, err := p.tw.UpdateNumber(acct, want); err != nil {
		return stepErr("update number "+n.PhoneNumber, err)
	}
	p.done("number %s (%s): Voice URL set to %s, status callback %s\n", n.PhoneNumber, n.SID, d.IncomingURL, d.StatusCallbackURL)
	return nil
}

// fillRecord sets the fields Create manages on rec (the key's are set by
// keyResult.apply) and leaves every other field as it was. It returns a
// bearer key when it generated one.
func (p *Provisioner) fillRecord(rec record, acct Account, app App, o CreateOptions) (string, error) {
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
	p.printf("waiting %s %s, so function instances reload the record first (Ctrl-C stops; rerun later)\n", d, why)
	return p.sleep(ctx, d)
}
