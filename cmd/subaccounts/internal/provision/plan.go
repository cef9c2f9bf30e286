package provision

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// planTwilio is the dry-run Twilio: reads go to Twilio, writes are printed
// as the REST call they would make and answered with placeholders, so the
// rest of the plan can be computed.
type planTwilio struct {
	Twilio
	out          io.Writer
	n            int
	placeholders map[string]bool
}

// placeholder returns a well-formed SID Twilio never issues (all zeros but
// a counter), remembered so reads about it are answered locally.
func (t *planTwilio) placeholder(prefix string) string {
	t.n++
	sid := fmt.Sprintf("%s%032x", prefix, t.n)
	if t.placeholders == nil {
		t.placeholders = map[string]bool{}
	}
	t.placeholders[sid] = true
	return sid
}

func (t *planTwilio) plan(format string, args ...any) {
	fmt.Fprintf(t.out, "plan: "+format+"\n", args...)
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

func (t *planTwilio) CreateAccount(friendlyName string) (Account, error) {
	sid := t.placeholder("AC")
	t.plan("POST /2010-04-01/Accounts.json %s (new subaccount, shown below as %s)", form("FriendlyName", friendlyName), sid)
	return Account{SID: sid, FriendlyName: friendlyName, Status: "active", AuthToken: "dry-run-auth-token"}, nil
}

// planned answers a list read about an account this run only planned to
// create: it has nothing yet, and Twilio does not know it.
func planned[T any](t *planTwilio, account string, read func(string) ([]T, error)) ([]T, error) {
	if t.placeholders[account] {
		return nil, nil
	}
	return read(account)
}

func (t *planTwilio) ListKeys(account string) ([]Key, error) {
	return planned(t, account, t.Twilio.ListKeys)
}

func (t *planTwilio) CreateKey(account, friendlyName string) (Key, error) {
	sid := t.placeholder("SK")
	t.plan("POST /2010-04-01/Accounts/%s/Keys.json %s (new API key, shown below as %s; its secret goes only into the secret)", account, form("FriendlyName", friendlyName), sid)
	return Key{SID: sid, FriendlyName: friendlyName, Secret: "dry-run-key-secret"}, nil
}

func (t *planTwilio) DeleteKey(account, sid string) error {
	t.plan("DELETE /2010-04-01/Accounts/%s/Keys/%s.json", account, sid)
	return nil
}

func (t *planTwilio) FindApps(account, friendlyName string) ([]App, error) {
	return planned(t, account, func(a string) ([]App, error) { return t.Twilio.FindApps(a, friendlyName) })
}

func appForm(a App) string {
	return form("FriendlyName", a.FriendlyName, "VoiceUrl", a.VoiceURL, "VoiceMethod", a.VoiceMethod,
		"VoiceFallbackUrl", a.VoiceFallbackURL, "VoiceFallbackMethod", a.VoiceFallbackMethod,
		"StatusCallback", a.StatusCallback, "StatusCallbackMethod", a.StatusCallbackMethod)
}

func (t *planTwilio) CreateApp(account string, app App) (App, error) {
	app.SID = t.placeholder("AP")
	t.plan("POST /2010-04-01/Accounts/%s/Applications.json %s (new TwiML App, shown below as %s)", account, appForm(app), app.SID)
	return app, nil
}

func (t *planTwilio) UpdateApp(account string, app App) (App, error) {
	name := app.FriendlyName
	app.FriendlyName = "" // UpdateApp leaves the name alone
	t.plan("POST /2010-04-01/Accounts/%s/Applications/%s.json %s", account, app.SID, appForm(app))
	app.FriendlyName = name
	return app, nil
}

func (t *planTwilio) FindNumbers(account, e164 string) ([]Number, error) {
	return planned(t, account, func(a string) ([]Number, error) { return t.Twilio.FindNumbers(a, e164) })
}

func (t *planTwilio) UpdateNumber(account string, n Number) (Number, error) {
	t.plan("POST /2010-04-01/Accounts/%s/IncomingPhoneNumbers/%s.json %s (%s)", account, n.SID,
		form("VoiceUrl", n.VoiceURL, "VoiceMethod", n.VoiceMethod, "VoiceFallbackUrl", n.VoiceFallbackURL,
			"VoiceFallbackMethod", n.VoiceFallbackMethod, "VoiceApplicationSid", n.VoiceApplicationSID,
			"StatusCallback", n.StatusCallback, "StatusCallbackMethod", n.StatusCallbackMethod), n.PhoneNumber)
	return n, nil
}

func (t *planTwilio) UpdateAccountStatus(sid, status string) (Account, error) {
	t.plan("POST /2010-04-01/Accounts/%s.json %s", sid, form("Status", status))
	return Account{SID: sid, Status: status}, nil
}

func (t *planTwilio) ListNumbers(account string) ([]Number, error) {
	return planned(t, account, t.Twilio.ListNumbers)
}

func (t *planTwilio) TransferNumber(account, sid, to string) (Number, error) {
	t.plan("POST /2010-04-01/Accounts/%s/IncomingPhoneNumbers/%s.json %s (transfer)", account, sid, form("AccountSid", to))
	return Number{SID: sid}, nil
}

func (t *planTwilio) UpdateCallStatus(account, sid, status string) error {
	t.plan("POST /2010-04-01/Accounts/%s/Calls/%s.json %s", account, sid, form("Status", status))
	return nil
}

func (t *planTwilio) SetDialingInheritance(account, _ string, inherit bool) (bool, error) {
	t.plan("POST https://voice.twilio.com/v1/Settings %s (authenticated as %s)", form("DialingPermissionsInheritance", fmt.Sprint(inherit)), account)
	return inherit, nil
}

func (t *planTwilio) CreateSecondaryAuthToken(account, _ string) (string, error) {
	t.plan("POST https://accounts.twilio.com/v1/AuthTokens/Secondary (authenticated as %s)", account)
	return "dry-run-secondary-auth-token", nil
}

func (t *planTwilio) PromoteSecondaryAuthToken(account, token string) (string, error) {
	t.plan("POST https://accounts.twilio.com/v1/AuthTokens/Promote (authenticated as %s)", account)
	return token, nil
}

// planSecrets is the dry-run Secrets: reads go through, writes print.
type planSecrets struct {
	Secrets
	out io.Writer
}

func (s planSecrets) Create(_ context.Context, name string, _ []byte, tags map[string]string) error {
	fmt.Fprintf(s.out, "plan: Secrets Manager CreateSecret %s%s\n", name, planTags(tags))
	return nil
}

func (s planSecrets) Tag(_ context.Context, name string, tags map[string]string) error {
	fmt.Fprintf(s.out, "plan: Secrets Manager TagResource %s%s\n", name, planTags(tags))
	return nil
}

// planTags prints tags as " Tags=k=v,k=v".
func planTags(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		kv = append(kv, k+"="+tags[k])
	}
	return " Tags=" + strings.Join(kv, ",")
}

func (s planSecrets) Put(_ context.Context, name string, _ []byte) error {
	fmt.Fprintf(s.out, "plan: Secrets Manager PutSecretValue %s\n", name)
	return nil
}

func (s planSecrets) Delete(_ context.Context, name string, days int) error {
	fmt.Fprintf(s.out, "plan: Secrets Manager DeleteSecret %s RecoveryWindowInDays=%d\n", name, days)
	return nil
}
