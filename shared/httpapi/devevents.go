package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/tenant"
)

// maxEventsTestBody bounds POST /dev/events/test's body.
const maxEventsTestBody = 4 << 10

// eventsTestAnswer is the 202 answer of POST /dev/events/test: what was
// queued.
type eventsTestAnswer struct {
	Queued []queuedEvent `json:"queued"`
}

type queuedEvent struct {
	EventID string `json:"event_id"`
	Type    string `json:"type"`
}

// SampleFunc makes the test events POST /dev/events/test queues for tenant
// t: one of each event type, or only of typ when it is not empty, their
// recording links under baseURL. The dev server passes
// eventsamples.For, which lives under cmd/ because no Lambda function
// sends test events.
type SampleFunc func(t *tenant.Tenant, baseURL, typ string, now time.Time) ([]events.Event, error)

// handleEventsTest serves the dev server's POST /dev/events/test
// {"account_sid", "type"}: with the tenant's bearer key, checked as /token
// checks it, it queues one sample of each event type the tenant takes (or
// of type) through enqueue, the queue real callbacks use, so the dev
// server's delivery POSTs them to events.url like real events. A wrong key
// is 401 and queues nothing; a suspended tenant's key 403 tenant_suspended,
// as on /token. baseURL is the dev server's public URL (the
// samples' recording links).
func handleEventsTest(store tenant.Store, enqueue enqueueFunc, samples SampleFunc, baseURL string, now func() time.Time, log *slog.Logger) http.Handler {
	return postOnly(log, func(r *http.Request) (int, any, error) {
		answer, err := queueTestEvents(r, store, enqueue, samples, baseURL, now)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusAccepted, answer, nil
	})
}

func queueTestEvents(r *http.Request, store tenant.Store, enqueue enqueueFunc, samples SampleFunc, baseURL string, now func() time.Time) (*eventsTestAnswer, error) {
	sid, typ, err := decodeEventsTest(r)
	if err != nil {
		return nil, err
	}
	logging.Add(r.Context(), slog.String("account_sid", sid))
	key, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return nil, unauthorized(nil)
	}
	t, err := store.Lookup(r.Context(), sid)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return nil, unauthorized(err) // as /token: accounts cannot be probed
	case err != nil:
		return nil, wrapError(kindUnavailable, "unavailable", "the tenant store is unavailable; try again shortly", err)
	}
	if !keyMatches(t.TokenAPIKeys, key) {
		return nil, unauthorized(nil)
	}
	if t.Suspended() {
		// As /token and the call-control routes answer the same key.
		return nil, newError(kindForbidden, "tenant_suspended", "this subaccount is suspended; test events are queued again once it is reactivated")
	}
	if t.Events == nil {
		return nil, invalid("no_events", "this tenant's record has no events object: set events.url first")
	}
	if typ != "" && !t.Events.Wants(typ) {
		return nil, invalid("type_not_taken", "this tenant's events.types leaves out "+typ+": the delivery would not send it")
	}
	made, err := samples(t, baseURL, typ, now())
	if err != nil {
		return nil, invalid("invalid_type", "type must be one of "+strings.Join(tenant.EventTypes, ", "))
	}
	answer := &eventsTestAnswer{Queued: []queuedEvent{}}
	for _, e := range made {
		if !t.Events.Wants(e.Type) {
			continue
		}
		if err := enqueue(r.Context(), t, events.Queued{Version: events.QueuedVersion, Event: e}); err != nil {
			return nil, wrapError(kindUnavailable, "unavailable", fmt.Sprintf(
				"the event queue refused the %s event after %d were queued (they are sent); try again", e.Type, len(answer.Queued)), err)
		}
		answer.Queued = append(answer.Queued, queuedEvent{EventID: e.ID, Type: e.Type})
	}
	return answer, nil
}

// decodeEventsTest reads {"account_sid": "AC...", "type": "call.missed"}
// (type optional): a JSON object with exactly these names, string values.
func decodeEventsTest(r *http.Request) (sid, typ string, err error) {
	const shape = `send a JSON object {"account_sid": "AC...", "type": "call.completed"} (type optional)`
	body, err := readBody(r, maxEventsTestBody, "4 KiB")
	if err != nil {
		return "", "", err
	}
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil || fields == nil || dec.More() {
		return "", "", invalid("invalid_request", shape)
	}
	for k, v := range fields {
		s, ok := v.(string)
		switch {
		case k != "account_sid" && k != "type":
			return "", "", invalid("invalid_request", "unknown field "+k+": "+shape)
		case !ok:
			return "", "", invalid("invalid_request", k+" must be a string")
		case k == "account_sid":
			sid = strings.TrimSpace(s)
		default:
			typ = strings.TrimSpace(s)
		}
	}
	switch {
	case sid == "":
		return "", "", invalid("invalid_request", "account_sid is required")
	case !tenant.ValidAccountSID(sid):
		return "", "", invalid("invalid_request", "account_sid must be AC followed by 32 hex digits")
	case typ != "" && !tenant.KnownEventType(typ):
		return "", "", invalid("invalid_type", "type must be one of "+strings.Join(tenant.EventTypes, ", "))
	}
	return sid, typ, nil
}
