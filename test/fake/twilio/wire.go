package twilio

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"sort"
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
	s.mu.Lock()
	active := principal.Status == "active"
	s.mu.Unlock()
	if !active {
		// A suspended or closed account cannot use its own credentials;
		// its owner still manages it with the owner's.
		writeError(w, http.StatusUnauthorized, 20005, "Account not active")
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
	s.flush() // the webhooks the request caused, before it answers (voice.go)
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

// parseRoute names the route of method+path and extracts its SIDs.
func parseRoute(method, path string) (route, acct, child string, ok bool) {
	if strings.HasPrefix(path, "/v1/") {
		switch method + " " + path {
		case RouteCreateSecondary, RoutePromoteSecondary, RouteFetchDialingSettings, RouteUpdateDialingSetting:
			return method + " " + path, "", "", true
		}
		if iso, ok := strings.CutPrefix(path, "/v1/DialingPermissions/Countries/"); ok && method == http.MethodGet && iso != "" && !strings.Contains(iso, "/") {
			return RouteFetchDialingCountry, "", iso, true
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
		sid, ok := strings.CutSuffix(parts[0], ".json")
		switch {
		case ok && method == http.MethodGet:
			return RouteFetchAccount, sid, "", true
		case ok && method == http.MethodPost:
			return RouteUpdateAccount, sid, "", true
		}
		return "", "", "", false
	}
	acct = parts[0]
	if len(parts) >= 2 && strings.HasPrefix(parts[1], "Conferences") {
		return conferenceRoute(method, parts)
	}
	if len(parts) == 3 && parts[1] == "Usage" && parts[2] == "Records.json" && method == http.MethodGet {
		return RouteListUsage, acct, "", true
	}
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
		{"GET", "Calls"}:                RouteListCalls,
	}
	one := map[key]string{
		{"DELETE", "Keys"}:      RouteDeleteKey,
		{"GET", "Applications"}: RouteFetchApp, {"POST", "Applications"}: RouteUpdateApp,
		{"POST", "IncomingPhoneNumbers"}: RouteUpdateNumber,
		{"POST", "Calls"}:                RouteUpdateCall,
		{"GET", "Calls"}:                 RouteFetchCall,
	}
	if item == "" {
		route = list[key{method, collection}]
	} else {
		route = one[key{method, collection}]
	}
	return route, acct, item, route != ""
}

// conferenceRoute names a Conferences or Participants route; child is
// "{ConferenceSid}/{CallSid or label}".
func conferenceRoute(method string, parts []string) (route, acct, child string, ok bool) {
	acct = parts[0]
	switch {
	case len(parts) == 2 && parts[1] == "Conferences.json" && method == http.MethodGet:
		return RouteListConferences, acct, "", true
	case len(parts) == 4 && parts[3] == "Participants.json":
		switch method {
		case http.MethodGet:
			return RouteListParticipants, acct, parts[2], true
		case http.MethodPost:
			return RouteCreateParticipant, acct, parts[2], true
		}
	case len(parts) == 5 && parts[3] == "Participants":
		who, found := strings.CutSuffix(parts[4], ".json")
		if !found {
			return "", "", "", false
		}
		child = parts[2] + "/" + who
		switch method {
		case http.MethodGet:
			return RouteFetchParticipant, acct, child, true
		case http.MethodPost:
			return RouteUpdateParticipant, acct, child, true
		case http.MethodDelete:
			return RouteDeleteParticipant, acct, child, true
		}
	}
	return "", "", "", false
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
	case RouteFetchDialingSettings, RouteUpdateDialingSetting, RouteFetchDialingCountry:
		return s.dialingPermissions(req)
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
	case RouteUpdateAccount:
		return s.updateAccount(req, target)
	case RouteListCalls:
		var items []any
		for _, c := range target.calls {
			if st := req.form.Get("Status"); st != "" && c.Status != st {
				continue
			}
			if p := req.form.Get("ParentCallSid"); p != "" && c.ParentCallSID != p {
				continue
			}
			items = append(items, callJSON(target.SID, c))
		}
		return s.page(req, "calls", items)
	case RouteUpdateCall:
		for _, c := range target.calls {
			if c.SID == req.child {
				return s.updateCall(req, target, c)
			}
		}
		return notFound()
	case RouteListUsage:
		return s.page(req, "usage_records", usageRecords(target, req.form))
	case RouteFetchCall, RouteListConferences, RouteListParticipants, RouteCreateParticipant,
		RouteFetchParticipant, RouteUpdateParticipant, RouteDeleteParticipant:
		return s.voiceRoute(req, target)
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
		for i, n := range target.numbers {
			if n.SID != req.child {
				continue
			}
			if to := req.form.Get("AccountSid"); to != "" && to != target.SID {
				return s.transferNumber(req, target, i, to)
			}
			applyNumber(n, req.form)
			return http.StatusOK, numberJSON(target.SID, n)
		}
		return notFound()
	}
	return notFound()
}

// updateAccount changes an account's status (and name). Closing releases
// its numbers; a closed account cannot be changed again.
func (s *Server) updateAccount(req *request, target *account) (int, any) {
	if target.Status == "closed" {
		return http.StatusBadRequest, twilioError(http.StatusBadRequest, 20001, "A closed account cannot be updated")
	}
	if target.SID == req.principal.SID && req.form.Get("Status") != "" {
		return http.StatusBadRequest, twilioError(http.StatusBadRequest, 20001, "An account cannot change its own status")
	}
	if fn, ok := req.form["FriendlyName"]; ok {
		target.FriendlyName = fn[0]
	}
	switch st := req.form.Get("Status"); st {
	case "":
	case "active", "suspended":
		target.Status = st
	case "closed":
		target.Status = st
		target.numbers = nil // Twilio releases a closed account's numbers
	default:
		return http.StatusBadRequest, twilioError(http.StatusBadRequest, 20001, "Status must be active, suspended or closed")
	}
	return http.StatusOK, accountJSON(target)
}

// transferNumber moves number i of from to the account to, as the REST
// API's AccountSid parameter does. Only the parent may transfer, and only
// between related accounts (parent and child, or siblings). The number
// arrives without its voice configuration: the fake models the issue's
// "Twilio keeps neither the webhooks nor routing" by clearing them.
func (s *Server) transferNumber(req *request, from *account, i int, toSID string) (int, any) {
	to := s.find(toSID)
	if req.principal.SID != s.accounts[0].SID {
		return http.StatusForbidden, twilioError(http.StatusForbidden, 21474, "API User must be the parent account to transfer phone numbers.")
	}
	if to == nil || !(to.Owner == from.Owner || to.SID == from.Owner || from.SID == to.Owner) {
		return http.StatusBadRequest, twilioError(http.StatusBadRequest, 21473, "AccountSid you are transferring to is not related to the originating owner of the phone number")
	}
	if to.Status == "closed" {
		return http.StatusBadRequest, twilioError(http.StatusBadRequest, 20001, "Cannot transfer a number to a closed account")
	}
	n := from.numbers[i]
	from.numbers = append(from.numbers[:i:i], from.numbers[i+1:]...)
	*n = Number{SID: n.SID, PhoneNumber: n.PhoneNumber, VoiceMethod: "POST", VoiceFallbackMethod: "POST", StatusCallbackMethod: "POST"}
	to.numbers = append(to.numbers, n)
	return http.StatusOK, numberJSON(to.SID, n)
}

// usageCategories are the units the fake reports per category.
var usageCategories = map[string][2]string{
	"calls":        {"calls", "minutes"},
	"recordings":   {"recordings", "minutes"},
	"phonenumbers": {"numbers", "numbers"},
	"totalprice":   {"", "usd"},
}

// usageRecords sums target's usage between StartDate and EndDate (inclusive,
// YYYY-MM-DD; absent means unbounded) into one record per category: the
// requested Category (even with no usage, as Twilio answers zeros) or every
// category with usage.
func usageRecords(target *account, form url.Values) []any {
	start, end := form.Get("StartDate"), form.Get("EndDate")
	type sum struct {
		count, usage int
		price        *big.Rat
	}
	sums := map[string]*sum{}
	total := &sum{price: new(big.Rat)}
	for _, u := range target.usage {
		if (start != "" && u.Date < start) || (end != "" && u.Date > end) {
			continue
		}
		sm := sums[u.Category]
		if sm == nil {
			sm = &sum{price: new(big.Rat)}
			sums[u.Category] = sm
		}
		p, ok := new(big.Rat).SetString(u.Price)
		if !ok {
			p = new(big.Rat)
		}
		sm.count += u.Count
		sm.usage += u.Usage
		sm.price.Add(sm.price, p)
		total.price.Add(total.price, p)
	}
	sums["totalprice"] = total
	cats := []string{form.Get("Category")}
	if cats[0] == "" {
		cats = cats[:0]
		for c := range sums {
			cats = append(cats, c)
		}
		sort.Strings(cats)
	}
	var items []any
	for _, c := range cats {
		sm := sums[c]
		if sm == nil {
			sm = &sum{price: new(big.Rat)}
		}
		units := usageCategories[c]
		usage := strconv.Itoa(sm.usage)
		if c == "totalprice" {
			usage = decimal(sm.price)
		}
		items = append(items, map[string]any{
			"account_sid": target.SID, "api_version": "2010-04-01", "category": c, "description": c,
			"start_date": start, "end_date": end, "as_of": "2026-01-02T03:04:05+00:00",
			"count": strconv.Itoa(sm.count), "count_unit": units[0],
			"usage": usage, "usage_unit": units[1],
			"price": decimal(sm.price), "price_unit": "usd",
			"uri": "/2010-04-01/Accounts/" + target.SID + "/Usage/Records.json?Category=" + c,
		})
	}
	return items
}

// decimal renders r with as many decimals as it needs (at least two, at
// most six), as Twilio's price strings do.
func decimal(r *big.Rat) string {
	s := r.FloatString(6)
	s = strings.TrimRight(s, "0")
	if i := strings.IndexByte(s, '.'); len(s)-i-1 < 2 {
		s += strings.Repeat("0", 2-(len(s)-i-1))
	}
	return s
}

// countryNames names the countries tests use, as Twilio does.
var countryNames = map[string]string{"US": "United States", "CA": "Canada", "GB": "United Kingdom"}

// dialingPermissions serves voice/v1 Settings and Countries, which act on
// the account whose credentials authenticate the request. A subaccount
// that inherits reports its owner's country permissions (the fake's reading
// of "inherit voice dialing permissions from the Master Project").
func (s *Server) dialingPermissions(req *request) (int, any) {
	a := req.principal
	switch req.route {
	case RouteUpdateDialingSetting:
		v, err := strconv.ParseBool(req.form.Get("DialingPermissionsInheritance"))
		if err != nil {
			return http.StatusBadRequest, twilioError(http.StatusBadRequest, 20001, "DialingPermissionsInheritance must be true or false")
		}
		a.inherit = v
		fallthrough
	case RouteFetchDialingSettings:
		status := http.StatusOK
		if req.route == RouteUpdateDialingSetting {
			status = http.StatusAccepted
		}
		return status, map[string]any{"dialing_permissions_inheritance": a.inherit, "url": "https://voice.twilio.com/v1/Settings"}
	}
	iso := req.child
	if len(iso) != 2 || strings.ToUpper(iso) != iso {
		return http.StatusNotFound, twilioError(http.StatusNotFound, 20404, "The requested resource /DialingPermissions/Countries/"+iso+" was not found")
	}
	perms := a.countries
	if a.inherit && a.Owner != a.SID {
		if owner := s.find(a.Owner); owner != nil {
			perms = owner.countries
		}
	}
	name := countryNames[iso]
	if name == "" {
		name = iso
	}
	return http.StatusOK, map[string]any{
		"iso_code": iso, "name": name, "continent": "", "country_codes": []string{},
		"low_risk_numbers_enabled": perms[iso], "high_risk_special_numbers_enabled": false,
		"high_risk_tollfraud_numbers_enabled": false,
		"url":                                 "https://voice.twilio.com/v1/DialingPermissions/Countries/" + iso,
	}
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
	set(&p.StatusCallback, "StatusCallback")
	set(&p.StatusCallbackMethod, "StatusCallbackMethod")
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
	set(&n.StatusCallback, "StatusCallback")
	set(&n.StatusCallbackMethod, "StatusCallbackMethod")
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
		"status_callback": p.StatusCallback, "status_callback_method": p.StatusCallbackMethod,
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
		"status_callback":       n.StatusCallback, "status_callback_method": n.StatusCallbackMethod,
		"capabilities": map[string]bool{"voice": true, "sms": true, "mms": true, "fax": false},
		"uri":          "/2010-04-01/Accounts/" + acct + "/IncomingPhoneNumbers/" + n.SID + ".json",
	}
}

func callJSON(acct string, c *Call) map[string]any {
	return map[string]any{
		"sid": c.SID, "account_sid": acct, "from": c.From, "to": c.To, "status": c.Status,
		"parent_call_sid": nilIfEmpty(c.ParentCallSID),
		"direction":       direction(c), "api_version": "2010-04-01",
		"uri": "/2010-04-01/Accounts/" + acct + "/Calls/" + c.SID + ".json",
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

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// direction is Twilio's: a leg a <Dial> placed is outbound-dial; the fake
// calls every other one inbound.
func direction(c *Call) string {
	if c.ParentCallSID != "" {
		return "outbound-dial"
	}
	return "inbound"
}
