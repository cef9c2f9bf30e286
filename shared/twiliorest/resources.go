package twiliorest

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Call is the part of Twilio's Call resource call control reads
// (https://www.twilio.com/docs/voice/api/call-resource).
type Call struct {
	SID           string `json:"sid"`
	ParentCallSID string `json:"parent_call_sid"`
	From          string `json:"from"`
	To            string `json:"to"`
	// Status: queued, ringing, in-progress, completed, busy, failed,
	// no-answer or canceled.
	Status string `json:"status"`
}

// Live reports whether the call has not ended.
func (c Call) Live() bool {
	switch c.Status {
	case "queued", "ringing", "in-progress":
		return true
	}
	return false
}

// FetchCall reads one call. Another account's SID is a 404.
func (a *Account) FetchCall(ctx context.Context, sid string) (Call, error) {
	var c Call
	err := a.do(ctx, http.MethodGet, a.path("Calls", sid), nil, &c)
	return c, err
}

// ListChildCalls lists the calls whose parent is sid with the given status
// ("" for any): the legs a <Dial> of that call made. One page of 50 is
// plenty: a <Dial> rings at most ten.
func (a *Account) ListChildCalls(ctx context.Context, parentSID, status string) ([]Call, error) {
	q := url.Values{"ParentCallSid": {parentSID}, "PageSize": {"50"}}
	setString(q, "Status", status)
	var page struct {
		Calls []Call `json:"calls"`
	}
	err := a.do(ctx, http.MethodGet, a.path("Calls"), q, &page)
	return page.Calls, err
}

// CallUpdate is a Calls update: new TwiML (Twiml, or Url to fetch it
// from), or Status "completed" to hang up. StatusCallback, when set,
// replaces the URL the call's final status goes to.
type CallUpdate struct {
	Twiml          string
	URL            string
	Status         string
	StatusCallback string
}

// UpdateCall redirects or ends a call
// (https://www.twilio.com/docs/voice/api/call-resource#update-a-call-resource).
func (a *Account) UpdateCall(ctx context.Context, sid string, u CallUpdate) (Call, error) {
	f := url.Values{}
	setString(f, "Twiml", u.Twiml)
	setString(f, "Url", u.URL)
	setString(f, "Status", u.Status)
	setString(f, "StatusCallback", u.StatusCallback)
	var c Call
	err := a.do(ctx, http.MethodPost, a.path("Calls", sid), f, &c)
	return c, err
}

// Conference is the part of Twilio's Conference resource call control
// reads (https://www.twilio.com/docs/voice/api/conference-resource).
type Conference struct {
	SID          string `json:"sid"`
	FriendlyName string `json:"friendly_name"`
	Status       string `json:"status"` // init, in-progress or completed
}

// FindConference returns the conference named name that has not ended,
// ok false when there is none. Twilio keeps at most one such conference
// per name; ended ones with the same name are skipped.
func (a *Account) FindConference(ctx context.Context, name string) (Conference, bool, error) {
	q := url.Values{"FriendlyName": {name}, "PageSize": {"20"}}
	var page struct {
		Conferences []Conference `json:"conferences"`
	}
	if err := a.do(ctx, http.MethodGet, a.path("Conferences"), q, &page); err != nil {
		return Conference{}, false, err
	}
	for _, c := range page.Conferences {
		if c.Status != "completed" {
			return c, true, nil
		}
	}
	return Conference{}, false, nil
}

// ListLiveConferences lists the account's conferences in progress (one
// page of 50: a small business has a handful at once).
func (a *Account) ListLiveConferences(ctx context.Context) ([]Conference, error) {
	var page struct {
		Conferences []Conference `json:"conferences"`
	}
	err := a.do(ctx, http.MethodGet, a.path("Conferences"), url.Values{"Status": {"in-progress"}, "PageSize": {"50"}}, &page)
	return page.Conferences, err
}

// Participant is the part of Twilio's Participant resource call control
// reads (https://www.twilio.com/docs/voice/api/conference-participant-resource).
type Participant struct {
	CallSID string `json:"call_sid"`
	Label   string `json:"label"`
	Hold    bool   `json:"hold"`
	// Status: queued, connecting, ringing, connected, complete or failed.
	Status string `json:"status"`
}

// ListParticipants lists a conference's current participants (at most
// 250, Twilio's limit, so one page of 250).
func (a *Account) ListParticipants(ctx context.Context, conferenceSID string) ([]Participant, error) {
	var page struct {
		Participants []Participant `json:"participants"`
	}
	err := a.do(ctx, http.MethodGet, a.path("Conferences", conferenceSID, "Participants"), url.Values{"PageSize": {"250"}}, &page)
	return page.Participants, err
}

// FetchParticipant reads the participant whose call SID or label is who;
// a call not in the conference is a 404.
func (a *Account) FetchParticipant(ctx context.Context, conferenceSID, who string) (Participant, error) {
	var p Participant
	err := a.do(ctx, http.MethodGet, a.path("Conferences", conferenceSID, "Participants", who), nil, &p)
	return p, err
}

// ParticipantUpdate changes a participant. Hold nil leaves it as it is.
type ParticipantUpdate struct {
	Hold    *bool
	HoldURL string // music while held; "" is Twilio's default
}

// UpdateParticipant changes the participant whose call SID or label is
// who. Holding a participant is per participant: the others keep talking.
func (a *Account) UpdateParticipant(ctx context.Context, conferenceSID, who string, u ParticipantUpdate) (Participant, error) {
	f := url.Values{}
	if u.Hold != nil {
		f.Set("Hold", strconv.FormatBool(*u.Hold))
	}
	if u.Hold != nil && *u.Hold && u.HoldURL != "" {
		f.Set("HoldUrl", u.HoldURL)
		f.Set("HoldMethod", "GET")
	}
	var p Participant
	err := a.do(ctx, http.MethodPost, a.path("Conferences", conferenceSID, "Participants", who), f, &p)
	return p, err
}

// DeleteParticipant takes the participant whose call SID or label is who
// out of the conference: a call Twilio placed into it ends; one that came
// in through <Dial><Conference> goes on with the TwiML after its <Dial>.
func (a *Account) DeleteParticipant(ctx context.Context, conferenceSID, who string) error {
	return a.do(ctx, http.MethodDelete, a.path("Conferences", conferenceSID, "Participants", who), nil, nil)
}

// NewParticipant is a Participants create: Twilio places a call from From
// to To and joins it to the conference when answered. Its leaving never
// ends the conference (EndConferenceOnExit false).
type NewParticipant struct {
	From, To string
	Label    string
	// Timeout is how long it rings, in seconds (Twilio: 5 to 600, default
	// 60); 0 leaves Twilio's default.
	Timeout                int
	StartConferenceOnEnter bool
	// EarlyMedia lets the conference hear the target ring.
	EarlyMedia bool
}

// CreateParticipant dials a new participant into the conference (by SID,
// or by friendly name, which creates it). It places an outbound call, so it
// waits for the account's pacer slot first.
func (a *Account) CreateParticipant(ctx context.Context, conference string, p NewParticipant) (Participant, error) {
	if err := a.c.pacer.Wait(ctx, a.cred.AccountSID); err != nil {
		return Participant{}, err
	}
	f := url.Values{
		"From":                   {p.From},
		"To":                     {p.To},
		"StartConferenceOnEnter": {strconv.FormatBool(p.StartConferenceOnEnter)},
		"EndConferenceOnExit":    {"false"},
		"EarlyMedia":             {strconv.FormatBool(p.EarlyMedia)},
		"Beep":                   {"false"},
	}
	setString(f, "Label", p.Label)
	if p.Timeout > 0 {
		f.Set("Timeout", strconv.Itoa(p.Timeout))
	}
	var out Participant
	err := a.do(ctx, http.MethodPost, a.path("Conferences", conference, "Participants"), f, &out)
	return out, err
}
