package provision

import (
	"context"
	"errors"
	"fmt"
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
	names, err := p.secrets.List(ctx, p.prefix)
	if err != nil {
		return stepErr("list secrets "+p.prefix+"*", err)
	}
	sort.Strings(names)
	w := tabwriter.NewWriter(p.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ACCOUNT_SID\tCALLER_ID\tTWIML_APP\tAPI_KEY\tBEARER_KEYS\tRECORD")
	for _, name := range names {
		sid := strings.TrimPrefix(name, p.prefix)
		data, found, err := p.secrets.Get(ctx, name)
		if err != nil || !found {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\tunreadable: %v\n", sid, errOrMissing(err))
			continue
		}
		t, err := tenant.Parse(data)
		if err != nil {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\tinvalid: %v\n", sid, err)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\tok\n", t.AccountSID, t.CallerID, t.TwiMLAppSID, t.APIKeySID, len(t.TokenAPIKeys))
	}
	return w.Flush()
}

func errOrMissing(err error) error {
	if err == nil {
		return errors.New("not found")
	}
	return errors.New(Describe(err))
}

// Show prints one tenant record with its secrets redacted, and whether it
// is valid. Fields this tool does not know are shown as they are.
func (p *Provisioner) Show(ctx context.Context, accountSID string) error {
	if !tenant.ValidAccountSID(accountSID) {
		return fmt.Errorf("%q is not an account SID (AC followed by 32 hex digits)", accountSID)
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
	if !tenant.ValidAccountSID(accountSID) {
		return fmt.Errorf("%q is not an account SID (AC followed by 32 hex digits)", accountSID)
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

	app, err := p.tw.FetchAppWithKey(accountSID, t.APIKeySID, t.APIKeySecret, t.TwiMLAppSID)
	switch {
	case err == nil:
		c.ok("Twilio accepts API key %s", t.APIKeySID)
		if app.VoiceURL != d.VoiceURL || !strings.EqualFold(app.VoiceMethod, "POST") {
			c.problem(fixCreate, "TwiML App %s Voice URL is %q (%s), want %q (POST)", app.SID, app.VoiceURL, app.VoiceMethod, d.VoiceURL)
		} else {
			c.ok("TwiML App %s Voice URL is %s (POST)", app.SID, d.VoiceURL)
		}
	case isUnauthorized(err):
		c.problem("subaccounts rotate-key "+accountSID, "Twilio rejects API key %s (deleted, or wrong secret): %s", t.APIKeySID, Describe(err))
	case isNotFound(err):
		c.problem(fixCreate, "TwiML App %s does not exist in %s", t.TwiMLAppSID, accountSID)
	default:
		return stepErr("fetch TwiML App "+t.TwiMLAppSID+" with the API key", err)
	}

	acct, err := p.tw.FetchAccount(accountSID)
	if err != nil {
		return stepErr("fetch subaccount "+accountSID, err)
	}
	if acct.Status != "active" {
		c.problem("reactivate the subaccount in the Twilio console", "subaccount %s is %s", accountSID, acct.Status)
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
	if c.problems > 0 {
		p.printf("%d problem(s) found\n", c.problems)
		return ErrCheckFailed
	}
	p.printf("all checks passed\n")
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

// checkNumbers checks the numbers the record routes: those with their own
// route, and (when a default route exists) its caller IDs that are numbers
// of the subaccount.
func (p *Provisioner) checkNumbers(c *checker, accountSID string, t *tenant.Tenant, d Deployment) error {
	type target struct {
		number string
		routed bool // has its own route, so it must exist
	}
	var targets []target
	seen := map[string]bool{}
	if t.Incoming != nil {
		var own []string
		for n := range t.Incoming.Numbers {
			own = append(own, n)
		}
		sort.Strings(own)
		for _, n := range own {
			targets = append(targets, target{n, true})
			seen[n] = true
		}
		if t.Incoming.Default != nil {
			for _, n := range append([]string{t.CallerID}, t.CallerIDs...) {
				if !seen[n] {
					targets = append(targets, target{n, false})
					seen[n] = true
				}
			}
		}
	}
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
		case n.VoiceApplicationSID != "":
			c.problem(fix, "number %s uses TwiML App %s instead of the incoming URL", tg.number, n.VoiceApplicationSID)
		case n.VoiceURL != d.IncomingURL || !strings.EqualFold(n.VoiceMethod, "POST"):
			c.problem(fix, "number %s Voice URL is %q (%s), want %q (POST)", tg.number, n.VoiceURL, n.VoiceMethod, d.IncomingURL)
		default:
			c.ok("number %s Voice URL is %s (POST)", tg.number, d.IncomingURL)
		}
	}
	return nil
}
