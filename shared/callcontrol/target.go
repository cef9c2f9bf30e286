package callcontrol

import (
	"cmp"
	"net/url"
	"strconv"
	"strings"

	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiml"
	"bubble-twilio-voice/shared/voice"
)

// URLs are the absolute webhook URLs the TwiML call control writes points
// at: absolute because TwiML given inline to a Calls update has no
// document URL to resolve relative ones against.
type URLs struct {
	// ConferenceEvents receives the hub's participant-join and
	// participant-leave (OnConferenceEvent).
	ConferenceEvents string
	// DialComplete is /incoming/dial-complete: a transferred caller
	// nobody answers goes on to a route's no-answer step there.
	DialComplete string
	// RecordingComplete is /incoming/recording-complete.
	RecordingComplete string
	// CallStatus is /events/call-status: a transferred call's final
	// status goes there with transferred_to.
	CallStatus string
}

// Target kinds.
const (
	targetClient = iota // one browser identity
	targetRoute         // a route of the tenant's: its browsers ring at once
	targetNumber        // a phone number, through /voice's outbound rules
)

// target is where a transfer or add goes.
type target struct {
	kind int
	// addr is how Twilio dials it and transferred_to reports it:
	// "client:<identity>", the route's number, or an E.164 number.
	addr string
	// dec is the decision a cold transfer renders for the party's leg.
	dec voice.Decision
	// ring is how long a call placed into the hub for it rings, in
	// seconds; 0 is RingSeconds.
	ring int
}

// QueryRoute is the query parameter of DialComplete naming the route
// whose no-answer step follows (the transfer target's, not the number the
// caller dialled).
const QueryRoute = "route"

// resolve reads to: "client:<identity>" or a bare identity; a route label
// or number of the tenant's; else a phone number through exactly the
// outbound rules of /voice (voice.Rules.Outgoing), as identity placing it.
//
// A route rings its browsers whatever its opening hours say: a person
// chose to send the caller there, and someone may well be in. (So the
// calls function needs no zone database, which keeps it under its size.)
func (ctl *Controller) resolve(t *tenant.Tenant, identity, to string) (target, error) {
	to = strings.TrimSpace(to)
	if to == "" {
		return target{}, fail(CodeInvalidTo, "to is required: client:<identity>, a route label or number, or a phone number")
	}
	if number, route := routeOf(t, to); route != nil {
		dec := ctl.Rules.Incoming(voice.Call{AccountSID: t.AccountSID, To: number}, t) // zero Now: open
		return target{kind: targetRoute, addr: number, dec: dec}, nil
	}
	dec := ctl.Rules.Outgoing(voice.Call{AccountSID: t.AccountSID, From: tenant.ClientPrefix + identity, To: to}, t)
	if dec.Refused() {
		if dec.Reason == voice.ReasonInvalidIdentity || dec.Reason == voice.ReasonInvalidNumber || dec.Reason == voice.ReasonEmptyTo {
			return target{}, &Error{Code: CodeInvalidTo, Message: "to names nobody: " + dec.Reason.Message(), Reason: dec.Reason}
		}
		return target{}, &Error{Code: CodeNotAllowed, Message: dec.Reason.Message(), Reason: dec.Reason}
	}
	if len(dec.Clients) == 1 {
		if dec.Clients[0] == identity {
			return target{}, fail(CodeInvalidTo, "a call cannot be transferred to the browser that asks")
		}
		return target{kind: targetClient, addr: tenant.ClientPrefix + dec.Clients[0], dec: dec}, nil
	}
	return target{kind: targetNumber, addr: dec.Number, dec: dec}, nil
}

// routeOf finds a route by one of the tenant's numbers or by its label.
func routeOf(t *tenant.Tenant, to string) (string, *tenant.Route) {
	if t.Incoming == nil {
		return "", nil
	}
	if r, ok := t.Incoming.Numbers[to]; ok {
		return to, r
	}
	for number, r := range t.Incoming.Numbers {
		if r.Label != "" && strings.EqualFold(r.Label, to) {
			return number, r
		}
	}
	return "", nil
}

// coldTwiML is what the party's leg runs on a cold transfer: the target's
// <Dial>. A caller of the tenant's that nobody answers goes on to the
// no-answer step of the route it reached (the target route's, else the one
// it called), through DialComplete.
func coldTwiML(tg target, incoming bool, u URLs) string {
	dec := tg.dec
	dec.Display = voice.Display{}
	dec.RecordingCallback = ""
	switch {
	case !incoming:
		dec.Action = ""
	case tg.kind == targetRoute && dec.Kind == voice.KindDial:
		q := url.Values{QueryRoute: {tg.addr}}
		if strings.Contains(dec.Action, "leg="+voice.LegClients) {
			q.Set("leg", voice.LegClients)
		}
		dec.Action = u.DialComplete + "?" + q.Encode()
	case tg.kind == targetRoute && dec.Kind == voice.KindVoicemail:
		dec.Action = u.RecordingComplete
	default:
		dec.Action = u.DialComplete
	}
	return string(dec.AppendTwiML(nil))
}

// joinTwiML moves a leg into the hub. Every leg may start the conference
// (the party never waits in it); only the party ends it on leaving, so a
// browser that leaves never takes the party with it, and a party that
// hangs up ends the hub for everyone.
func joinTwiML(hub, label string, party bool, u URLs) string {
	attrs := []string{"participantLabel", label, "startConferenceOnEnter", "true",
		"endConferenceOnExit", strconv.FormatBool(party), "beep", "false"}
	if u.ConferenceEvents != "" {
		attrs = append(attrs, "statusCallback", u.ConferenceEvents, "statusCallbackEvent", "join leave")
	}
	var b twiml.Builder
	b.Reset(nil)
	b.Start("Dial")
	b.Text("Conference", hub, attrs...)
	b.End()
	return string(b.Bytes())
}

// leaveTwiML is what a party left alone hears before the call ends, when
// it has no route to go back to.
const leaveMessage = "The other party has left the call. Goodbye."

func sayAndHangup(msg string) string {
	var b twiml.Builder
	b.Reset(nil)
	b.Text("Say", msg)
	b.Empty("Hangup")
	return string(b.Bytes())
}

// DefaultHoldMusic is played to a parked caller when the tenant has no
// hold_music_url: a track of Twilio's own hold music collection (the one
// its default conference wait music plays from).
const DefaultHoldMusic = "https://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"

// ParkLoops is how many times a parked caller hears the hold music before
// going on to its no-answer step.
const ParkLoops = 2

// parkTwiML keeps a held caller whose browsers all left hearing music for
// a while, then sends it to next (its no-answer step).
func parkTwiML(music, next string) string {
	music = cmp.Or(music, DefaultHoldMusic)
	var b twiml.Builder
	b.Reset(nil)
	b.Text("Play", music, "loop", strconv.Itoa(ParkLoops))
	b.Text("Redirect", next, "method", "POST")
	return string(b.Bytes())
}
