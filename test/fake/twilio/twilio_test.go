package twilio_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"bubble-twilio-voice/test/fake/twilio"
)

func do(t *testing.T, s *twilio.Server, method, path, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	var body *strings.Reader
	target := s.URL() + path
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
		if form != nil {
			target += "?" + form.Encode()
		}
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestWire(t *testing.T) {
	s := twilio.Start(t)
	mainSID, mainToken := s.Main()
	sub := s.AddSubaccount("acme")
	other := s.AddSubaccount("other")
	std := s.AddKey(sub.SID, "std", false)
	for i := 0; i < 3; i++ {
		s.AddApp(sub.SID, twilio.App{FriendlyName: "app"})
	}
	keysPath := "/2010-04-01/Accounts/" + sub.SID + "/Keys.json"
	appsPath := "/2010-04-01/Accounts/" + sub.SID + "/Applications.json"

	for _, tc := range []struct {
		name       string
		method     string
		path       string
		user, pass string
		form       url.Values
		wantStatus int
		check      func(t *testing.T, body map[string]any)
	}{
		{"no auth", "GET", keysPath, "", "", nil, 401, func(t *testing.T, b map[string]any) {
			if b["code"] != 20003.0 || b["status"] != 401.0 || b["more_info"] != "https://www.twilio.com/docs/errors/20003" || b["message"] == "" {
				t.Errorf("error body %v", b)
			}
		}},
		{"wrong token", "GET", keysPath, mainSID, "nope", nil, 401, nil},
		{"main lists sub keys", "GET", keysPath, mainSID, mainToken, nil, 200, func(t *testing.T, b map[string]any) {
			if keys := b["keys"].([]any); len(keys) != 1 || keys[0].(map[string]any)["secret"] != nil {
				t.Errorf("keys %v (a listed key must not carry its secret)", keys)
			}
		}},
		{"standard key cannot use Keys", "GET", keysPath, std.SID, std.Secret, nil, 401, nil},
		{"standard key reads apps", "GET", appsPath, std.SID, std.Secret, nil, 200, nil},
		{"sub cannot see a sibling", "GET", "/2010-04-01/Accounts/" + other.SID + "/Applications.json", sub.SID, sub.AuthToken, nil, 404, func(t *testing.T, b map[string]any) {
			if b["code"] != 20404.0 {
				t.Errorf("error body %v", b)
			}
		}},
		{"paging", "GET", appsPath, mainSID, mainToken, url.Values{"PageSize": {"2"}}, 200, func(t *testing.T, b map[string]any) {
			if len(b["applications"].([]any)) != 2 || b["page_size"] != 2.0 || b["page"] != 0.0 || b["previous_page_uri"] != nil ||
				!strings.Contains(b["next_page_uri"].(string), "Page=1") || !strings.HasPrefix(b["next_page_uri"].(string), appsPath+"?") {
				t.Errorf("page %v", b)
			}
		}},
		{"last page", "GET", appsPath, mainSID, mainToken, url.Values{"PageSize": {"2"}, "Page": {"1"}}, 200, func(t *testing.T, b map[string]any) {
			if len(b["applications"].([]any)) != 1 || b["next_page_uri"] != nil {
				t.Errorf("page %v", b)
			}
		}},
		{"create key shows secret once", "POST", keysPath, mainSID, mainToken, url.Values{"FriendlyName": {"k"}}, 201, func(t *testing.T, b map[string]any) {
			if s, _ := b["secret"].(string); len(s) != 32 || !strings.HasPrefix(b["sid"].(string), "SK") {
				t.Errorf("new key %v", b)
			}
		}},
		{"promote without secondary", "POST", "/v1/AuthTokens/Promote", sub.SID, sub.AuthToken, url.Values{}, 404, nil},
		{"unknown route", "GET", "/2010-04-01/Nope.json", mainSID, mainToken, nil, 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, s, tc.method, tc.path, tc.user, tc.pass, tc.form)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d (%v)", status, tc.wantStatus, body)
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}
	if s.Calls(twilio.RouteListKeys) != 4 || s.Calls(twilio.RouteCreateKey) != 1 || s.Writes() != 2 {
		t.Errorf("calls: list keys %d, create key %d, writes %d", s.Calls(twilio.RouteListKeys), s.Calls(twilio.RouteCreateKey), s.Writes())
	}
}

func TestSecondaryAuthToken(t *testing.T) {
	s := twilio.Start(t)
	sub := s.AddSubaccount("acme")
	status, b := do(t, s, "POST", "/v1/AuthTokens/Secondary", sub.SID, sub.AuthToken, url.Values{})
	secondary, _ := b["secondary_auth_token"].(string)
	if status != 201 || secondary == "" || b["account_sid"] != sub.SID {
		t.Fatalf("create secondary: %d %v", status, b)
	}
	// Both tokens authenticate until promotion; then only the new one.
	for _, tok := range []string{sub.AuthToken, secondary} {
		if st, _ := do(t, s, "GET", "/2010-04-01/Accounts/"+sub.SID+".json", sub.SID, tok, nil); st != 200 {
			t.Errorf("token rejected before promotion: %d", st)
		}
	}
	status, b = do(t, s, "POST", "/v1/AuthTokens/Promote", sub.SID, secondary, url.Values{})
	if status != 200 || b["auth_token"] != secondary {
		t.Fatalf("promote: %d %v", status, b)
	}
	if st, _ := do(t, s, "GET", "/2010-04-01/Accounts/"+sub.SID+".json", sub.SID, sub.AuthToken, nil); st != 401 {
		t.Errorf("old token still works after promotion: %d", st)
	}
}

func TestFault(t *testing.T) {
	s := twilio.Start(t)
	mainSID, mainToken := s.Main()
	s.SetFault(func(route string, _ *http.Request) twilio.Fault {
		if route == twilio.RouteCreateAccount {
			return twilio.Error(400, 21452, "No more subaccounts allowed")
		}
		return twilio.Fault{}
	})
	status, b := do(t, s, "POST", "/2010-04-01/Accounts.json", mainSID, mainToken, url.Values{"FriendlyName": {"x"}})
	if status != 400 || b["code"] != 21452.0 || len(s.Subaccounts()) != 0 {
		t.Errorf("fault: %d %v", status, b)
	}
	if status, _ := do(t, s, "GET", "/2010-04-01/Accounts.json", mainSID, mainToken, nil); status != 200 {
		t.Errorf("other routes faulted: %d", status)
	}
}

func TestAccountStatus(t *testing.T) {
	s := twilio.Start(t)
	mainSID, mainToken := s.Main()
	sub := s.AddSubaccount("acme")
	s.AddNumber(sub.SID, "+14155550100")
	path := "/2010-04-01/Accounts/" + sub.SID + ".json"

	if st, b := do(t, s, "POST", path, mainSID, mainToken, url.Values{"Status": {"suspended"}}); st != 200 || b["status"] != "suspended" {
		t.Fatalf("suspend: %d %v", st, b)
	}
	// A suspended account's own credentials stop working; its owner's work.
	if st, b := do(t, s, "GET", path, sub.SID, sub.AuthToken, nil); st != 401 || b["code"] != 20005.0 {
		t.Errorf("suspended account's own request: %d %v", st, b)
	}
	if st, _ := do(t, s, "POST", path, sub.SID, sub.AuthToken, url.Values{"Status": {"active"}}); st != 401 {
		t.Errorf("a suspended account reactivated itself: %d", st)
	}
	if st, b := do(t, s, "POST", path, mainSID, mainToken, url.Values{"Status": {"bogus"}}); st != 400 {
		t.Errorf("bogus status: %d %v", st, b)
	}
	if st, _ := do(t, s, "POST", path, mainSID, mainToken, url.Values{"Status": {"closed"}}); st != 200 || len(s.Numbers(sub.SID)) != 0 {
		t.Errorf("close: %d, %d numbers left (Twilio releases them)", st, len(s.Numbers(sub.SID)))
	}
	if st, _ := do(t, s, "POST", path, mainSID, mainToken, url.Values{"Status": {"active"}}); st != 400 {
		t.Errorf("a closed account was reopened: %d", st)
	}
	if st, _ := do(t, s, "POST", "/2010-04-01/Accounts/"+mainSID+".json", mainSID, mainToken, url.Values{"Status": {"suspended"}}); st != 400 {
		t.Errorf("the main account suspended itself: %d", st)
	}
}

func TestCalls(t *testing.T) {
	s := twilio.Start(t)
	mainSID, mainToken := s.Main()
	sub := s.AddSubaccount("acme")
	live := s.AddCall(sub.SID, "+15550001", "+14155550100", "in-progress")
	ringing := s.AddCall(sub.SID, "+15550002", "+14155550100", "ringing")
	done := s.AddCall(sub.SID, "+15550003", "+14155550100", "completed")
	calls := "/2010-04-01/Accounts/" + sub.SID + "/Calls"

	st, b := do(t, s, "GET", calls+".json", mainSID, mainToken, url.Values{"Status": {"in-progress"}})
	if list := b["calls"].([]any); st != 200 || len(list) != 1 || list[0].(map[string]any)["sid"] != live.SID {
		t.Errorf("list in-progress: %d %v", st, b)
	}
	for _, tc := range []struct {
		sid, status string
		want        int
		code        float64
		after       string
	}{
		{ringing.SID, "canceled", 200, 0, "canceled"},
		{live.SID, "completed", 200, 0, "completed"},
		{live.SID, "completed", 400, 21220, "completed"}, // already ended
		{done.SID, "canceled", 400, 21220, "completed"},
	} {
		st, b := do(t, s, "POST", calls+"/"+tc.sid+".json", mainSID, mainToken, url.Values{"Status": {tc.status}})
		if st != tc.want || (tc.code != 0 && b["code"] != tc.code) {
			t.Errorf("%s -> %s: %d %v", tc.sid, tc.status, st, b)
		}
	}
	for _, c := range s.CallsOf(sub.SID) {
		if c.Status == "in-progress" || c.Status == "ringing" {
			t.Errorf("call %s still %s", c.SID, c.Status)
		}
	}
}

func TestTransferNumber(t *testing.T) {
	s := twilio.Start(t)
	mainSID, mainToken := s.Main()
	a := s.AddSubaccount("a")
	b := s.AddSubaccount("b")
	n := s.AddNumber(a.SID, "+14155550100")
	n.VoiceURL, n.StatusCallback = "https://a.example.com/incoming", "https://a.example.com/events/call-status"
	s.SetNumber(a.SID, n)
	path := "/2010-04-01/Accounts/" + a.SID + "/IncomingPhoneNumbers/" + n.SID + ".json"

	if st, b := do(t, s, "POST", path, a.SID, a.AuthToken, url.Values{"AccountSid": {b.SID}}); st != 403 || b["code"] != 21474.0 {
		t.Errorf("a subaccount transferred a number: %d %v", st, b)
	}
	other := twilio.NewSID("AC")
	if st, body := do(t, s, "POST", path, mainSID, mainToken, url.Values{"AccountSid": {other}}); st != 400 || body["code"] != 21473.0 {
		t.Errorf("transfer to an unrelated account: %d %v", st, body)
	}
	st, body := do(t, s, "POST", path, mainSID, mainToken, url.Values{"AccountSid": {b.SID}})
	if st != 200 || body["account_sid"] != b.SID || body["voice_url"] != "" || body["status_callback"] != "" {
		t.Fatalf("transfer: %d %v", st, body)
	}
	if len(s.Numbers(a.SID)) != 0 || len(s.Numbers(b.SID)) != 1 {
		t.Errorf("numbers: a %d, b %d", len(s.Numbers(a.SID)), len(s.Numbers(b.SID)))
	}
	// To the parent and back.
	back := "/2010-04-01/Accounts/" + b.SID + "/IncomingPhoneNumbers/" + n.SID + ".json"
	if st, _ := do(t, s, "POST", back, mainSID, mainToken, url.Values{"AccountSid": {mainSID}}); st != 200 || len(s.Numbers(mainSID)) != 1 {
		t.Errorf("transfer to the parent: %d", st)
	}
}

func TestUsageRecords(t *testing.T) {
	s := twilio.Start(t)
	mainSID, mainToken := s.Main()
	sub := s.AddSubaccount("acme")
	s.AddUsage(sub.SID,
		twilio.Usage{Date: "2026-01-05", Category: "calls", Count: 10, Usage: 42, Price: "3.15"},
		twilio.Usage{Date: "2026-01-31", Category: "calls", Count: 1, Usage: 1, Price: "0.0085"},
		twilio.Usage{Date: "2026-02-01", Category: "calls", Count: 7, Usage: 7, Price: "1"},
		twilio.Usage{Date: "2026-01-02", Category: "phonenumbers", Count: 1, Usage: 1, Price: "1.15"},
	)
	path := "/2010-04-01/Accounts/" + sub.SID + "/Usage/Records.json"
	get := func(q url.Values) map[string]any {
		t.Helper()
		st, b := do(t, s, "GET", path, mainSID, mainToken, q)
		if st != 200 {
			t.Fatalf("usage: %d %v", st, b)
		}
		recs := b["usage_records"].([]any)
		if len(recs) != 1 {
			t.Fatalf("usage %v: %d records", q, len(recs))
		}
		return recs[0].(map[string]any)
	}
	jan := url.Values{"StartDate": {"2026-01-01"}, "EndDate": {"2026-01-31"}}
	q := url.Values{"Category": {"calls"}}
	for k, v := range jan {
		q[k] = v
	}
	if r := get(q); r["count"] != "11" || r["usage"] != "43" || r["price"] != "3.1585" || r["usage_unit"] != "minutes" || r["start_date"] != "2026-01-01" {
		t.Errorf("calls in January: %v", r)
	}
	q.Set("Category", "totalprice")
	if r := get(q); r["price"] != "4.3085" {
		t.Errorf("total price in January: %v", r)
	}
	q.Set("Category", "recordings")
	if r := get(q); r["count"] != "0" || r["price"] != "0.00" {
		t.Errorf("a category without usage: %v", r)
	}
}

func TestDialingPermissions(t *testing.T) {
	s := twilio.Start(t)
	mainSID, _ := s.Main()
	sub := s.AddSubaccount("acme")
	s.SetDialingPermission(mainSID, "US", true)
	s.SetDialingPermission(sub.SID, "GB", true)
	country := func(iso string) any {
		t.Helper()
		st, b := do(t, s, "GET", "/v1/DialingPermissions/Countries/"+iso, sub.SID, sub.AuthToken, nil)
		if st != 200 {
			t.Fatalf("country %s: %d %v", iso, st, b)
		}
		return b["low_risk_numbers_enabled"]
	}
	if st, b := do(t, s, "GET", "/v1/Settings", sub.SID, sub.AuthToken, nil); st != 200 || b["dialing_permissions_inheritance"] != true {
		t.Errorf("settings: %d %v", st, b)
	}
	if country("US") != true || country("GB") != false {
		t.Errorf("an inheriting subaccount must report the main account's permissions")
	}
	if st, b := do(t, s, "POST", "/v1/Settings", sub.SID, sub.AuthToken, url.Values{"DialingPermissionsInheritance": {"false"}}); st != 202 || b["dialing_permissions_inheritance"] != false {
		t.Errorf("update: %d %v", st, b)
	}
	if s.DialingInheritance(sub.SID) || country("US") != false || country("GB") != true {
		t.Errorf("a subaccount that does not inherit must report its own permissions")
	}
	if st, _ := do(t, s, "GET", "/v1/DialingPermissions/Countries/usa", sub.SID, sub.AuthToken, nil); st != 404 {
		t.Errorf("bad ISO code: %d", st)
	}
}
