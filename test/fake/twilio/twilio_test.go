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
