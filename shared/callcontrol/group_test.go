package callcontrol

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/twiliorest"
	"bubble-twilio-voice/test/fake/twilio"
)

// supportBrowsers are the Support route's browsers, as rung.
var supportBrowsers = []string{"client:bob", "client:carol", "client:dave"}

// group returns the hub's participants of a ring group, by identity.
func group(hub twilio.Conference, label string) map[string]twilio.Participant {
	out := map[string]twilio.Participant{}
	for _, p := range hub.Participants {
		if g, ok := groupOf(p.Label); ok && g == label {
			out[strings.TrimPrefix(p.Label, label+groupSep)] = p
		}
	}
	return out
}

// TestRingGroup: a warm transfer or add to a route rings each of its
// browsers into the hub as its own participant; the first to answer
// stays, the others still ringing are cancelled by the hub's
// participant-join event. Before, both were refused with invalid_to.
func TestRingGroup(t *testing.T) {
	type op struct {
		name  string
		run   func(w *world, sid string) (Result, error)
		label string // the group's label
		state string
		held  bool // the party holds while the group rings
	}
	warm := op{"warm transfer", func(w *world, sid string) (Result, error) {
		return w.ask(w.ctl.Transfer, sid, "support", ModeWarm)
	}, LabelTransfer, StateTransferring, true}
	add := op{"add", func(w *world, sid string) (Result, error) {
		return w.ask(w.ctl.Add, sid, supportNumber, "")
	}, AddLabel(supportNumber), StateActive, false}

	for _, o := range []op{warm, add} {
		for _, tc := range []struct {
			name   string
			answer []string // who answers, in order ("" for nobody)
			check  func(t *testing.T, w *world, caller, browser twilio.Call)
		}{
			{"carol answers first", []string{"carol", "dave"}, func(t *testing.T, w *world, caller, _ twilio.Call) {
				g := group(w.hub(caller.SID), o.label)
				if len(g) != 1 || g["carol"].Status != "connected" {
					t.Errorf("group %+v; want carol alone, connected", g)
				}
			}},
			{"nobody answers", nil, func(t *testing.T, w *world, caller, browser twilio.Call) {
				hub := w.hub(caller.SID)
				p, _ := participant(hub, LabelParty)
				if len(hub.Participants) != 2 || p.Hold != o.held {
					t.Errorf("hub %+v; want the caller (held %v, as before) and alice", hub, o.held)
				}
				// Told as for one target that does not answer.
				if o.label == LabelTransfer {
					if _, err := w.ctl.CompleteTransfer(ctx, w.api, w.req(browser.SID)); codeOf(err) != CodeNoTransfer {
						t.Errorf("complete = %v; want %s", err, CodeNoTransfer)
					}
				}
			}},
		} {
			t.Run(o.name+": "+tc.name, func(t *testing.T) {
				w := newWorld(t)
				caller, browser := w.incoming()
				res, err := o.run(w, browser.SID)
				must(t, err)
				if res.State != o.state || !slices.Equal(res.Ringing, supportBrowsers) {
					t.Fatalf("result %+v; want %s, ringing %v", res, o.state, supportBrowsers)
				}
				hub := w.hub(caller.SID)
				g := group(hub, o.label)
				if len(g) != 3 {
					t.Fatalf("group %+v; want bob, carol and dave ringing", g)
				}
				for id, p := range g {
					if c := w.call(p.CallSID); p.Status != "ringing" || c.To != "client:"+id || c.From != callerPhone {
						t.Errorf("%s: %+v, call %+v; want it ringing with the caller's number", id, p, c)
					}
				}
				if p, _ := participant(hub, LabelParty); p.Hold != o.held {
					t.Errorf("party held %v; want %v", p.Hold, o.held)
				}
				for _, id := range tc.answer {
					w.tw.Answer(w.sub.SID, g[id].CallSID)
				}
				if len(tc.answer) == 0 {
					for _, p := range g {
						w.tw.NoAnswer(w.sub.SID, p.CallSID)
					}
				}
				for id, p := range g {
					want := "canceled"
					switch {
					case len(tc.answer) == 0:
						want = "no-answer"
					case id == tc.answer[0]:
						want = "in-progress"
					}
					if c := w.call(p.CallSID); c.Status != want {
						t.Errorf("%s's call %s; want %s", id, c.Status, want)
					}
				}
				tc.check(t, w, caller, browser)
			})
		}
	}
}

// The route's backup phone and no-answer step are a caller's: a warm
// transfer to a route completes with the browser that answered, and
// nobody answering changes nothing else.
func TestWarmTransferToRouteComplete(t *testing.T) {
	w := newWorld(t)
	caller, browser := w.incoming()
	_, err := w.ask(w.ctl.Transfer, browser.SID, "Support", ModeWarm)
	must(t, err)
	if _, err := w.ctl.CompleteTransfer(ctx, w.api, w.req(browser.SID)); codeOf(err) != CodeTransferNotJoined {
		t.Errorf("complete while the route rings = %v; want %s", err, CodeTransferNotJoined)
	}
	if _, err := w.ask(w.ctl.Transfer, browser.SID, "+14155550199", ModeWarm); codeOf(err) != CodeTransferUnderWay {
		t.Errorf("a second warm transfer = %v; want %s", err, CodeTransferUnderWay)
	}
	dave := group(w.hub(caller.SID), LabelTransfer)["dave"]
	w.tw.Answer(w.sub.SID, dave.CallSID)
	res, err := w.ctl.CompleteTransfer(ctx, w.api, w.req(browser.SID))
	must(t, err)
	hub := w.hub(caller.SID)
	p, _ := participant(hub, LabelParty)
	if res.State != StateTransferred || p.Hold || len(hub.Participants) != 2 || w.call(browser.SID).Status != "completed" {
		t.Errorf("after complete: %+v, hub %+v; want the caller and dave talking, alice gone", res, hub)
	}
	for _, c := range w.tw.CallsOf(w.sub.SID) {
		if c.To == "+14155550177" {
			t.Errorf("the route's backup phone was rung: %+v", c)
		}
	}
}

// Cancel and remove take out every browser of the group still ringing.
func TestRingGroupCancelAndRemove(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(w *world, sid string) error
		undo  func(w *world, sid string) (Result, error)
	}{
		{"cancel a warm transfer", func(w *world, sid string) error {
			_, err := w.ask(w.ctl.Transfer, sid, "support", ModeWarm)
			return err
		}, func(w *world, sid string) (Result, error) { return w.ctl.CancelTransfer(ctx, w.api, w.req(sid)) }},
		{"remove an add", func(w *world, sid string) error {
			_, err := w.ask(w.ctl.Add, sid, "support", "")
			return err
		}, func(w *world, sid string) (Result, error) { return w.ask(w.ctl.Remove, sid, "Support", "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			caller, browser := w.incoming()
			must(t, tc.start(w, browser.SID))
			res, err := tc.undo(w, browser.SID)
			must(t, err)
			hub := w.hub(caller.SID)
			p, _ := participant(hub, LabelParty)
			if res.State != StateActive || p.Hold || len(hub.Participants) != 2 {
				t.Errorf("%+v, hub %+v; want the caller and alice talking, nobody else", res, hub)
			}
		})
	}
}

// A route with no browser to ring (its only browser asks, or all of them
// are on the call already) is refused before anything changes.
func TestRingGroupWithNoBrowser(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   func(w *world, sid string) (Result, error)
	}{
		{"warm transfer", func(w *world, sid string) (Result, error) { return w.ask(w.ctl.Transfer, sid, "desk", ModeWarm) }},
		{"add", func(w *world, sid string) (Result, error) { return w.ask(w.ctl.Add, sid, deskNumber, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			_, browser := w.incoming()
			w.tw.ResetCalls()
			_, err := tc.op(w, browser.SID)
			if codeOf(err) != CodeInvalidTo || !strings.Contains(err.Error(), "no browser to ring") {
				t.Errorf("err = %v; want invalid_to saying the route has no browser to ring", err)
			}
			if w.tw.Writes() != 0 {
				t.Errorf("%d writes; a refusal changes nothing", w.tw.Writes())
			}
		})
	}
}

// The asking browser hangs up while the route rings: the caller's call
// goes on, and is taken off hold when a browser of the route answers.
func TestWarmTransferToRouteAskerLeaves(t *testing.T) {
	w := newWorld(t)
	caller, browser := w.incoming()
	_, err := w.ask(w.ctl.Transfer, browser.SID, "support", ModeWarm)
	must(t, err)
	bob := group(w.hub(caller.SID), LabelTransfer)["bob"]
	w.tw.Hangup(w.sub.SID, browser.SID)
	w.tw.Answer(w.sub.SID, bob.CallSID)
	hub := w.hub(caller.SID)
	if p, _ := participant(hub, LabelParty); p.Hold || len(hub.Participants) != 2 {
		t.Errorf("hub %+v; want the caller off hold, talking to bob", hub)
	}
}

// Two browsers answering within the same moment: each join event sees the
// other connected. Whichever order the events run in, the one whose label
// sorts first stays and the other is taken out.
func TestRingGroupTwoAnswersAtOnce(t *testing.T) {
	for _, order := range [][]string{{"bob", "carol"}, {"carol", "bob"}} {
		t.Run(strings.Join(order, " then "), func(t *testing.T) {
			w := newWorld(t)
			caller, browser := w.incoming()
			_, err := w.ask(w.ctl.Add, browser.SID, "support", "")
			must(t, err)
			label := AddLabel(supportNumber)
			g := group(w.hub(caller.SID), label)
			w.mu.Lock()
			w.quiet = true
			w.mu.Unlock()
			w.tw.Answer(w.sub.SID, g["bob"].CallSID)
			w.tw.Answer(w.sub.SID, g["carol"].CallSID)
			w.mu.Lock()
			w.quiet = false
			w.mu.Unlock()
			hub := w.hub(caller.SID)
			for _, id := range order {
				must(t, OnConferenceEvent(ctx, w.api, ConferenceEvent{Event: EventJoin, ConferenceSID: hub.SID,
					FriendlyName: hub.FriendlyName, Label: MemberLabel(label, id)}, w.u, w.ten))
			}
			after := group(w.hub(caller.SID), label)
			if _, ok := after["bob"]; len(after) != 1 || !ok {
				t.Errorf("group %+v; want bob alone", after)
			}
			if c := w.call(g["dave"].CallSID); c.Status != "canceled" {
				t.Errorf("dave's call %s; want canceled", c.Status)
			}
		})
	}
}

// Twilio places one outbound call per second per account: a route's
// browsers are rung as their turns come, within the request's deadline;
// those whose turn is later are not rung, and the answer says who rings.
func TestRingGroupWithinTheDeadline(t *testing.T) {
	w := newPacedWorld(t, twiliorest.NewPacer(twiliorest.DefaultCallsPerSecond, time.Now))
	caller, browser := w.incoming()
	ctx, cancel := context.WithTimeout(logging.WithFields(ctx), 1500*time.Millisecond)
	defer cancel()
	r := w.req(browser.SID)
	r.To = "support"
	res, err := w.ctl.Add(ctx, w.api, r)
	must(t, err)
	if !slices.Equal(res.Ringing, supportBrowsers[:2]) || len(group(w.hub(caller.SID), AddLabel(supportNumber))) != 2 {
		t.Errorf("ringing %v; want bob and carol (dave's turn is after the deadline)", res.Ringing)
	}
	// The request's log line says the group was cut short, and why.
	var line strings.Builder
	logging.New(&line, "info").InfoContext(ctx, "access")
	if !strings.Contains(line.String(), `"ring_group_rung":2,"ring_group_size":3,"ring_group_stopped":"rate_limited"`) {
		t.Errorf("log line %s: want the ring group's cut", line.String())
	}
	if n := w.tw.Calls(twilio.RouteCreateParticipant); n != 2 {
		t.Errorf("%d Participants creates; want 2, none refused", n)
	}
}

func TestMemberLabel(t *testing.T) {
	long := strings.Repeat("x", 121)
	for _, tc := range []struct{ group, id, want string }{
		{LabelTransfer, "bob", "transfer--bob"},
		{AddLabel("+14155550122"), "carol_2", "add-14155550122--carol_2"},
		{LabelTransfer, long, ("transfer--" + long)[:128]},
	} {
		got := MemberLabel(tc.group, tc.id)
		g, ok := groupOf(got)
		if got != tc.want || !ok || g != tc.group || !inGroup(got, tc.group) {
			t.Errorf("MemberLabel(%q, %q) = %q (group %q, %v); want %q", tc.group, tc.id, got, g, ok, tc.want)
		}
	}
	for _, l := range []string{LabelParty, LabelTransfer, ClientLabel("bob"), AddLabel("client:bob"), AddLabel("+14155550199")} {
		if _, ok := groupOf(l); ok {
			t.Errorf("groupOf(%q) says a ring group's browser", l)
		}
	}
}
