package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	accounts "github.com/twilio/twilio-go/rest/accounts/v1"
	api "github.com/twilio/twilio-go/rest/api/v2010"
	voice "github.com/twilio/twilio-go/rest/voice/v1"

	"bubble-twilio-voice/shared/recordings"
)

// Account is the part of a Twilio account provisioning reads.
type Account struct {
	SID, FriendlyName, Status, Owner string
	// AuthToken is the primary auth token, returned to the owner only.
	AuthToken string
}

// Key is an API key; Secret is set only in the answer that created it.
type Key struct {
	SID, FriendlyName, Secret string
}

// App is a TwiML App's identity, voice configuration and status callback.
type App struct {
	SID, FriendlyName                     string
	VoiceURL, VoiceMethod                 string
	VoiceFallbackURL, VoiceFallbackMethod string
	StatusCallback, StatusCallbackMethod  string
}

// Number is an IncomingPhoneNumber's identity, voice configuration and
// status callback.
type Number struct {
	SID, PhoneNumber                      string
	VoiceURL, VoiceMethod                 string
	VoiceFallbackURL, VoiceFallbackMethod string
	// VoiceApplicationSID, when set, makes Twilio ignore VoiceURL.
	VoiceApplicationSID                  string
	StatusCallback, StatusCallbackMethod string
}

// Call is the part of a call ending it needs.
type Call struct {
	SID, From, To, Status string
}

// UsageRecord is one category of a Usage Records answer. Count, Usage and
// Price are Twilio's decimal strings, kept exact for billing.
type UsageRecord struct {
	Category           string
	StartDate, EndDate string
	Count, CountUnit   string
	Usage, UsageUnit   string
	Price, PriceUnit   string
}

// Country is a voice dialing permission of one country as Twilio reports
// it for an account.
type Country struct {
	ISO, Name string
	// LowRisk: calls to the country's ordinary numbers are allowed.
	LowRisk bool
}

// Twilio is what provisioning asks of Twilio's REST API. The account
// arguments are subaccount SIDs; the calls are made with the main account's
// credentials unless the method says otherwise.
type Twilio interface {
	FetchAccount(sid string) (Account, error)
	FindAccounts(friendlyName string) ([]Account, error)
	CreateAccount(friendlyName string) (Account, error)
	ListKeys(account string) ([]Key, error)
	CreateKey(account, friendlyName string) (Key, error)
	DeleteKey(account, sid string) error
	FetchApp(account, sid string) (App, error)
	FindApps(account, friendlyName string) ([]App, error)
	CreateApp(account string, app App) (App, error)
	UpdateApp(account string, app App) (App, error)
	FindNumbers(account, e164 string) ([]Number, error)
	UpdateNumber(account string, n Number) (Number, error)
	// CreateSecondaryAuthToken and PromoteSecondaryAuthToken act on the
	// account whose credentials (account SID + an auth token) sign the
	// request, so they authenticate as the subaccount itself.
	CreateSecondaryAuthToken(account, authToken string) (string, error)
	PromoteSecondaryAuthToken(account, authToken string) (string, error)
	// FetchAppWithKey fetches a TwiML App authenticated with the
	// subaccount's own API key: the cheapest call proving the key works
	// (standard keys may not read the Accounts resource).
	FetchAppWithKey(account, keySID, keySecret, appSID string) (App, error)

	// ListSubaccounts lists every subaccount of the main account, any status.
	ListSubaccounts() ([]Account, error)
	// UpdateAccountStatus sets a subaccount's status: "active",
	// "suspended" or "closed" (irreversible).
	UpdateAccountStatus(sid, status string) (Account, error)
	// ListNumbers lists every IncomingPhoneNumber of account.
	ListNumbers(account string) ([]Number, error)
	// TransferNumber moves number sid from account to account to (the
	// IncomingPhoneNumber's AccountSid parameter; main credentials only).
	TransferNumber(account, sid, to string) (Number, error)
	// ListCalls lists account's calls with status ("in-progress", ...).
	ListCalls(account, status string) ([]Call, error)
	// UpdateCallStatus ends a call: "completed" hangs up one in progress,
	// "canceled" one queued or ringing.
	UpdateCallStatus(account, sid, status string) error
	// UsageRecords returns account's usage in category from start to end
	// (YYYY-MM-DD, inclusive).
	UsageRecords(account, category, start, end string) ([]UsageRecord, error)
	// DialingInheritance, SetDialingInheritance and DialingCountry use
	// voice/v1, which acts on the account whose credentials sign the
	// request: they authenticate as the subaccount (SID + auth token).
	DialingInheritance(account, authToken string) (bool, error)
	SetDialingInheritance(account, authToken string, inherit bool) (bool, error)
	DialingCountry(account, authToken, iso string) (Country, error)
}

// Credentials authenticate the main account: AccountSID with AuthToken, or
// AccountSID with a main API key (APIKey, APISecret).
type Credentials struct {
	AccountSID, AuthToken string
	APIKey, APISecret     string
}

// RESTOptions configure NewREST.
type RESTOptions struct {
	// BaseURL replaces https://api.twilio.com and
	// https://accounts.twilio.com (tests point it at a fake); "" keeps them.
	BaseURL string
	// HTTPClient defaults to one with a 30 s timeout that does not follow
	// redirects, like twilio-go's own.
	HTTPClient *http.Client
}

// NewREST returns a Twilio backed by twilio-go's REST client.
func NewREST(creds Credentials, opts RESTOptions) (Twilio, error) {
	if creds.AccountSID == "" {
		return nil, errors.New("twilio: TWILIO_ACCOUNT_SID is not set")
	}
	user, pass := creds.AccountSID, creds.AuthToken
	if creds.APIKey != "" {
		user, pass = creds.APIKey, creds.APISecret
	}
	if pass == "" {
		return nil, errors.New("twilio: set TWILIO_AUTH_TOKEN, or TWILIO_API_KEY and TWILIO_API_SECRET")
	}
	var base *url.URL
	if opts.BaseURL != "" {
		u, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("twilio: base URL %q is not an absolute URL", opts.BaseURL)
		}
		base = u
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	r := &rest{base: base, http: hc, mainUser: user, mainPass: pass, mainSID: creds.AccountSID}
	r.main = r.api(user, pass, creds.AccountSID)
	return r, nil
}

type rest struct {
	base *url.URL
	http *http.Client
	main *api.ApiService
	// The main account's credentials, for requests twilio-go's services
	// do not cover (see UsageRecords).
	mainUser, mainPass, mainSID string
}

// handler builds a request handler for one set of credentials. Region and
// edge stay empty: the CLI talks to the default (US1) API.
func (r *rest) handler(user, pass, accountSID string) *twclient.RequestHandler {
	c := &twclient.Client{Credentials: twclient.NewCredentials(user, pass), HTTPClient: r.http}
	c.SetAccountSid(accountSID)
	var bc twclient.BaseClient = c
	if r.base != nil {
		bc = rebased{Client: c, base: r.base}
	}
	return &twclient.RequestHandler{Client: bc}
}

func (r *rest) api(user, pass, accountSID string) *api.ApiService {
	return api.NewApiService(r.handler(user, pass, accountSID))
}

// rebased sends twilio-go's requests to base instead of the *.twilio.com
// host twilio-go's services hard-code (their baseURL is unexported).
type rebased struct {
	*twclient.Client
	base *url.URL
}

// SendRequest rewrites the scheme and host (and prefixes the base path).
func (b rebased) SendRequest(method, rawURL string, data url.Values, headers map[string]interface{}, body ...byte) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host = b.base.Scheme, b.base.Host
	u.Path = b.base.Path + u.Path
	return b.Client.SendRequest(method, u.String(), data, headers, body...)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// one converts the answer of a twilio-go call that returns one resource:
// one(toApp)(r.main.FetchApplication(sid, p)).
func one[T, U any](to func(*T) U) func(*T, error) (U, error) {
	return func(x *T, err error) (U, error) {
		if err != nil {
			var zero U
			return zero, err
		}
		return to(x), nil
	}
}

// some converts the answer of a twilio-go list call, keeping the resources
// keep accepts (nil: all): the filters are the server's, checked here too.
func some[T, U any](to func(*T) U, keep func(U) bool) func([]T, error) ([]U, error) {
	return func(list []T, err error) ([]U, error) {
		if err != nil {
			return nil, err
		}
		var out []U
		for i := range list {
			if u := to(&list[i]); keep == nil || keep(u) {
				out = append(out, u)
			}
		}
		return out, nil
	}
}

func toAccount(a *api.ApiV2010Account) Account {
	return Account{SID: str(a.Sid), FriendlyName: str(a.FriendlyName), Status: str(a.Status), Owner: str(a.OwnerAccountSid), AuthToken: str(a.AuthToken)}
}

func toApp(a *api.ApiV2010Application) App {
	return App{
		SID: str(a.Sid), FriendlyName: str(a.FriendlyName),
		VoiceURL: str(a.VoiceUrl), VoiceMethod: str(a.VoiceMethod),
		VoiceFallbackURL: str(a.VoiceFallbackUrl), VoiceFallbackMethod: str(a.VoiceFallbackMethod),
		StatusCallback: str(a.StatusCallback), StatusCallbackMethod: str(a.StatusCallbackMethod),
	}
}

func toNumber(n *api.ApiV2010IncomingPhoneNumber) Number {
	return Number{
		SID: str(n.Sid), PhoneNumber: str(n.PhoneNumber),
		VoiceURL: str(n.VoiceUrl), VoiceMethod: str(n.VoiceMethod),
		VoiceFallbackURL: str(n.VoiceFallbackUrl), VoiceFallbackMethod: str(n.VoiceFallbackMethod),
		VoiceApplicationSID: str(n.VoiceApplicationSid),
		StatusCallback:      str(n.StatusCallback), StatusCallbackMethod: str(n.StatusCallbackMethod),
	}
}

func (r *rest) FetchAccount(sid string) (Account, error) {
	return one(toAccount)(r.main.FetchAccount(sid))
}

func (r *rest) FindAccounts(friendlyName string) ([]Account, error) {
	p := &api.ListAccountParams{}
	p.SetFriendlyName(friendlyName)
	return some(toAccount, func(a Account) bool { return a.FriendlyName == friendlyName })(r.main.ListAccount(p))
}

func (r *rest) CreateAccount(friendlyName string) (Account, error) {
	p := &api.CreateAccountParams{}
	p.SetFriendlyName(friendlyName)
	return one(toAccount)(r.main.CreateAccount(p))
}

func (r *rest) ListKeys(account string) ([]Key, error) {
	p := &api.ListKeyParams{}
	p.SetPathAccountSid(account)
	return some(func(k *api.ApiV2010Key) Key { return Key{SID: str(k.Sid), FriendlyName: str(k.FriendlyName)} }, nil)(r.main.ListKey(p))
}

func (r *rest) CreateKey(account, friendlyName string) (Key, error) {
	p := &api.CreateNewKeyParams{}
	p.SetPathAccountSid(account)
	p.SetFriendlyName(friendlyName)
	return one(func(k *api.ApiV2010NewKey) Key {
		return Key{SID: str(k.Sid), FriendlyName: str(k.FriendlyName), Secret: str(k.Secret)}
	})(r.main.CreateNewKey(p))
}

func (r *rest) DeleteKey(account, sid string) error {
	p := &api.DeleteKeyParams{}
	p.SetPathAccountSid(account)
	return r.main.DeleteKey(sid, p)
}

func (r *rest) FetchApp(account, sid string) (App, error) {
	p := &api.FetchApplicationParams{}
	p.SetPathAccountSid(account)
	return one(toApp)(r.main.FetchApplication(sid, p))
}

func (r *rest) FindApps(account, friendlyName string) ([]App, error) {
	p := &api.ListApplicationParams{}
	p.SetPathAccountSid(account)
	p.SetFriendlyName(friendlyName)
	return some(toApp, func(a App) bool { return a.FriendlyName == friendlyName })(r.main.ListApplication(p))
}

func (r *rest) CreateApp(account string, app App) (App, error) {
	p := &api.CreateApplicationParams{
		PathAccountSid: &account, FriendlyName: &app.FriendlyName,
		VoiceUrl: &app.VoiceURL, VoiceMethod: &app.VoiceMethod,
		VoiceFallbackUrl: &app.VoiceFallbackURL, VoiceFallbackMethod: &app.VoiceFallbackMethod,
		StatusCallback: &app.StatusCallback, StatusCallbackMethod: &app.StatusCallbackMethod,
	}
	return one(toApp)(r.main.CreateApplication(p))
}

// UpdateApp sets the voice and status callback fields only; the friendly
// name is left alone so an operator's renaming survives.
func (r *rest) UpdateApp(account string, app App) (App, error) {
	p := &api.UpdateApplicationParams{
		PathAccountSid: &account, VoiceUrl: &app.VoiceURL, VoiceMethod: &app.VoiceMethod,
		VoiceFallbackUrl: &app.VoiceFallbackURL, VoiceFallbackMethod: &app.VoiceFallbackMethod,
		StatusCallback: &app.StatusCallback, StatusCallbackMethod: &app.StatusCallbackMethod,
	}
	return one(toApp)(r.main.UpdateApplication(app.SID, p))
}

func (r *rest) FindNumbers(account, e164 string) ([]Number, error) {
	p := &api.ListIncomingPhoneNumberParams{}
	p.SetPathAccountSid(account)
	p.SetPhoneNumber(e164)
	// Twilio's PhoneNumber filter matches partial numbers.
	return some(toNumber, func(n Number) bool { return n.PhoneNumber == e164 })(r.main.ListIncomingPhoneNumber(p))
}

// UpdateNumber sets the voice and status callback fields and clears
// VoiceApplicationSid, which would otherwise win over VoiceUrl.
func (r *rest) UpdateNumber(account string, n Number) (Number, error) {
	p := &api.UpdateIncomingPhoneNumberParams{
		PathAccountSid: &account, VoiceUrl: &n.VoiceURL, VoiceMethod: &n.VoiceMethod,
		VoiceFallbackUrl: &n.VoiceFallbackURL, VoiceFallbackMethod: &n.VoiceFallbackMethod,
		VoiceApplicationSid: &n.VoiceApplicationSID,
		StatusCallback:      &n.StatusCallback, StatusCallbackMethod: &n.StatusCallbackMethod,
	}
	return one(toNumber)(r.main.UpdateIncomingPhoneNumber(n.SID, p))
}

func (r *rest) accountsAPI(account, authToken string) *accounts.ApiService {
	return accounts.NewApiService(r.handler(account, authToken, account))
}

func (r *rest) CreateSecondaryAuthToken(account, authToken string) (string, error) {
	t, err := r.accountsAPI(account, authToken).CreateSecondaryAuthToken(&accounts.CreateSecondaryAuthTokenParams{})
	if err != nil {
		return "", err
	}
	if str(t.SecondaryAuthToken) == "" {
		return "", errors.New("twilio returned no secondary_auth_token")
	}
	return *t.SecondaryAuthToken, nil
}

func (r *rest) PromoteSecondaryAuthToken(account, authToken string) (string, error) {
	t, err := r.accountsAPI(account, authToken).UpdateAuthTokenPromotion(&accounts.UpdateAuthTokenPromotionParams{})
	if err != nil {
		return "", err
	}
	if str(t.AuthToken) == "" {
		return "", errors.New("twilio returned no auth_token")
	}
	return *t.AuthToken, nil
}

func (r *rest) FetchAppWithKey(account, keySID, keySecret, appSID string) (App, error) {
	p := &api.FetchApplicationParams{}
	p.SetPathAccountSid(account)
	return one(toApp)(r.api(keySID, keySecret, account).FetchApplication(appSID, p))
}

func (r *rest) ListSubaccounts() ([]Account, error) {
	return some(toAccount, func(a Account) bool { return a.Owner != a.SID })(r.main.ListAccount(&api.ListAccountParams{}))
}

func (r *rest) UpdateAccountStatus(sid, status string) (Account, error) {
	p := &api.UpdateAccountParams{}
	p.SetStatus(status)
	return one(toAccount)(r.main.UpdateAccount(sid, p))
}

func (r *rest) ListNumbers(account string) ([]Number, error) {
	p := &api.ListIncomingPhoneNumberParams{}
	p.SetPathAccountSid(account)
	return some(toNumber, nil)(r.main.ListIncomingPhoneNumber(p))
}

func (r *rest) TransferNumber(account, sid, to string) (Number, error) {
	p := &api.UpdateIncomingPhoneNumberParams{}
	p.SetPathAccountSid(account)
	p.SetAccountSid(to)
	return one(toNumber)(r.main.UpdateIncomingPhoneNumber(sid, p))
}

func (r *rest) ListCalls(account, status string) ([]Call, error) {
	p := &api.ListCallParams{}
	p.SetPathAccountSid(account)
	p.SetStatus(status)
	return some(func(c *api.ApiV2010Call) Call {
		return Call{SID: str(c.Sid), From: str(c.From), To: str(c.To), Status: str(c.Status)}
	}, func(c Call) bool { return c.Status == status })(r.main.ListCall(p))
}

func (r *rest) UpdateCallStatus(account, sid, status string) error {
	p := &api.UpdateCallParams{}
	p.SetPathAccountSid(account)
	p.SetStatus(status)
	_, err := r.main.UpdateCall(sid, p)
	return err
}

// UsageRecords reads Usage Records through twilio-go's request handler
// rather than its ListUsageRecord, whose model holds price as a float32:
// seven significant digits are not enough to bill with.
func (r *rest) UsageRecords(account, category, start, end string) ([]UsageRecord, error) {
	h := r.handler(r.mainUser, r.mainPass, r.mainSID)
	q := url.Values{"Category": {category}, "StartDate": {start}, "EndDate": {end}, "PageSize": {"1000"}}
	next := recordings.DefaultTwilioAPIBase + "/2010-04-01/Accounts/" + account + "/Usage/Records.json"
	var out []UsageRecord
	for pages := 0; next != ""; pages++ {
		if pages == 100 {
			return nil, errors.New("usage records: more than 100 pages")
		}
		resp, err := h.Get(next, q, map[string]interface{}{"Content-Type": "application/x-www-form-urlencoded"}, "")
		if err != nil {
			return nil, err
		}
		var page struct {
			Records []struct {
				Category  string          `json:"category"`
				StartDate string          `json:"start_date"`
				EndDate   string          `json:"end_date"`
				Count     json.RawMessage `json:"count"`
				CountUnit string          `json:"count_unit"`
				Usage     json.RawMessage `json:"usage"`
				UsageUnit string          `json:"usage_unit"`
				Price     json.RawMessage `json:"price"`
				PriceUnit string          `json:"price_unit"`
			} `json:"usage_records"`
			NextPageURI string `json:"next_page_uri"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("usage records: %w", err)
		}
		for _, u := range page.Records {
			out = append(out, UsageRecord{
				Category: u.Category, StartDate: u.StartDate, EndDate: u.EndDate,
				Count: jsonDecimal(u.Count), CountUnit: u.CountUnit,
				Usage: jsonDecimal(u.Usage), UsageUnit: u.UsageUnit,
				Price: jsonDecimal(u.Price), PriceUnit: u.PriceUnit,
			})
		}
		next, q = "", nil
		if page.NextPageURI != "" {
			next = recordings.DefaultTwilioAPIBase + page.NextPageURI
		}
	}
	return out, nil
}

// jsonDecimal returns a JSON number or string as its exact text ("" for
// null or anything else).
func jsonDecimal(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func (r *rest) voiceAPI(account, authToken string) *voice.ApiService {
	return voice.NewApiService(r.handler(account, authToken, account))
}

func (r *rest) DialingInheritance(account, authToken string) (bool, error) {
	s, err := r.voiceAPI(account, authToken).FetchDialingPermissionsSettings()
	if err != nil {
		return false, err
	}
	return s.DialingPermissionsInheritance != nil && *s.DialingPermissionsInheritance, nil
}

func (r *rest) SetDialingInheritance(account, authToken string, inherit bool) (bool, error) {
	p := &voice.UpdateDialingPermissionsSettingsParams{}
	p.SetDialingPermissionsInheritance(inherit)
	s, err := r.voiceAPI(account, authToken).UpdateDialingPermissionsSettings(p)
	if err != nil {
		return false, err
	}
	return s.DialingPermissionsInheritance != nil && *s.DialingPermissionsInheritance, nil
}

func (r *rest) DialingCountry(account, authToken, iso string) (Country, error) {
	c, err := r.voiceAPI(account, authToken).FetchDialingPermissionsCountry(iso)
	if err != nil {
		return Country{}, err
	}
	return Country{ISO: str(c.IsoCode), Name: str(c.Name), LowRisk: c.LowRiskNumbersEnabled != nil && *c.LowRiskNumbersEnabled}, nil
}

// restError returns err's Twilio error, nil for another error.
func restError(err error) *twclient.TwilioRestError {
	var te *twclient.TwilioRestError
	errors.As(err, &te)
	return te
}

// isNotFound reports whether err is Twilio's 404.
func isNotFound(err error) bool {
	te := restError(err)
	return te != nil && te.Status == http.StatusNotFound
}

// hasCode reports whether err is a Twilio error with code.
func hasCode(err error, code int) bool { te := restError(err); return te != nil && te.Code == code }

// isUnauthorized reports whether err is Twilio's 401 or 403 (bad credentials).
func isUnauthorized(err error) bool {
	te := restError(err)
	return te != nil && (te.Status == http.StatusUnauthorized || te.Status == http.StatusForbidden)
}

// Describe renders err for a person: Twilio's code, HTTP status and message
// when it is a Twilio error (twilio-go's own text adds a details map), else
// err's text. Neither carries credentials.
func Describe(err error) string {
	if te := restError(err); te != nil {
		s := fmt.Sprintf("Twilio error %d (HTTP %d): %s", te.Code, te.Status, te.Message)
		if te.MoreInfo != "" {
			s += " (" + te.MoreInfo + ")"
		}
		return s
	}
	return err.Error()
}
