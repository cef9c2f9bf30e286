package twilio

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// request is one parsed call: its route, the SIDs in its path, its form or
// query values and the authenticated principal.
type request struct {
	route             string
	accountSID, child string // path SIDs; child is the key/app/number SID
	form              url.Values
	path              string
	principal         *account
	key               *Key // the API key used, nil with an auth token
}

// serveHTTP is the whole protocol: route, authenticate, count, fault, run.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	route, acct, child, ok := parseRoute(r.Method, r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	s.mu.Lock()
	s.calls[route]++
	s.log = append(s.log, route)
	fault := s.fault
	s.mu.Unlock()

	if r.Method == http.MethodPost {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			writeError(w, http.StatusBadRequest, 20001, "Content-Type must be application/x-www-form-urlencoded")
			return
		}
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Malformed request")
		return
	}
	form := r.Form // query for GET and DELETE, body (and query) for POST

	s.mu.Lock()
	principal, key := s.authenticate(r)
	s.mu.Unlock()
	if principal == nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}

	if fault != nil {
		if f := fault(route, r); f.Status != 0 {
			code := f.Code
			if code == 0 {
				code = 20500
			}
			msg := f.Message
			if msg == "" {
				msg = http.StatusText(f.Status)
			}
			writeError(w, f.Status, code, msg)
			return
		}
	}

	req := &request{route: route, accountSID: acct, child: child, form: form, path: r.URL.Path, principal: principal, key: key}
	s.mu.Lock()
	status, body := s.run(req)
	s.mu.Unlock()
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

// parseRoute names the route of method+path and extracts its SIDs.
func parseRoute(method, path string) (route, acct, child string, ok bool) {
	if strings.HasPrefix(path, "/v1/AuthTokens/") {
		switch method + " " + path {
		case RouteCreateSecondary, RoutePromoteSecondary:
			return method + " " + path, "", "", true
		}
		return "", "", "", false
	}
	rest, found := strings.CutPrefix(path, "/2010-04-01/Accounts")
	if !found {
		return "", "", "", false
	}
	if rest == ".json" {
		switch method {
		case http.MethodGet:
			return RouteListAccounts, "", "", true
		case http.MethodPost:
			return RouteCreateAccount, "", "", true
		}
		return "", "", "", false
	}
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	if len(parts) == 1 {
		if sid, ok := strings.CutSuffix(parts[0], ".json"); ok && method == http.MethodGet {
			return RouteFetchAccount, sid, "", true
		}
		return "", "", "", false
	}
	acct = parts[0]
	var collection, item string
	switch len(parts) {
	case 2:
		collection, found = strings.CutSuffix(parts[1], ".json")
	case 3:
		collection = parts[1]
		item, found = strings.CutSuffix(parts[2], ".json")
	}
	if !found {
		return "", "", "", false
	}
	type key struct{ method, collection string }
	list := map[key]string{
		{"GET", "Keys"}: RouteListKeys, {"POST", "Keys"}: RouteCreateKey,
		{"GET", "Applications"}: RouteListApps, {"POST", "Applications"}: RouteCreateApp,
		{"GET", "IncomingPhoneNumbers"}: RouteListNumbers,
	}
	one := map[key]string{
		{"DELETE", "Keys"}:      RouteDeleteKey,
		{"GET", "Applications"}: RouteFetchApp, {"POST", "Applications"}: RouteUpdateApp,
		{"POST", "IncomingPhoneNumbers"}: RouteUpdateNumber,
	}
	if item == "" {
		route = list[key{method, collection}]
	} else {
		route = one[key{method, collection}]
	}
	return route, acct, item, route != ""
}

// authenticate resolves HTTP Basic credentials: an account SID with its
// primary or secondary auth token, or an API key SID with its secret. The
// caller holds mu.
func (s *Server) authenticate(r *http.Request) (*account, *Key) {
	user, pass, ok := r.BasicAuth()
	if !ok || pass == "" {
		return nil, nil
	}
	for _, a := range s.accounts {
		if user == a.SID && (pass == a.AuthToken || (a.Secondary != "" && pass == a.Secondary)) {
			return a, nil
		}
		for _, k := range a.keys {
			if user == k.SID && pass == k.Secret {
				return a, k
			}
		}
	}
	return nil, nil
}

// allowed reports whether the principal may use target's 2010 resources:
// its own, or its subaccounts' when it is their owner.
func allowed(req *request, target *account) bool {
	return target.SID == req.principal.SID || target.Owner == req.principal.SID
}

// run executes req; the caller holds mu.
func (s *Server) run(req *request) (int, any) {
	notFound := func() (int, any) {
		return http.StatusNotFound, twilioError(http.StatusNotFound, 20404, "The requested resource "+req.path+" was not found")
	}
	// Standard API keys cannot use the Accounts and Keys resources.
	if req.key != nil && !req.key.Main {
		switch req.route {
		case RouteListAccounts, RouteCreateAccount, RouteFetchAccount, RouteListKeys, RouteCreateKey, RouteDeleteKey:
			return http.StatusUnauthorized, twilioError(http.StatusUnauthorized, 20003, "Authenticate")
		}
	}
	switch req.route {
	case RouteCreateSecondary, RoutePromoteSecondary:
		return s.authTokens(req)
	case RouteListAccounts:
		var items []any
		for _, a := range s.accounts {
			if !allowed(req, a) {
				continue
			}
			if fn := req.form.Get("FriendlyName"); fn != "" && a.FriendlyName != fn {
				continue
			}
			items = append(items, accountJSON(a))
		}
		return s.page(req, "accounts", items)
	case RouteCreateAccount:
		return http.StatusCreated, accountJSON(s.addSub(req.form.Get("FriendlyName")))
	}

	target := s.find(req.accountSID)
	if target == nil || !allowed(req, target) {
		return notFound()
	}
	switch req.route {
	case RouteFetchAccount:
		return http.StatusOK, accountJSON(target)
	case RouteListKeys:
		var items []any
		for _, k := range target.keys {
			items = append(items, keyJSON(k, false))
		}
		return s.page(req, "keys", items)
	case RouteCreateKey:
		k := &Key{SID: NewSID("SK"), FriendlyName: req.form.Get("FriendlyName"), Secret: randomAlnum(32)}
		target.keys = append(target.keys, k)
		return http.StatusCreated, keyJSON(k, true)
	case RouteDeleteKey:
		for i, k := range target.keys {
			if k.SID == req.child {
				target.keys = append(target.keys[:i], target.keys[i+1:]...)
				return http.StatusNoContent, nil
			}
		}
		return notFound()
	case RouteListApps:
		var items []any
		for _, p := range target.apps {
			if fn := req.form.Get("FriendlyName"); fn != "" && p.FriendlyName != fn {
				continue
			}
			items = append(items, appJSON(target.SID, p))
		}
		return s.page(req, "applications", items)
	case RouteCreateApp:
		p := &App{SID: NewSID("AP"), VoiceMethod: "POST", VoiceFallbackMethod: "POST"}
		applyApp(p, req.form)
		target.apps = append(target.apps, p)
		return http.StatusCreated, appJSON(target.SID, p)
	case RouteFetchApp, RouteUpdateApp:
		for _, p := range target.apps {
			if p.SID == req.child {
				if req.route == RouteUpdateApp {
					applyApp(p, req.form)
				}
				return http.StatusOK, appJSON(target.SID, p)
			}
		}
		return notFound()
	case RouteListNumbers:
		var items []any
		for _, n := range target.numbers {
			// Twilio matches a prefix of the number; exact is enough here.
			if pn := req.form.Get("PhoneNumber"); pn != "" && !strings.Contains(n.PhoneNumber, pn) {
				continue
			}
			items = append(items, numberJSON(target.SID, n))
		}
		return s.page(req, "incoming_phone_numbers", items)
	case RouteUpdateNumber:
		for _, n := range target.numbers {
			if n.SID == req.child {
				applyNumber(n, req.form)
				return http.StatusOK, numberJSON(target.SID, n)
			}
		}
		return notFound()
	}
	return notFound()
}

// authTokens serves accounts/v1 AuthTokens, which act on the account whose
// credentials authenticate the request.
func (s *Server) authTokens(req *request) (int, any) {
	a := req.principal
	if req.route == RouteCreateSecondary {
		a.Secondary = randomHex(16)
		return http.StatusCreated, map[string]any{
			"account_sid": a.SID, "secondary_auth_token": a.Secondary,
			"url": "https://accounts.twilio.com/v1/AuthTokens/Secondary",
		}
	}
	if a.Secondary == "" {
		return http.StatusNotFound, twilioError(http.StatusNotFound, 20404, "The requested resource /AuthTokens/Promote was not found")
	}
	a.AuthToken, a.Secondary = a.Secondary, ""
	return http.StatusOK, map[string]any{
		"account_sid": a.SID, "auth_token": a.AuthToken,
		"url": "https://accounts.twilio.com/v1/AuthTokens/Promote",
	}
}

// page answers one page of items with Twilio's paging fields. The caller
// holds mu.
func (s *Server) page(req *request, listKey string, items []any) (int, any) {
	size := 50
	if v, err := strconv.Atoi(req.form.Get("PageSize")); err == nil && v > 0 {
		size = v
	}
	size = min(size, s.maxPage)
	pageNo, _ := strconv.Atoi(req.form.Get("Page"))
	if pageNo < 0 {
		pageNo = 0
	}
	start := min(pageNo*size, len(items))
	end := min(start+size, len(items))
	if items == nil {
		items = []any{}
	}
	uri := func(p int) string {
		q := url.Values{}
		for k, v := range req.form {
			if k != "Page" && k != "PageToken" && k != "PageSize" {
				q[k] = v
			}
		}
		q.Set("PageSize", strconv.Itoa(size))
		q.Set("Page", strconv.Itoa(p))
		return req.path + "?" + q.Encode()
	}
	var next, prev any
	if end < len(items) {
		next = uri(pageNo + 1)
	}
	if pageNo > 0 {
		prev = uri(pageNo - 1)
	}
	body := map[string]any{
		listKey:             items[start:end],
		"page":              pageNo,
		"page_size":         size,
		"start":             start,
		"end":               max(end-1, start),
		"uri":               uri(pageNo),
		"first_page_uri":    uri(0),
		"next_page_uri":     next,
		"previous_page_uri": prev,
	}
	return http.StatusOK, body
}

func applyApp(p *App, form url.Values) {
	set := func(dst *string, name string) {
		if v, ok := form[name]; ok {
			*dst = v[0]
		}
	}
	set(&p.FriendlyName, "FriendlyName")
	set(&p.VoiceURL, "VoiceUrl")
	set(&p.VoiceMethod, "VoiceMethod")
	set(&p.VoiceFallbackURL, "VoiceFallbackUrl")
	set(&p.VoiceFallbackMethod, "VoiceFallbackMethod")
}

func applyNumber(n *Number, form url.Values) {
	set := func(dst *string, name string) {
		if v, ok := form[name]; ok {
			*dst = v[0]
		}
	}
	set(&n.VoiceURL, "VoiceUrl")
	set(&n.VoiceMethod, "VoiceMethod")
	set(&n.VoiceFallbackURL, "VoiceFallbackUrl")
	set(&n.VoiceFallbackMethod, "VoiceFallbackMethod")
	set(&n.VoiceApplicationSID, "VoiceApplicationSid")
}

func accountJSON(a *account) map[string]any {
	base := "/2010-04-01/Accounts/" + a.SID
	return map[string]any{
		"sid": a.SID, "friendly_name": a.FriendlyName, "owner_account_sid": a.Owner,
		"status": a.Status, "auth_token": a.AuthToken, "type": "Full",
		"uri": base + ".json",
		"subresource_uris": map[string]string{
			"keys":                   base + "/Keys.json",
			"applications":           base + "/Applications.json",
			"incoming_phone_numbers": base + "/IncomingPhoneNumbers.json",
		},
	}
}

func keyJSON(k *Key, withSecret bool) map[string]any {
	m := map[string]any{"sid": k.SID, "friendly_name": k.FriendlyName}
	if withSecret {
		m["secret"] = k.Secret
	}
	return m
}

func appJSON(acct string, p *App) map[string]any {
	return map[string]any{
		"sid": p.SID, "account_sid": acct, "friendly_name": p.FriendlyName, "api_version": "2010-04-01",
		"voice_url": p.VoiceURL, "voice_method": p.VoiceMethod,
		"voice_fallback_url": p.VoiceFallbackURL, "voice_fallback_method": p.VoiceFallbackMethod,
		"voice_caller_id_lookup": false,
		"uri":                    "/2010-04-01/Accounts/" + acct + "/Applications/" + p.SID + ".json",
	}
}

func numberJSON(acct string, n *Number) map[string]any {
	return map[string]any{
		"sid": n.SID, "account_sid": acct, "phone_number": n.PhoneNumber, "friendly_name": n.PhoneNumber,
		"api_version": "2010-04-01", "status": "in-use", "origin": "twilio",
		"voice_url": n.VoiceURL, "voice_method": n.VoiceMethod,
		"voice_fallback_url": n.VoiceFallbackURL, "voice_fallback_method": n.VoiceFallbackMethod,
		"voice_application_sid": n.VoiceApplicationSID,
		"capabilities":          map[string]bool{"voice": true, "sms": true, "mms": true, "fax": false},
		"uri":                   "/2010-04-01/Accounts/" + acct + "/IncomingPhoneNumbers/" + n.SID + ".json",
	}
}

func twilioError(status, code int, message string) map[string]any {
	return map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	}
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, twilioError(status, code, message))
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
