package callcontrol

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/url"

	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliorest"
	"bubble-twilio-voice/shared/voice"
)

// Controller runs the operations. Rules decide targets exactly as /voice
// and /incoming do.
type Controller struct {
	Rules voice.Rules
}

// Request is one operation asked by one browser identity of one tenant.
type Request struct {
	Tenant   *tenant.Tenant
	Identity string
	// CallSID is the browser's own leg (call.parameters.CallSid).
	CallSID string
	// To is the target of a transfer, add or remove.
	To string
	// Mode is ModeCold (or "") or ModeWarm, for Transfer.
	Mode string
	// HoldMusicURL is played to a held party; "" is Twilio's default.
	HoldMusicURL string
	URLs         URLs
}

// Transfer modes.
const (
	ModeCold = "cold"
	ModeWarm = "warm"
)

// RingSeconds is how long a warm-transfer target or an added party rings.
const RingSeconds = tenant.DefaultRingSeconds

// Hold puts the other party on hold: it hears hold music, the browser
// hears nothing. A call still bridged moves into its hub first.
func (ctl *Controller) Hold(ctx context.Context, api API, r Request) (Result, error) {
	c, err := locate(ctx, api, r.CallSID, r.Identity, false)
	if err != nil {
		return Result{}, err
	}
	if err := ctl.enter(ctx, api, c, r); err != nil {
		return Result{}, err
	}
	if err := setHold(ctx, api, c, true, r.HoldMusicURL); err != nil {
		return Result{}, err
	}
	return Result{CallSID: r.CallSID, State: StateHeld}, nil
}

// Resume takes the other party off hold. A call that is not held is left
// as it is. A page reloaded while its call was held resumes it with the
// call_sid of its old leg: the browser is called back into the hub (an
// incoming call for the page to accept) and the caller taken off hold.
func (ctl *Controller) Resume(ctx context.Context, api API, r Request) (Result, error) {
	c, err := locate(ctx, api, r.CallSID, r.Identity, true)
	if err != nil {
		return Result{}, err
	}
	if c.browserGone {
		if err := ctl.callBack(ctx, api, c, r); err != nil {
			return Result{}, err
		}
	}
	if c.hubbed {
		if err := setHold(ctx, api, c, false, ""); err != nil {
			return Result{}, err
		}
	}
	return Result{CallSID: r.CallSID, State: StateActive}, nil
}

// callBack brings a parked caller back into the hub and calls the browser
// into it.
func (ctl *Controller) callBack(ctx context.Context, api API, c *call, r Request) error {
	if !c.hubbed {
		if _, err := api.UpdateCall(ctx, c.partySID, twiliorest.CallUpdate{Twiml: joinTwiML(c.hubName, LabelParty, true, r.URLs)}); err != nil {
			return twilioFailed("bring the caller back", err)
		}
		hub, ok, err := api.FindConference(ctx, c.hubName)
		if err != nil || !ok {
			return twilioFailed("look the call's conference up", errOr(err, "the caller left"))
		}
		c.hub, c.hubbed = hub, true
		c.parts = []twiliorest.Participant{{CallSID: c.partySID, Label: LabelParty, Status: "connected"}}
	}
	if _, ok := c.participant(LabelParty); !ok {
		return fail(CodeCallEnded, "the other party has left the call")
	}
	tg := target{kind: targetClient, addr: tenant.ClientPrefix + r.Identity}
	return ctl.dialTarget(ctx, api, c, r, tg, ClientLabel(r.Identity))
}

// setHold holds or resumes the party: by participant, never the whole
// conference, so the browser and a transfer target keep talking. A party
// already in that state costs no request.
func setHold(ctx context.Context, api API, c *call, hold bool, music string) error {
	p, ok := c.participant(LabelParty)
	if !ok {
		return fail(CodeCallEnded, "the other party has left the call")
	}
	if p.Hold == hold {
		return nil
	}
	_, err := api.UpdateParticipant(ctx, c.hub.SID, LabelParty, twiliorest.ParticipantUpdate{Hold: &hold, HoldURL: music})
	if twiliorest.IsNotFound(err) {
		return fail(CodeCallEnded, "the other party has left the call")
	}
	return twilioFailed("change the hold", err)
}

// enter moves a bridged call's two legs into its hub, the dialled (child)
// leg first. Redirecting the parent first would make Twilio hang up the
// child, dropping that person; redirecting the child ends the parent's
// <Dial>, which Twilio answers with the parent's action URL (or the verbs
// after the <Dial>), and those keep the parent on the line (voice's
// settling pause) until its own redirect lands a moment later.
func (ctl *Controller) enter(ctx context.Context, api API, c *call, r Request) error {
	if c.hubbed {
		return nil
	}
	browserLabel := ClientLabel(r.Identity)
	child, childLabel, parent, parentLabel := c.browser.SID, browserLabel, c.partySID, LabelParty
	if c.partyIsChild {
		child, childLabel, parent, parentLabel = c.partySID, LabelParty, c.browser.SID, browserLabel
	}
	if _, err := api.UpdateCall(ctx, child, twiliorest.CallUpdate{Twiml: joinTwiML(c.hubName, childLabel, childLabel == LabelParty, r.URLs)}); err != nil {
		return twilioFailed("move the call into its conference", err)
	}
	if _, err := api.UpdateCall(ctx, parent, twiliorest.CallUpdate{Twiml: joinTwiML(c.hubName, parentLabel, parentLabel == LabelParty, r.URLs)}); err != nil {
		return twilioFailed("move the call into its conference", err)
	}
	hub, ok, err := api.FindConference(ctx, c.hubName)
	if err != nil {
		return twilioFailed("look the call's conference up", err)
	}
	if !ok {
		return fail(CodeCallEnded, "the call ended while it moved into its conference")
	}
	c.hub, c.hubbed, c.partySID = hub, true, ""
	// Both joined with these labels just now; no need to list them.
	c.parts = []twiliorest.Participant{
		{CallSID: child, Label: childLabel, Status: "connected"},
		{CallSID: parent, Label: parentLabel, Status: "connected"},
	}
	return nil
}

// Transfer passes the call to r.To. Cold: the party is connected to the
// target and the asking browser leaves. Warm: the party holds while the
// asking browser talks to the target; CompleteTransfer or CancelTransfer
// ends it.
func (ctl *Controller) Transfer(ctx context.Context, api API, r Request) (Result, error) {
	mode := cmp.Or(r.Mode, ModeCold)
	tg, err := ctl.resolve(r.Tenant, r.Identity, r.To)
	if err != nil {
		return Result{}, err
	}
	c, err := locate(ctx, api, r.CallSID, r.Identity, false)
	if err != nil {
		return Result{}, err
	}
	if mode == ModeWarm {
		return ctl.warm(ctx, api, c, r, tg)
	}
	return ctl.cold(ctx, api, c, r, tg)
}

// transferredCallback is the status callback URL that makes the call's
// call.completed event say where it was transferred.
func transferredCallback(u URLs, addr string) string {
	if u.CallStatus == "" {
		return ""
	}
	return u.CallStatus + "?" + url.Values{"transferred_to": {addr}}.Encode()
}

// cold redirects the party's leg to the target's <Dial>. Bridged, Twilio
// then ends the asking browser's leg itself when it was the child (the
// parent left its <Dial>); when the browser is the parent it is ended
// here. In the hub, the party leaving ends the hub (it ends the conference
// on exit), and every browser with it.
func (ctl *Controller) cold(ctx context.Context, api API, c *call, r Request, tg target) (Result, error) {
	partySID := c.partySID
	if c.hubbed {
		p, ok := c.participant(LabelParty)
		if !ok {
			return Result{}, fail(CodeCallEnded, "the other party has left the call")
		}
		partySID = p.CallSID
	}
	cb := transferredCallback(r.URLs, tg.addr)
	up := twiliorest.CallUpdate{Twiml: coldTwiML(tg, c.incoming, r.URLs)}
	if c.incoming {
		up.StatusCallback = cb
	}
	if _, err := api.UpdateCall(ctx, partySID, up); err != nil {
		return Result{}, twilioFailed("transfer the call", err)
	}
	if c.partyIsChild && !c.hubbed {
		_, err := api.UpdateCall(ctx, c.browser.SID, twiliorest.CallUpdate{Status: "completed", StatusCallback: cb})
		if err != nil && !twiliorest.IsCallEnded(err) {
			return Result{}, twilioFailed("end the browser's leg", err)
		}
	}
	return Result{CallSID: r.CallSID, State: StateTransferred, TransferredTo: tg.addr}, nil
}

// dialTarget places a call to tg into the hub with label.
func (ctl *Controller) dialTarget(ctx context.Context, api API, c *call, r Request, tg target, label string) error {
	from := tg.dec.CallerID // a number: the tenant's caller ID, as /voice presents
	if tg.kind == targetClient {
		// A browser sees the party's number, as when the call rang it.
		from = c.browser.From
		if _, isClient := identityOf(from); isClient || from == "" {
			from = tenant.ClientPrefix + r.Identity
		}
	}
	_, err := api.CreateParticipant(ctx, c.hub.SID, twiliorest.NewParticipant{
		From: from, To: tg.addr, Label: label, Timeout: cmp.Or(tg.ring, RingSeconds),
		StartConferenceOnEnter: true, EarlyMedia: true,
	})
	return twilioFailed("call the target", err)
}

// warm holds the party and rings the target into the hub: one person, or
// each browser of a route (ringGroup).
func (ctl *Controller) warm(ctx context.Context, api API, c *call, r Request, tg target) (Result, error) {
	if _, busy := c.inGroup(LabelTransfer); busy {
		return Result{}, fail(CodeTransferUnderWay, "a transfer is already under way: complete or cancel it first")
	}
	ids, err := members(tg, c, r.Identity)
	if err != nil {
		return Result{}, err
	}
	if err := ctl.enter(ctx, api, c, r); err != nil {
		return Result{}, err
	}
	if err := setHold(ctx, api, c, true, r.HoldMusicURL); err != nil {
		return Result{}, err
	}
	rung, err := ctl.ring(ctx, api, c, r, tg, ids, LabelTransfer)
	if err != nil {
		return Result{}, err
	}
	return Result{CallSID: r.CallSID, State: StateTransferring, TransferredTo: tg.addr, Ringing: rung}, nil
}

// members are the browsers of a route target to ring into the hub: its
// clients but the asking browser and those already on the call. A route
// with none left is invalid_to, refused before anything changes. Other
// targets have none (nil).
func members(tg target, c *call, identity string) ([]string, error) {
	if tg.kind != targetRoute {
		return nil, nil
	}
	var ids []string
	for _, id := range tg.dec.Clients {
		if id != identity && !c.onCall(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, fail(CodeInvalidTo, "the route "+tg.addr+" has no browser to ring: its browsers are already on this call")
	}
	return ids, nil
}

// ring calls the target into the hub under label: one participant, or,
// for a route, each browser in ids as its own participant labelled
// MemberLabel(label, identity), ringing for the route's ring seconds. The
// browsers of a route ring as an incoming call would ring them, except
// that each is an outbound call and Twilio places one per second per
// account (twiliorest.Pacer queues them): those whose turn comes after
// the request's deadline are not rung, and the answer lists who rings.
// Whoever answers first stays; OnConferenceEvent cancels the others.
// Nothing else of the route applies (its backup phone and no-answer step
// are a caller's, for a cold transfer): nobody answering is told as for
// one target.
func (ctl *Controller) ring(ctx context.Context, api API, c *call, r Request, tg target, ids []string, label string) ([]string, error) {
	if tg.kind != targetRoute {
		return nil, ctl.dialTarget(ctx, api, c, r, tg, label)
	}
	var rung []string
	for _, id := range ids {
		m := target{kind: targetClient, addr: tenant.ClientPrefix + id, ring: tg.dec.Timeout}
		if err := ctl.dialTarget(ctx, api, c, r, m, MemberLabel(label, id)); err != nil {
			if len(rung) > 0 {
				// Some ring already: the request succeeds with them
				// (the pacer found no slot before the deadline, or
				// Twilio refused this one). The answer lists who
				// rings; the request's log line says why the rest not.
				stopped := logging.ErrorKind(err)
				if e, ok := errors.AsType[*Error](err); ok {
					stopped = e.Code
				}
				logging.Add(ctx, slog.Int("ring_group_rung", len(rung)), slog.Int("ring_group_size", len(ids)),
					slog.String("ring_group_stopped", stopped))
				break
			}
			return nil, err
		}
		rung = append(rung, m.addr)
	}
	return rung, nil
}

// CompleteTransfer ends a warm transfer: the party and the target talk,
// the asking browser leaves.
func (ctl *Controller) CompleteTransfer(ctx context.Context, api API, r Request) (Result, error) {
	c, err := locate(ctx, api, r.CallSID, r.Identity, false)
	if err != nil {
		return Result{}, err
	}
	p, ok := c.inGroup(LabelTransfer)
	switch {
	case !c.hubbed || !ok:
		return Result{}, fail(CodeNoTransfer, "no transfer is under way on this call")
	case p.Status != "connected":
		return Result{}, fail(CodeTransferNotJoined, "the transfer target has not answered yet: wait, or cancel")
	}
	if err := setHold(ctx, api, c, false, ""); err != nil {
		return Result{}, err
	}
	_, err = api.UpdateCall(ctx, c.browser.SID, twiliorest.CallUpdate{Status: "completed"})
	if err != nil && !twiliorest.IsCallEnded(err) {
		return Result{}, twilioFailed("end the browser's leg", err)
	}
	return Result{CallSID: r.CallSID, State: StateTransferred}, nil
}

// CancelTransfer ends a warm transfer the other way: the target's call
// ends and the party is back with the asking browser.
func (ctl *Controller) CancelTransfer(ctx context.Context, api API, r Request) (Result, error) {
	c, err := locate(ctx, api, r.CallSID, r.Identity, false)
	if err != nil {
		return Result{}, err
	}
	if _, ok := c.inGroup(LabelTransfer); !c.hubbed || !ok {
		return Result{}, fail(CodeNoTransfer, "no transfer is under way on this call")
	}
	if err := deleteGroup(ctx, api, c, LabelTransfer); err != nil {
		return Result{}, twilioFailed("hang up the transfer target", err)
	}
	if err := setHold(ctx, api, c, false, ""); err != nil {
		return Result{}, err
	}
	return Result{CallSID: r.CallSID, State: StateActive}, nil
}

// Add brings r.To into the call: everyone talks together. A route's
// browsers each ring, and the first to answer joins (ring).
func (ctl *Controller) Add(ctx context.Context, api API, r Request) (Result, error) {
	tg, err := ctl.resolve(r.Tenant, r.Identity, r.To)
	if err != nil {
		return Result{}, err
	}
	c, err := locate(ctx, api, r.CallSID, r.Identity, false)
	if err != nil {
		return Result{}, err
	}
	label := AddLabel(tg.addr)
	if _, dup := c.inGroup(label); dup {
		return Result{CallSID: r.CallSID, State: StateActive}, nil
	}
	ids, err := members(tg, c, r.Identity)
	if err != nil {
		return Result{}, err
	}
	if err := ctl.enter(ctx, api, c, r); err != nil {
		return Result{}, err
	}
	rung, err := ctl.ring(ctx, api, c, r, tg, ids, label)
	if err != nil {
		return Result{}, err
	}
	return Result{CallSID: r.CallSID, State: StateActive, Ringing: rung}, nil
}

// Remove takes out a party Add brought in.
func (ctl *Controller) Remove(ctx context.Context, api API, r Request) (Result, error) {
	tg, err := ctl.resolve(r.Tenant, r.Identity, r.To)
	if err != nil {
		return Result{}, err
	}
	c, err := locate(ctx, api, r.CallSID, r.Identity, false)
	if err != nil {
		return Result{}, err
	}
	label := AddLabel(tg.addr)
	if _, ok := c.inGroup(label); !c.hubbed || !ok {
		return Result{}, fail(CodeNotInCall, "nobody with that address was added to this call")
	}
	if err := deleteGroup(ctx, api, c, label); err != nil {
		return Result{}, twilioFailed("take the party out", err)
	}
	return Result{CallSID: r.CallSID, State: StateActive}, nil
}

// deleteGroup takes out the participant labelled group, or every browser
// of its ring group (ringing or connected: Twilio ends a call it placed
// into a conference when it leaves).
func deleteGroup(ctx context.Context, api API, c *call, group string) error {
	for _, p := range c.parts {
		if !inGroup(p.Label, group) {
			continue
		}
		if err := api.DeleteParticipant(ctx, c.hub.SID, p.Label); err != nil && !twiliorest.IsNotFound(err) {
			return err
		}
	}
	return nil
}
