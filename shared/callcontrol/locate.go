package callcontrol

import (
	"context"
	"strings"

	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliorest"
)

// call is what one request finds on Twilio about the call it controls.
type call struct {
	browser twiliorest.Call // the asking browser's leg
	// partySID is the other party's leg while the call is a <Dial>
	// bridge ("" once it is in its hub: see parts).
	partySID string
	// partyIsChild: the party's leg is the one the <Dial> placed (the
	// browser placed the call).
	partyIsChild bool
	// incoming: the party is a phone caller who called one of the
	// tenant's numbers; a party that is a browser, or a number a browser
	// called, is not.
	incoming bool
	// browserGone: the asking browser's leg has ended (a reloaded page).
	browserGone bool
	// placed: the browser's leg is a call Twilio placed into the hub.
	placed  bool
	hubName string
	hub     twiliorest.Conference
	hubbed  bool
	parts   []twiliorest.Participant
}

// party returns the party's participant in the hub.
func (c *call) participant(label string) (twiliorest.Participant, bool) {
	for _, p := range c.parts {
		if p.Label == label {
			return p, true
		}
	}
	return twiliorest.Participant{}, false
}

// inGroup returns the participant labelled group or, for a route's ring
// group, its first browser connected, else its first one ringing.
func (c *call) inGroup(group string) (twiliorest.Participant, bool) {
	var found twiliorest.Participant
	ok := false
	for _, p := range c.parts {
		if inGroup(p.Label, group) && (!ok || (p.Status == "connected" && found.Status != "connected")) {
			found, ok = p, true
		}
	}
	return found, ok
}

// onCall says whether the browser identity is in the hub: as itself, or
// as a browser of a ring group.
func (c *call) onCall(identity string) bool {
	for _, p := range c.parts {
		if p.Label == ClientLabel(identity) || strings.HasSuffix(p.Label, groupSep+identity) {
			return true
		}
	}
	return false
}

// identityOf returns the browser identity of a From or To address
// ("client:alice", or "client:alice?x=y" as Twilio may write a To).
func identityOf(addr string) (string, bool) {
	id, ok := strings.CutPrefix(addr, tenant.ClientPrefix)
	if !ok {
		return "", false
	}
	id, _, _ = strings.Cut(id, "?")
	return id, true
}

// locate finds the call sid that identity is on. A SID Twilio does not
// know for this account, and a call identity is not on, are both
// call_not_found, so a caller cannot learn which SIDs exist. A browser leg
// that has ended is call_ended, unless gone allows it (Resume after a
// reload): then the party is looked for through it.
func locate(ctx context.Context, api API, sid, identity string, gone bool) (*call, error) {
	b, err := api.FetchCall(ctx, sid)
	if twiliorest.IsNotFound(err) {
		return nil, fail(CodeCallNotFound, "no call with this call_sid for this identity")
	}
	if err != nil {
		return nil, twilioFailed("read the call", err)
	}
	from, fromClient := identityOf(b.From)
	to, toClient := identityOf(b.To)
	if !(fromClient && from == identity) && !(toClient && to == identity) {
		return nil, fail(CodeCallNotFound, "no call with this call_sid for this identity")
	}
	c := &call{browser: b, browserGone: !b.Live()}
	if c.browserGone && !gone {
		return nil, fail(CodeCallEnded, "the call has ended")
	}
	parent := b.SID
	if b.ParentCallSID != "" {
		// The browser answered: the party is the parent leg, a phone
		// caller unless the <Dial> was placed from another browser (it
		// then carries that browser's client: address as From).
		parent, c.partySID = b.ParentCallSID, b.ParentCallSID
		c.incoming = !fromClient
	}
	c.hubName = HubName(parent)
	c.hub, c.hubbed, err = api.FindConference(ctx, c.hubName)
	if err != nil {
		return nil, twilioFailed("look the call's conference up", err)
	}
	if !c.hubbed && b.ParentCallSID == "" && toClient && !c.browserGone {
		// Called, with no parent: a call Twilio placed into some hub (a
		// warm transfer's target, an added browser). Its hub is not named
		// after it: look for the hub it is in.
		if err := c.findPlaced(ctx, api); err != nil {
			return nil, err
		}
	}
	if c.hubbed {
		c.partySID = ""
		if c.parts, err = api.ListParticipants(ctx, c.hub.SID); err != nil {
			return nil, twilioFailed("list the conference's participants", err)
		}
		if c.placed {
			// Whether the party is a caller of the tenant's: its own leg
			// says (no parent, not a browser).
			if p, ok := c.participant(LabelParty); ok {
				if pc, err := api.FetchCall(ctx, p.CallSID); err == nil {
					_, browser := identityOf(pc.From)
					c.incoming = pc.ParentCallSID == "" && !browser
				}
			}
		}
		return c, nil
	}
	if c.browserGone {
		return c.parked(ctx, api)
	}
	if c.partySID != "" {
		return c, nil
	}
	// The browser placed the call: the party is the leg its <Dial> placed.
	legs, err := api.ListChildCalls(ctx, b.SID, "")
	if err != nil {
		return nil, twilioFailed("list the call's legs", err)
	}
	ringing := false
	for _, l := range legs {
		switch l.Status {
		case "in-progress":
			c.partySID, c.partyIsChild = l.SID, true
			return c, nil
		case "queued", "ringing":
			ringing = true
		}
	}
	if ringing {
		return nil, fail(CodeNotAnswered, "nobody has answered this call yet")
	}
	return nil, fail(CodeNotAnswered, "this call is not connected to anyone")
}

// findPlaced finds the live hub the browser's leg is a participant of.
func (c *call) findPlaced(ctx context.Context, api API) error {
	confs, err := api.ListLiveConferences(ctx)
	if err != nil {
		return twilioFailed("list the conferences", err)
	}
	for _, conf := range confs {
		if !strings.HasPrefix(conf.FriendlyName, hubPrefix) {
			continue
		}
		_, err := api.FetchParticipant(ctx, conf.SID, c.browser.SID)
		if twiliorest.IsNotFound(err) {
			continue
		}
		if err != nil {
			return twilioFailed("look the call's conference up", err)
		}
		c.hub, c.hubbed, c.hubName, c.placed = conf, true, conf.FriendlyName, true
		return nil
	}
	return fail(CodeNotAnswered, "this call is not connected to anyone")
}

// parked: the browser's leg has ended and the hub with it; the party, a
// caller of the tenant's, may still be waiting (parked by sendOn).
func (c *call) parked(ctx context.Context, api API) (*call, error) {
	if !c.incoming {
		return nil, fail(CodeCallEnded, "the call has ended")
	}
	p, err := api.FetchCall(ctx, c.partySID)
	if err != nil || !p.Live() {
		return nil, fail(CodeCallEnded, "the call has ended")
	}
	return c, nil
}
