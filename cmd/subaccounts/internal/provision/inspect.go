package provision

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/token"
)

// List prints one line per tenant record under the prefix, without any
// secret, and whether the record is valid.
func (p *Provisioner) List(ctx context.Context) error {
	listed, err := p.secrets.List(ctx, p.prefix)
	if err != nil {
		return stepErr("list secrets "+p.prefix+"*", err)
	}
	var names []string
	for _, s := range listed {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	w := tabwriter.NewWriter(p.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ACCOUNT_SID\tSTATUS\tCALLER_ID\tTWIML_APP\tAPI_KEY\tBEARER_KEYS\tRECORD")
	for _, name := range names {
		sid := strings.TrimPrefix(name, p.prefix)
		if !tenant.ValidAccountSID(sid) {
			continue // the index, or a secret that is not a tenant's
		}
		data, found, err := p.secrets.Get(ctx, name)
		if err != nil || !found {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\t-\tunreadable: %v\n", sid, errOrMissing(err))
			continue
		}
		t, err := tenant.Parse(data)
		if err != nil {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\t-\tinvalid: %v\n", sid, err)
			continue
		}
		status := cmp.Or(t.Status, tenant.StatusActive)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\tok\n", t.AccountSID, status, t.CallerID, t.TwiMLAppSID, t.APIKeySID, len(t.TokenAPIKeys))
	}
	return w.Flush()
}

func errOrMissing(err error) error {
	if err == nil {
		return errors.New("not found")
	}
	return errors.New(Describe(err))
}

// Show prints one tenant record with its secrets redacted at any depth (by
// a broad field name pattern, see isSecretField), and whether it is valid.
// Fields this tool does not know are shown, redacted the same way.
func (p *Provisioner) Show(ctx context.Context, accountSID string) error {
	if err := checkAccountSID(accountSID); err != nil {
		return err
	}
	name := p.secretName(accountSID)
	rec, found, err := p.loadRecord(ctx, name)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("no tenant record %s", name)
	}
	p.printf("%s\n", rec.redacted().bytes())
	if _, err := tenant.Parse(rec.bytes()); err != nil {
		p.printf("record is INVALID: %v\n", err)
	} else {
		p.printf("record is valid\n")
	}
	return nil
}

// checker collects check results.
type checker struct {
	p        *Provisioner
	problems int
}

func (c *checker) ok(format string, args ...any) { c.p.printf("ok      "+format+"\n", args...) }
func (c *checker) note(format string, args ...any) {
	c.p.printf("note    "+format+"\n", args...)
}

// hook checks one webhook of a TwiML App or number (what): its URL is want
// and its method POST.
func (c *checker) hook(fix, what, url, method, want string) {
	if url != want || !strings.EqualFold(method, "POST") {
		c.problem(fix, "%s is %q (%s), want %q (POST)", what, url, method, want)
	} else {
		c.ok("%s is %s (POST)", what, want)
	}
}

// problem prints what is wrong and how to fix it.
func (c *checker) problem(fix, format string, args ...any) {
	c.problems++
	c.p.printf("PROBLEM "+format+"\n        fix: %s\n", append(args, fix)...)
}

// Check verifies one tenant end to end: the record loads, its API key can
// sign an access token and is accepted by Twilio, its auth token is the
// subaccount's current one, and the TwiML App and routed numbers point at
// deployment d. It prints each finding and returns ErrCheckFailed if
// anything is wrong.
func (p *Provisioner) Check(ctx context.Context, accountSID string, d Deployment) error {
	if err := checkAccountSID(accountSID); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	c := &checker{p: p}
	fixCreate := "subaccounts create --account-sid " + accountSID + " (with the same --stack or URLs)"
	name := p.secretName(accountSID)
	data, found, err := p.secrets.Get(ctx, name)
	if err != nil {
		return stepErr("read secret "+name, err)
	}
	if !found {
		c.problem(fixCreate, "no tenant record %s", name)
		return ErrCheckFailed
	}
	t, err := tenant.Parse(data)
	if err != nil {
		c.problem(fixCreate+", or edit the secret", "tenant record %s does not load: %v", name, err)
		return ErrCheckFailed
	}
	c.ok("tenant record %s loads", name)

	if err := p.checkToken(t); err != nil {
		c.problem("subaccounts rotate-key "+accountSID, "cannot mint an access token with API key %s: %v", t.APIKeySID, err)
	} else {
		c.ok("API key %s signs a Voice access token (HS256)", t.APIKeySID)
	}

	acct, err := p.tw.FetchAccount(accountSID)
	if err != nil {
		return stepErr("fetch subaccount "+accountSID, err)
	}
	switch {
	case acct.Status == "suspended" && t.Suspended():
		c.note("subaccount %s is suspended (since %s); /token and call control answer tenant_suspended, its calls (screened legs and hubs too) hear a short message and hang up, its recording and transcript links answer 404", accountSID, t.SuspendedAt)
	case acct.Status == "suspended":
		c.problem("subaccounts suspend "+accountSID+" (marks the record), or subaccounts reactivate "+accountSID, "subaccount %s is suspended in Twilio but its record is not marked: /token issues tokens that cannot work", accountSID)
	case t.Suspended():
		c.problem("subaccounts reactivate "+accountSID+", or subaccounts suspend "+accountSID, "the record is marked suspended but subaccount %s is %s in Twilio", accountSID, acct.Status)
	case acct.Status != "active":
		c.problem("subaccounts reactivate "+accountSID, "subaccount %s is %s", accountSID, acct.Status)
	}

	// A suspended account's own key cannot authenticate: then the app is
	// read with the main account's credentials and the key is not proved.
	var app App
	if acct.Status == "active" {
		app, err = p.tw.FetchAppWithKey(accountSID, t.APIKeySID, t.APIKeySecret, t.TwiMLAppSID)
	} else {
		c.note("API key %s not tried: a %s subaccount's keys do not authenticate", t.APIKeySID, acct.Status)
		app, err = p.tw.FetchApp(accountSID, t.TwiMLAppSID)
	}
	switch {
	case err == nil:
		if acct.Status == "active" {
			c.ok("Twilio accepts API key %s", t.APIKeySID)
		}
		fix := fixCreate
		switch {
		case d.atOwnBase(app.VoiceURL) || d.atOwnBase(app.StatusCallback):
			fix = "subaccounts repoint " + accountSID + " (with the same --stack or URLs; it still points at the API's own URL)"
		case d.otherDeployment(app.VoiceURL) || d.otherDeployment(app.StatusCallback):
			fix = "subaccounts create --account-sid " + accountSID + " --force (with the same --stack or URLs; the app points at another deployment, make sure it is not in use)"
		}
		c.hook(fix, "TwiML App "+app.SID+" Voice URL", app.VoiceURL, app.VoiceMethod, d.VoiceURL)
		c.hook(fix, "TwiML App "+app.SID+" status callback", app.StatusCallback, app.StatusCallbackMethod, d.StatusCallbackURL)
	case isUnauthorized(err):
		c.problem("subaccounts rotate-key "+accountSID, "Twilio rejects API key %s (deleted, or wrong secret): %s", t.APIKeySID, Describe(err))
	case isNotFound(err):
		c.problem(fixCreate, "TwiML App %s does not exist in %s", t.TwiMLAppSID, accountSID)
	default:
		return stepErr("fetch TwiML App "+t.TwiMLAppSID, err)
	}

	switch acct.AuthToken {
	case "":
		c.note("auth token not compared: Twilio did not return it (main API key in use?)")
	case t.AuthToken:
		c.ok("auth_token is the subaccount's current auth token")
	case t.PreviousAuthToken:
		c.problem("subaccounts rotate-auth-token "+accountSID, "an auth token rotation is not finished (secondary stored, not promoted)")
	default:
		c.problem(fixCreate, "auth_token is not the subaccount's current auth token: webhook signatures will fail")
	}

	if err := p.checkNumbers(c, accountSID, t, d); err != nil {
		return err
	}
	if err := p.checkIndex(ctx, c, accountSID); err != nil {
		return err
	}
	rec, _ := parseRecord(data)
	if prev := rec.str(prevKeyField); prev != "" {
		c.note("API key %s was replaced at %s and is not deleted yet: subaccounts rotate-key %s finishes the rotation", prev, rec.str(prevKeyAtField), accountSID)
	}
	if names := rec.strs(pendingKeysField); len(names) > 0 {
		c.note("%d API key name(s) are pending from an interrupted create or rotate-key: rerun it to clean up", len(names))
	}
	if c.problems > 0 {
		p.printf("%d problem(s) found\n", c.problems)
		return ErrCheckFailed
	}
	p.printf("all checks passed\n")
	return nil
}

// checkIndex checks the deployment's index lets the tenant through.
func (p *Provisioner) checkIndex(ctx context.Context, c *checker, accountSID string) error {
	name := p.indexName()
	data, found, err := p.secrets.Get(ctx, name)
	if err != nil {
		return stepErr("read index "+name, err)
	}
	x, perr := tenant.ParseIndex(data)
	switch {
	case !found:
		c.problem("subaccounts reindex", "index %s does not exist: the deployment refuses every AccountSid", name)
	case perr != nil:
		c.problem("subaccounts reindex", "index %s does not load: %v", name, perr)
	case !x.MayContain(accountSID):
		c.problem("subaccounts reindex", "index %s does not list %s: the deployment refuses it", name, accountSID)
	default:
		c.ok("index %s lists %s", name, accountSID)
	}
	return nil
}

// checkToken mints an access token the way the token function does and
// verifies it with golang-jwt, proving the stored key secret can sign.
func (p *Provisioner) checkToken(t *tenant.Tenant) error {
	tok, err := token.Issue(p.now(), t, "subaccounts_check", 5*time.Minute)
	if err != nil {
		return err
	}
	c, err := token.Verify(tok.JWT, t.APIKeySecret, p.now())
	if err != nil {
		return fmt.Errorf("minted token does not verify: %w", err)
	}
	if c.APIKeySID != t.APIKeySID || c.AccountSID != t.AccountSID {
		return fmt.Errorf("minted token names key %s of account %s", c.APIKeySID, c.AccountSID)
	}
	return nil
}

// numberTarget is a number a record routes: one with its own route (which
// must be a number of the subaccount), or a caller ID of the default route
// (which may be a verified caller ID instead).
type numberTarget struct {
	number string
	routed bool
}

// routedNumbers lists the numbers the record routes: those with their own
// route, and (when a default route exists) its caller IDs.
func routedNumbers(t *tenant.Tenant) []numberTarget {
	var targets []numberTarget
	seen := map[string]bool{}
	if t.Incoming == nil {
		return nil
	}
	for _, n := range slices.Sorted(maps.Keys(t.Incoming.Numbers)) {
		targets = append(targets, numberTarget{n, true})
		seen[n] = true
	}
	if t.Incoming.Default != nil {
		for _, n := range append([]string{t.CallerID}, t.CallerIDs...) {
			if !seen[n] {
				targets = append(targets, numberTarget{n, false})
				seen[n] = true
			}
		}
	}
	return targets
}

// checkNumbers checks the numbers the record routes (routedNumbers).
func (p *Provisioner) checkNumbers(c *checker, accountSID string, t *tenant.Tenant, d Deployment) error {
	targets := routedNumbers(t)
	if len(targets) == 0 {
		c.note("no incoming routing in the record: numbers not checked")
	}
	for _, tg := range targets {
		nums, err := p.tw.FindNumbers(accountSID, tg.number)
		if err != nil {
			return stepErr("find number "+tg.number, err)
		}
		if len(nums) == 0 {
			if tg.routed {
				c.problem("move the number into the subaccount, or remove its route", "routed number %s is not a number of %s", tg.number, accountSID)
			} else {
				c.note("%s is not an incoming number of %s (fine for a verified caller ID)", tg.number, accountSID)
			}
			continue
		}
		n := nums[0]
		fix := fmt.Sprintf("subaccounts create --account-sid %s --number %s", accountSID, tg.number)
		switch {
		case d.atOwnBase(n.VoiceURL) || d.atOwnBase(n.StatusCallback):
			fix = "subaccounts repoint " + accountSID + " (it still points at the API's own URL)"
		case d.otherDeployment(n.VoiceURL) || d.otherDeployment(n.StatusCallback):
			fix += " --force (the number points at another deployment: make sure that one no longer needs it)"
		}
		if n.VoiceApplicationSID != "" {
			c.problem(fix, "number %s uses TwiML App %s instead of the incoming URL", tg.number, n.VoiceApplicationSID)
		} else {
			c.hook(fix, "number "+tg.number+" Voice URL", n.VoiceURL, n.VoiceMethod, d.IncomingURL)
		}
		c.hook(fix, "number "+tg.number+" status callback", n.StatusCallback, n.StatusCallbackMethod, d.StatusCallbackURL)
	}
	return nil
}
