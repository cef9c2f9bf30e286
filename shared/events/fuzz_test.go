package events_test

import (
	"bytes"
	"encoding/json"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/events"
)

// FuzzCallbacks feeds arbitrary callback forms to the three event builders
// (call status, <Dial> action, recording status) and checks each event
// against what README's "Call events" section and the builders' docs say,
// read independently of the code: the builders never panic; a non-final
// call status, a child leg, an answered <Dial> and an incomplete recording
// make no event; an event has a documented type and final status, a
// non-negative duration read as the callback's whole seconds, an
// occurred_at that is RFC 3339 UTC and the same instant as
// occurred_at_unix, the same event_id for the same callback at any time;
// and its JSON is one flat object with exactly the documented keys. A
// message the status and recording builders make for a well-formed account
// is one the delivery decodes back unchanged.
//
// ts, when the form carries no Timestamp or RecordingStartTime, is put
// there in Twilio's RFC 2822 form, and the event must say that instant.
func FuzzCallbacks(f *testing.F) {
	const base = "AccountSid=AC0123456789abcdef0123456789abcdef&CallSid=CA0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01"
	for _, q := range []string{
		"&From=client%3Aalice&To=%2B14155550123&CallStatus=completed&CallDuration=42&Direction=inbound&Timestamp=Fri%2C+13+Nov+2026+15%3A08%3A59+%2B0000",
		"&From=%2B442071838750&To=%2B14155550100&CallStatus=completed&CallDuration=7&Timestamp=Fri%2C+13+Nov+2026+16%3A08%3A59+%2B0100",
		"&Caller=client%3Abob_2&To=%2B14155550123&CallStatus=busy",
		"&From=%2B442071838750&To=%2B14155550100&CallStatus=completed&transferred_to=client%3Abob",
		"&From=client%3Aalice&To=%2B14155550100&CallStatus=completed&transferred_to=%2B1415555019",
		"&From=client%3Aalice&To=%2B1&CallStatus=failed&CallDuration=-3&Timestamp=yesterday",
		"&From=%2B14155550100&To=client%3Aalice&CallStatus=completed&ParentCallSid=CAffffffffffffffffffffffffffffffff",
		"&From=client%3Aalice&CallStatus=ringing&CallStatus=completed",
		"&From=%2B442071838750&To=%2B14155550100&DialCallStatus=no-answer",
		"&From=%2B442071838750&To=%2B14155550100&DialCallStatus=answered",
		"&From=%2B442071838750&To=%2B14155550100&DialCallStatus=completed&DialBridged=false",
		"&From=%2B442071838750&To=%2B14155550100&DialCallStatus=completed&DialBridged=true",
		"&From=%2B442071838750&To=%2B14155550100&DialCallStatus=queued&CallDuration=99999999999999999999",
		"&from=%2B442071838750&to=%2B14155550100&RecordingStatus=completed&RecordingSid=RE0123456789abcdef0123456789abcdef" +
			"&RecordingSource=RecordVerb&RecordingDuration=31&RecordingStartTime=Fri%2C+13+Nov+2026+15%3A08%3A20+%2B0000" +
			"&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC0123456789abcdef0123456789abcdef%2FRecordings%2FRE0123456789abcdef0123456789abcdef",
		"&from=client%3Aalice&to=%2B14155550123&RecordingStatus=completed&RecordingSid=REFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF&RecordingSource=OutboundAPI&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2Fx",
		"&RecordingStatus=in-progress&RecordingSid=RE0123456789abcdef0123456789abcdef",
		"&RecordingStatus=completed&RecordingSid=RE0123456789abcdef0123456789abcdeg",
	} {
		f.Add(base+q, int64(1794582539), int64(0))
	}
	f.Add("CallStatus=completed&Timestamp=Mon%2C+01+Jan+0001+00%3A00%3A00+%2B0100", int64(0), int64(-62135596800))
	f.Add("%zz=1&CallStatus=canceled;x", int64(-1), int64(253402300799))

	f.Fuzz(func(t *testing.T, query string, nowUnix, ts int64) {
		form, _ := url.ParseQuery(query) // what net/http's ParseForm keeps of a bad query
		// now is the Lambda clock: a real time, with sub-second precision.
		now := time.Unix(clamp(nowUnix, 946684800, 4102444800), 123456789)
		// Twilio's timestamps say years 1..9999 in UTC.
		ts = clamp(ts, -62135596800, 253402300799)
		stamp := time.Unix(ts, 0).UTC().Format(time.RFC1123Z)
		wantStamp := map[string]bool{}
		for _, k := range []string{"Timestamp", "RecordingStartTime"} {
			if _, ok := form[k]; !ok {
				form.Set(k, stamp)
				wantStamp[k] = true
			}
		}
		later := now.Add(90 * time.Minute)

		// Call status callback.
		e, ok := events.CallCompleted(form, now)
		wantOK := finalStatuses[form.Get("CallStatus")] && form.Get("ParentCallSid") == ""
		if ok != wantOK {
			t.Fatalf("CallCompleted(CallStatus %q, ParentCallSid %q) ok = %v, want %v", form.Get("CallStatus"), form.Get("ParentCallSid"), ok, wantOK)
		}
		if ok {
			checkEvent(t, e, "call.completed", form, now, wantStamp["Timestamp"], ts)
			if e.Status != form.Get("CallStatus") {
				t.Fatalf("status %q, CallStatus %q", e.Status, form.Get("CallStatus"))
			}
			if want := wholeSeconds(form.Get("CallDuration")); e.DurationSeconds != want {
				t.Fatalf("duration_seconds %d for CallDuration %q, want %d", e.DurationSeconds, form.Get("CallDuration"), want)
			}
			if e.RecordingURL != "" || e.RecordingDurationSeconds != 0 {
				t.Fatalf("call.completed with recording fields: %+v", e)
			}
			// transferred_to is what call control wrote in the callback
			// URL when it has the shape call control writes, else empty.
			if tt := form.Get("transferred_to"); e.TransferredTo != "" && e.TransferredTo != tt || !transferTarget.MatchString(e.TransferredTo) {
				t.Fatalf("transferred_to %q for %q", e.TransferredTo, tt)
			} else if transferTarget.MatchString(tt) && e.TransferredTo != tt {
				t.Fatalf("transferred_to %q dropped a well-formed %q", e.TransferredTo, tt)
			}
			if again, _ := events.CallCompleted(form, later); again.ID != e.ID {
				t.Fatalf("same callback, later: event_id %s then %s", e.ID, again.ID)
			}
			checkQueued(t, events.Queued{Version: events.QueuedVersion, Event: e}, form)
		}

		// <Dial> action of an incoming call.
		m, ok := events.CallMissed(form, now)
		// Picked up but never bridged (a refused screened leg) is missed.
		dial := form.Get("DialCallStatus")
		pickedUp := dial == "completed" || dial == "answered"
		if wantOK := !pickedUp || form.Get("DialBridged") == "false"; ok != wantOK {
			t.Fatalf("CallMissed(DialCallStatus %q, DialBridged %q) ok = %v, want %v", dial, form.Get("DialBridged"), ok, wantOK)
		}
		if ok {
			checkEvent(t, m, "call.missed", form, now, false, 0)
			want := dial
			if pickedUp || !finalStatuses[dial] {
				want = "no-answer"
			}
			if m.Status != want || m.Direction != "incoming" || m.Identity != "" || m.DurationSeconds != 0 {
				t.Fatalf("call.missed for DialCallStatus %q: %+v", dial, m)
			}
			if e.ID != "" && e.ID == m.ID {
				t.Fatalf("call.completed and call.missed of one call share event_id %s", e.ID)
			}
			if again, _ := events.CallMissed(form, later); again.ID != m.ID {
				t.Fatalf("same callback, later: event_id %s then %s", m.ID, again.ID)
			}
		}

		// Recording status callback.
		msg, ok := events.Recording(form, now)
		recSID := form.Get("RecordingSid")
		if wantOK := form.Get("RecordingStatus") == "completed" && recordingSID.MatchString(recSID); ok != wantOK {
			t.Fatalf("Recording(RecordingStatus %q, RecordingSid %q) ok = %v, want %v", form.Get("RecordingStatus"), recSID, ok, wantOK)
		}
		if ok {
			wantType := "call.recorded"
			if form.Get("RecordingSource") == "RecordVerb" {
				wantType = "voicemail.recorded"
			}
			r := msg.Event
			// From and To come from the callback URL's query (lower case).
			checkEvent(t, r, wantType, url.Values{"AccountSid": form["AccountSid"], "CallSid": form["CallSid"],
				"From": form["from"], "To": form["to"]}, now, wantStamp["RecordingStartTime"], ts)
			if r.Status != "completed" || r.DurationSeconds != 0 || r.RecordingURL != "" {
				t.Fatalf("%s event: %+v", wantType, r)
			}
			if want := wholeSeconds(form.Get("RecordingDuration")); r.RecordingDurationSeconds != want {
				t.Fatalf("recording_duration_seconds %d for %q, want %d", r.RecordingDurationSeconds, form.Get("RecordingDuration"), want)
			}
			if msg.Version != events.QueuedVersion || msg.RecordingSID != recSID || msg.RecordingMediaURL != form.Get("RecordingUrl") {
				t.Fatalf("recording message %+v", msg)
			}
			if again, _ := events.Recording(form, later); again.Event.ID != r.ID {
				t.Fatalf("same callback, later: event_id %s then %s", r.ID, again.Event.ID)
			}
			if e.ID == r.ID || m.ID == r.ID {
				t.Fatalf("a recording event shares event_id %s with a call event", r.ID)
			}
			// Without a RecordingUrl the handler refuses the callback (the
			// fetcher's host check) before anything is queued.
			if msg.RecordingMediaURL != "" {
				checkQueued(t, msg, form)
			}
		}
	})
}

// finalStatuses are the call statuses README documents for events.
var finalStatuses = map[string]bool{"completed": true, "busy": true, "no-answer": true, "failed": true, "canceled": true}

// eventKeys are the keys of every event, as README lists them.
var eventKeys = []string{"account_sid", "call_sid", "direction", "duration_seconds", "event_id", "from", "identity",
	"occurred_at", "occurred_at_unix", "recording_duration_seconds", "recording_url", "status", "to",
	"transcript_text", "transcript_url", "transferred_to", "type"}

var (
	recordingSID = regexp.MustCompile(`^RE[0-9a-fA-F]{32}$`)
	accountSID   = regexp.MustCompile(`^AC[0-9a-f]{32}$`) // lower case: tenant.ValidAccountSID, as Twilio issues them
	eventID      = regexp.MustCompile(`^[0-9a-f]{32}$`)
	decimal      = regexp.MustCompile(`^\+?[0-9]+$`)
	// transferTarget: empty, a browser, or an E.164 number.
	transferTarget = regexp.MustCompile(`^(client:[A-Za-z0-9_]{1,121}|\+[1-9][0-9]{1,14})?$`)
)

// checkEvent checks what every event has: type, the callback's identifiers,
// direction and identity from From (else Caller), the time, and a flat JSON
// object with the documented keys. With stamped, the callback's own
// timestamp was ts and the event must say it; otherwise it says ts or now.
func checkEvent(t *testing.T, e events.Event, typ string, form url.Values, now time.Time, stamped bool, ts int64) {
	t.Helper()
	if e.Type != typ {
		t.Fatalf("type %q, want %q", e.Type, typ)
	}
	if !eventID.MatchString(e.ID) {
		t.Fatalf("event_id %q is not 32 lower-case hex digits", e.ID)
	}
	if e.AccountSID != form.Get("AccountSid") || e.CallSID != form.Get("CallSid") {
		t.Fatalf("account_sid %q call_sid %q, form %q %q", e.AccountSID, e.CallSID, form.Get("AccountSid"), form.Get("CallSid"))
	}
	from := form.Get("From")
	if from == "" && typ != "voicemail.recorded" && typ != "call.recorded" {
		from = form.Get("Caller")
	}
	if e.From != from || e.To != form.Get("To") {
		t.Fatalf("from %q to %q, want %q %q", e.From, e.To, from, form.Get("To"))
	}
	if typ != "call.missed" {
		wantDir, wantID := "incoming", ""
		if len(from) >= len("client:") && from[:len("client:")] == "client:" {
			wantDir, wantID = "outgoing", from[len("client:"):]
		}
		if e.Direction != wantDir || e.Identity != wantID {
			t.Fatalf("from %q: direction %q identity %q, want %q %q", from, e.Direction, e.Identity, wantDir, wantID)
		}
	}
	if !finalStatuses[e.Status] {
		t.Fatalf("status %q is not a final status", e.Status)
	}
	if e.DurationSeconds < 0 || e.RecordingDurationSeconds < 0 {
		t.Fatalf("negative duration: %+v", e)
	}

	at, err := time.Parse(time.RFC3339, e.OccurredAt)
	if err != nil || !strings.HasSuffix(e.OccurredAt, "Z") {
		t.Fatalf("occurred_at %q is not RFC 3339 UTC: %v", e.OccurredAt, err)
	}
	if at.Unix() != e.OccurredAtUnix {
		t.Fatalf("occurred_at %s is not occurred_at_unix %d", e.OccurredAt, e.OccurredAtUnix)
	}
	switch {
	case stamped && e.OccurredAtUnix != ts:
		t.Fatalf("callback timestamp %d, occurred_at_unix %d", ts, e.OccurredAtUnix)
	case !stamped && e.OccurredAtUnix != now.Unix() && typ == "call.missed":
		t.Fatalf("call.missed occurred_at_unix %d, now %d", e.OccurredAtUnix, now.Unix())
	}

	b, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("event does not marshal: %v", err)
	}
	var flat map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&flat); err != nil {
		t.Fatalf("event JSON %s: %v", b, err)
	}
	keys := make([]string, 0, len(flat))
	for k, v := range flat {
		keys = append(keys, k)
		switch v.(type) {
		case string, json.Number:
		default:
			t.Fatalf("event JSON is not flat: %s is %T", k, v)
		}
	}
	slices.Sort(keys)
	if !slices.Equal(keys, eventKeys) {
		t.Fatalf("event JSON keys %v, want %v", keys, eventKeys)
	}
}

// checkQueued: a message made for a well-formed account is one the delivery
// accepts, and it decodes to what was encoded.
func checkQueued(t *testing.T, m events.Queued, form url.Values) {
	t.Helper()
	if !accountSID.MatchString(form.Get("AccountSid")) {
		return // the tenant middleware never lets such a callback through
	}
	body := m.Encode()
	back, err := events.DecodeQueued(body)
	if err != nil {
		t.Fatalf("the delivery refuses the queued message %s: %v", body, err)
	}
	if again := back.Encode(); !bytes.Equal(again, body) {
		t.Fatalf("queued message changed on the way:\n%s\n%s", body, again)
	}
}

// wholeSeconds reads a duration as README says: a whole number of seconds,
// else 0 (unknown). math/big, so a number too large for int is caught.
func wholeSeconds(s string) int {
	if !decimal.MatchString(s) {
		return 0
	}
	n, ok := new(big.Int).SetString(strings.TrimPrefix(s, "+"), 10)
	if !ok || !n.IsInt64() || n.Int64() > int64(int(^uint(0)>>1)) {
		return 0
	}
	return int(n.Int64())
}

func clamp(v, lo, hi int64) int64 {
	if v < lo || v > hi {
		span := uint64(hi - lo + 1)
		return lo + int64(uint64(v)%span)
	}
	return v
}
