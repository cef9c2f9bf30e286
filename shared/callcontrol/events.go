package callcontrol

import (
	"context"
	"strings"

	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliorest"
	"bubble-twilio-voice/shared/voice"
)

// Conference status callback events the hub asks for.
const (
	EventJoin  = "participant-join"
	EventLeave = "participant-leave"
)

// ConferenceEvent is the part of a hub's status callback that
// OnConferenceEvent reads.
type ConferenceEvent struct {
	Event         string // StatusCallbackEvent
	ConferenceSID string
	FriendlyName  string
	Label         string // ParticipantLabel: who joined or left
}

// OnConferenceEvent keeps a party from being left alone in a hub:
//   - a party left with nobody is sent on: a caller of the tenant's to the
//     no-answer step of the route it called (DialComplete), anyone else
//     hears that the other side left and the call ends;
//   - a browser of a route's ring group (a warm transfer or add to a
//     route) joined: the group's others still ringing are cancelled
//     (keepFirst);
//   - a party on hold with no browser left (the asking browser hung up
//     during a warm transfer) is taken off hold once someone else is
//     connected, so the caller and the target talk.
//
// It acts on hubs only (by name), and does nothing while the party has not
// joined yet (the first leg of a move into the hub).
//
// A tenant suspended since the call began (tenant.Tenant.Suspended) takes
// neither step: the party hears voice.SuspendedMessage and its call ends,
// rather than being parked for a resume the calls routes would refuse,
// sent to a no-answer step that would say the same, or connected to a
// transfer target after the suspension. t must not be nil.
func OnConferenceEvent(ctx context.Context, api API, e ConferenceEvent, u URLs, t *tenant.Tenant) error {
	if !strings.HasPrefix(e.FriendlyName, hubPrefix) || !worthALook(e) {
		return nil
	}
	parts, err := api.ListParticipants(ctx, e.ConferenceSID)
	if twiliorest.IsNotFound(err) {
		return nil // the hub has ended
	}
	if err != nil {
		return twilioFailed("list the conference's participants", err)
	}
	var party *twiliorest.Participant
	browsers, others := 0, 0
	for i, p := range parts {
		switch {
		case p.Label == LabelParty:
			party = &parts[i]
		case strings.HasPrefix(p.Label, clientLabelPrefix):
			browsers++
		case p.Status == "connected":
			others++
		}
	}
	if group, ok := groupOf(e.Label); ok && e.Event == EventJoin {
		left, err := keepFirst(ctx, api, e, parts, group)
		if err != nil || left {
			return err
		}
	}
	if party == nil {
		return nil
	}
	alone := e.Event == EventLeave && len(parts) == 1
	unheld := party.Hold && browsers == 0 && others > 0
	switch {
	case t.Suspended() && (alone || unheld):
		_, err := api.UpdateCall(ctx, party.CallSID, twiliorest.CallUpdate{Twiml: sayAndHangup(voice.SuspendedMessage)})
		if twiliorest.IsCallEnded(err) {
			return nil
		}
		return twilioFailed("end a suspended tenant's call", err)
	case alone:
		return sendOn(ctx, api, party.CallSID, party.Hold, u, t.HoldMusicURL)
	case unheld:
		hold := false
		_, err := api.UpdateParticipant(ctx, e.ConferenceSID, LabelParty, twiliorest.ParticipantUpdate{Hold: &hold})
		return twilioFailed("take the party off hold", err)
	}
	return nil
}

// sendOn moves a party left alone out of the hub. A party on hold is
// parked first: it keeps hearing music for ParkLoops plays of it, long
// enough for a reloaded page to resume the call (Resume), then goes on.
func sendOn(ctx context.Context, api API, partySID string, held bool, u URLs, music string) error {
	c, err := api.FetchCall(ctx, partySID)
	if err != nil {
		return twilioFailed("read the party's call", err)
	}
	_, browser := identityOf(c.From)
	caller := !browser && c.ParentCallSID == "" && u.DialComplete != ""
	up := twiliorest.CallUpdate{Twiml: sayAndHangup(leaveMessage)}
	switch {
	case held && caller:
		up.Twiml = parkTwiML(music, u.DialComplete)
	case caller:
		// A caller of the tenant's: its number's no-answer step, as if
		// nobody had answered (Twilio posts the call's own From and To).
		up = twiliorest.CallUpdate{URL: u.DialComplete}
	}
	_, err = api.UpdateCall(ctx, partySID, up)
	if twiliorest.IsCallEnded(err) {
		return nil
	}
	return twilioFailed("send the party on", err)
}

// worthALook says whether an event can call for a step, so the others cost
// no REST call: a browser or the party joining (a move into the hub) never
// does; the party leaving ends the hub itself.
func worthALook(e ConferenceEvent) bool {
	switch e.Event {
	case EventJoin:
		_, member := groupOf(e.Label)
		return e.Label == LabelTransfer || strings.HasPrefix(e.Label, addLabelPrefix) || member
	case EventLeave:
		return e.Label != LabelParty
	}
	return false
}

// keepFirst: e.Label, a browser of group, joined the hub first; the
// group's others still ringing are cancelled at once (Calls update
// Status=canceled, which Twilio applies to a call not yet answered: it
// ends and leaves the participant list; an answered call ignores it).
// Another of the group can be connected too only when both answered
// within the same moment (before this cancel): then the one whose label
// sorts first stays and the other is taken out, so whichever order the
// two events run in, one browser always stays. left says e.Label was taken
// out.
func keepFirst(ctx context.Context, api API, e ConferenceEvent, parts []twiliorest.Participant, group string) (left bool, err error) {
	second := false
	for _, p := range parts {
		if p.Label == e.Label || !inGroup(p.Label, group) {
			continue
		}
		if p.Status == "connected" {
			second = second || p.Label < e.Label
			continue
		}
		_, err := api.UpdateCall(ctx, p.CallSID, twiliorest.CallUpdate{Status: "canceled"})
		if err != nil && !twiliorest.IsCallEnded(err) && !twiliorest.IsNotFound(err) {
			return false, twilioFailed("cancel the ring group's other calls", err)
		}
	}
	if !second {
		return false, nil
	}
	err = api.DeleteParticipant(ctx, e.ConferenceSID, e.Label)
	if err != nil && !twiliorest.IsNotFound(err) {
		return false, twilioFailed("take a second answer out", err)
	}
	return true, nil
}
