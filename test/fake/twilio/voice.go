package twilio

// The voice model: calls that run TwiML, the <Dial> bridge between a parent
// call and the leg it dialled, Conferences and their Participants, and
// Calls updates, behaving as Twilio documents:
//
//   - Redirecting (or ending) the parent of a <Dial> hangs up the leg it
//     dialled; Twilio requests the parent's <Dial action> but ignores its
//     TwiML (https://twilio.com/changelog/changes-to-dial-behavior-for-enhanced-programmable-sip-feature-accounts).
//   - Redirecting (or ending) the dialled leg ends the parent's <Dial>: the
//     parent requests its action URL (DialCallStatus=completed) and runs the
//     TwiML it gets, or goes on with the verbs after the <Dial>, or hangs
//     up when there are none (https://www.twilio.com/docs/voice/twiml/dial#action).
//   - A conference starts when a participant with startConferenceOnEnter
//     joins; it ends when one with endConferenceOnExit leaves, or when its
//     last participant leaves; every participant left then goes on after
//     its <Dial>, and a call Twilio placed into it (Participants create)
//     ends (https://www.twilio.com/docs/voice/twiml/conference).
//   - Holding is per participant (Hold, HoldUrl); Participants create places
//     an outbound call, at most one per second per account: a faster one is
//     refused with 429 and error 20429. The participant rings (status
//     ringing) until Answer joins it (participant-join); a call cancelled
//     (Calls update Status=canceled) or unanswered before that ends and
//     leaves the participant list, which holds only participants connecting
//     or connected (https://www.twilio.com/docs/voice/api/conference-participant-resource),
//     with a participant-leave carrying ParticipantCallStatus
//     (https://twilio.com/en-us/changelog/participantcallstatus-and-reasonparticipantleft-attributes-added).
//   - A <Number url> is screened (https://www.twilio.com/docs/voice/twiml/number#url):
//     when the leg answers, Twilio requests url for the leg and runs its
//     TwiML there before bridging; the leg is bridged when that TwiML ends,
//     and when it hangs up the leg ends unbridged and the parent's <Dial>
//     ends. <Gather> waits for Press (a key, posted to its action) or
//     Continue (no key: the verbs after it run). Twilio's reference does
//     not say which DialCallStatus a refused leg leaves; the fake reports
//     completed, the report a naive "answered" check would misread, with
//     DialBridged=false. Every <Dial action> request carries DialBridged.
//   - A <Dial> whose legs all end unanswered (NoAnswer) ends with that
//     status.
//
// The fake sends the webhooks a request causes (action URLs, conference
// status callbacks) after the request has run and before it answers, each
// signed with the account's auth token: the worst ordering a client can
// meet, since its next request always finds the consequences done.

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"bubble-twilio-voice/shared/twiliosig"
)

// Routes of the voice model.
const (
	RouteFetchCall         = "GET /2010-04-01/Accounts/{Sid}/Calls/{CallSid}.json"
	RouteListConferences   = "GET /2010-04-01/Accounts/{Sid}/Conferences.json"
	RouteListParticipants  = "GET /2010-04-01/Accounts/{Sid}/Conferences/{ConferenceSid}/Participants.json"
	RouteCreateParticipant = "POST /2010-04-01/Accounts/{Sid}/Conferences/{ConferenceSid}/Participants.json"
	RouteFetchParticipant  = "GET /2010-04-01/Accounts/{Sid}/Conferences/{ConferenceSid}/Participants/{CallSid}.json"
	RouteUpdateParticipant = "POST /2010-04-01/Accounts/{Sid}/Conferences/{ConferenceSid}/Participants/{CallSid}.json"
	RouteDeleteParticipant = "DELETE /2010-04-01/Accounts/{Sid}/Conferences/{ConferenceSid}/Participants/{CallSid}.json"
)

// Conference is a snapshot of one conference and its participants.
type Conference struct {
	SID, FriendlyName string
	Status            string // init, in-progress, completed
	StatusCallback    string
	Participants      []Participant
}

// Participant is a snapshot of one participant.
type Participant struct {
	CallSID, Label    string
	Hold              bool
	HoldURL           string
	Status            string // ringing, connected
	StartOnEnter      bool
	EndOnExit         bool
	PlacedByREST      bool // a Participants create call: it ends when it leaves
	StatusCallback    string
	StatusCallbackURL string
}

// leg is the voice state of one call.
type leg struct {
	doc     string   // URL of the TwiML document, for relative URLs
	rest    []verb   // verbs after the one running (after a <Dial>, or a <Pause>)
	action  string   // action URL of the <Dial> it runs, resolved
	peer    string   // the other leg of its <Dial> bridge
	ringing []string // legs its <Dial> rings
	whisper string   // a dialled leg's <Number url>, resolved: it is screened
	// screening: the leg answered and runs its whisper; not yet bridged.
	screening bool
	gather    *verb // the <Gather> the call waits in
	// ending is the status the call is ending with, while end takes it
	// out of what it was doing.
	ending string
}

type conference struct {
	sid, name, status string
	statusCallback    string
	parts             []*Participant
}

// webhook is a request the fake owes a webhook URL once the current
// request has run. then, if set, gets the TwiML answered.
type webhook struct {
	account *account
	url     string
	form    url.Values
	then    func(twiml string)
}

// verb is one TwiML verb as the fake reads it.
type verb struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nouns   []verb     `xml:",any"`
}

func (v verb) attr(name string) string {
	for _, a := range v.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func parseTwiML(doc string) []verb {
	var r struct {
		Verbs []verb `xml:",any"`
	}
	if err := xml.Unmarshal([]byte(doc), &r); err != nil {
		return nil
	}
	return r.Verbs
}

// SetClock makes the fake read time from now (the outbound call rate).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Bridge seeds a call in progress on a <Dial>: parent (From, To) dialled
// child (To), which answered. action is the parent's <Dial action>
// (absolute; "" for none) and after the TwiML verbs that follow its <Dial>
// (a document, "" for none).
func (s *Server) Bridge(accountSID, from, to, childTo, action, after string) (parent, child Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.find(accountSID)
	if a == nil {
		panic("twilio fake: Bridge: no account " + accountSID)
	}
	p := s.newCall(a, from, to, "in-progress", "")
	c := s.newCall(a, from, childTo, "in-progress", p.SID)
	pl, cl := a.leg(p.SID), a.leg(c.SID)
	pl.action, pl.peer, pl.rest = action, c.SID, parseTwiML(after)
	cl.peer = p.SID
	return *p, *c
}

// Answer answers a ringing call: a leg a <Dial> rang is bridged to its
// parent (the others ringing are canceled); a participant call joins its
// conference.
func (s *Server) Answer(accountSID, callSID string) {
	s.mu.Lock()
	a, c := s.findCall(accountSID, callSID)
	if c != nil && c.Status == "ringing" {
		c.Status = "in-progress"
		if conf, p := a.participantOf(callSID); p != nil {
			p.Status = "connected"
			s.joined(a, conf, p)
		} else if parent := a.callBySID(c.ParentCallSID); parent != nil {
			if cl := a.leg(callSID); cl.whisper != "" {
				cl.screening = true
				s.pending = append(s.pending, webhook{account: a, url: cl.whisper, form: legForm(a, c, parent), then: func(doc string) {
					if cc := a.callBySID(callSID); cc != nil && live(cc) {
						s.apply(a, cc, doc, cl.whisper)
					}
				}})
			} else {
				s.bridge(a, parent, c)
			}
		}
	}
	s.mu.Unlock()
	s.flush()
}

// Incoming is a call from from to the account's number to, answered by
// voiceURL (the number's "A call comes in" webhook, requested with POST
// and signed) whose TwiML it then runs.
func (s *Server) Incoming(accountSID, from, to, voiceURL string) Call {
	s.mu.Lock()
	a := s.find(accountSID)
	if a == nil {
		s.mu.Unlock()
		panic("twilio fake: Incoming: no account " + accountSID)
	}
	c := s.newCall(a, from, to, "in-progress", "")
	s.redirect(a, c, voiceURL)
	sid := c.SID
	s.mu.Unlock()
	s.flush()
	out, _ := s.Call(accountSID, sid)
	return out
}

// bridge connects the dialled leg c to parent; the other legs parent's
// <Dial> rings are canceled.
func (s *Server) bridge(a *account, parent, c *Call) {
	pl := a.leg(parent.SID)
	for _, r := range pl.ringing {
		if rc := a.callBySID(r); rc != nil && r != c.SID && rc.Status == "ringing" {
			rc.Status = "canceled"
		}
	}
	pl.ringing, pl.peer = nil, c.SID
	cl := a.leg(c.SID)
	cl.peer, cl.screening = parent.SID, false
}

// Press is the person on callSID pressing digits while it waits in a
// <Gather>: Twilio posts them as Digits to the Gather's action (the
// current document when it has none) and runs the answer.
func (s *Server) Press(accountSID, callSID, digits string) {
	s.mu.Lock()
	if a, c := s.findCall(accountSID, callSID); c != nil && a.leg(callSID).gather != nil {
		l := a.leg(callSID)
		action := resolve(l.doc, l.gather.attr("action"))
		if action == "" {
			action = l.doc
		}
		l.gather, l.rest = nil, nil
		form := dialForm(a, c, "", "", false)
		if parent := a.callBySID(c.ParentCallSID); parent != nil {
			form = legForm(a, c, parent)
		}
		form.Set("Digits", digits)
		s.pending = append(s.pending, webhook{account: a, url: action, form: form, then: func(doc string) {
			if cc := a.callBySID(callSID); cc != nil && live(cc) {
				s.apply(a, cc, doc, action)
			}
		}})
	}
	s.mu.Unlock()
	s.flush()
}

// NoAnswer ends a ringing call with no-answer.
func (s *Server) NoAnswer(accountSID, callSID string) {
	s.mu.Lock()
	if a, c := s.findCall(accountSID, callSID); c != nil && c.Status == "ringing" {
		s.end(a, c, "no-answer")
	}
	s.mu.Unlock()
	s.flush()
}

// Hangup is the person on callSID hanging up.
func (s *Server) Hangup(accountSID, callSID string) {
	s.mu.Lock()
	if a, c := s.findCall(accountSID, callSID); c != nil && live(c) {
		s.end(a, c, "completed")
	}
	s.mu.Unlock()
	s.flush()
}

// Continue ends the <Pause> callSID waits in, or its <Gather> with no key
// pressed, and runs what follows it.
func (s *Server) Continue(accountSID, callSID string) {
	s.mu.Lock()
	if a, c := s.findCall(accountSID, callSID); c != nil && (c.Paused || a.leg(callSID).gather != nil) {
		c.Paused = false
		l := a.leg(callSID)
		rest := l.rest
		l.rest, l.gather = nil, nil
		s.runVerbs(a, c, rest)
	}
	s.mu.Unlock()
	s.flush()
}

// Call returns a snapshot of one call.
func (s *Server) Call(accountSID, callSID string) (Call, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, c := s.findCall(accountSID, callSID); c != nil {
		return *c, true
	}
	return Call{}, false
}

// Conferences lists accountSID's conferences in creation order.
func (s *Server) Conferences(accountSID string) []Conference {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Conference
	if a := s.find(accountSID); a != nil {
		for _, c := range a.conferences {
			out = append(out, c.snapshot())
		}
	}
	return out
}

func (c *conference) snapshot() Conference {
	out := Conference{SID: c.sid, FriendlyName: c.name, Status: c.status, StatusCallback: c.statusCallback}
	for _, p := range c.parts {
		out.Participants = append(out.Participants, *p)
	}
	return out
}

func live(c *Call) bool {
	return c.Status == "in-progress" || c.Status == "ringing" || c.Status == "queued"
}

func (s *Server) findCall(accountSID, callSID string) (*account, *Call) {
	a := s.find(accountSID)
	if a == nil {
		return nil, nil
	}
	return a, a.callBySID(callSID)
}

func (a *account) callBySID(sid string) *Call {
	for _, c := range a.calls {
		if c.SID == sid {
			return c
		}
	}
	return nil
}

func (a *account) leg(sid string) *leg {
	if a.legs == nil {
		a.legs = map[string]*leg{}
	}
	l := a.legs[sid]
	if l == nil {
		l = &leg{}
		a.legs[sid] = l
	}
	return l
}

func (s *Server) newCall(a *account, from, to, status, parent string) *Call {
	c := &Call{SID: NewSID("CA"), From: from, To: to, Status: status, ParentCallSID: parent}
	a.calls = append(a.calls, c)
	return c
}

func (a *account) participantOf(callSID string) (*conference, *Participant) {
	for _, conf := range a.conferences {
		if conf.status == "completed" {
			continue
		}
		for _, p := range conf.parts {
			if p.CallSID == callSID {
				return conf, p
			}
		}
	}
	return nil, nil
}

func (a *account) activeConference(nameOrSID string) *conference {
	for _, c := range a.conferences {
		if c.status != "completed" && (c.name == nameOrSID || c.sid == nameOrSID) {
			return c
		}
	}
	return nil
}

// leave takes c out of what it is doing (a <Dial> bridge, the legs it
// rings, a conference) because it was redirected or ended, with Twilio's
// consequences for the other legs. The caller holds mu.
func (s *Server) leave(a *account, c *Call) {
	l := a.leg(c.SID)
	l.rest, l.gather = nil, nil
	c.Paused = false
	if parent := a.callBySID(c.ParentCallSID); parent != nil && l.peer == "" {
		// A leg its parent's <Dial> still rang, or that ran its whisper,
		// ends unbridged: the <Dial> ends when no other leg rings.
		pl := a.leg(parent.SID)
		if i := slices.Index(pl.ringing, c.SID); i >= 0 {
			pl.ringing = slices.Delete(pl.ringing, i, i+1)
			if len(pl.ringing) == 0 && pl.peer == "" && live(parent) {
				status := "completed" // picked up, never bridged (see the top of the file)
				if !l.screening {
					status = pendingStatus(c)
				}
				s.dialEnded(a, parent, status, c.SID, false)
			}
		}
		l.screening = false
	}
	for _, r := range l.ringing {
		if rc := a.callBySID(r); rc != nil && rc.Status == "ringing" {
			rc.Status = "canceled"
		}
	}
	l.ringing = nil
	if l.peer != "" {
		peer := a.callBySID(l.peer)
		pl := a.leg(l.peer)
		l.peer, pl.peer = "", ""
		switch {
		case peer == nil || !live(peer):
		case c.ParentCallSID == peer.SID:
			// c is the dialled leg: the parent's <Dial> ends.
			s.dialEnded(a, peer, "completed", c.SID, true)
		default:
			// c is the parent: Twilio hangs up the dialled leg and
			// requests the action URL, whose TwiML it ignores.
			s.end(a, peer, "completed")
			if l.action != "" {
				s.pending = append(s.pending, webhook{account: a, url: l.action, form: dialForm(a, c, "completed", peer.SID, true)})
			}
		}
		l.action = ""
	}
	if conf, p := a.participantOf(c.SID); p != nil {
		s.removeParticipant(a, conf, p)
	}
	c.Conference = ""
}

// dialEnded: parent's <Dial> ended with status; it requests its action URL
// and runs the answer, or runs the verbs after the <Dial>.
func (s *Server) dialEnded(a *account, parent *Call, status, dialSID string, bridged bool) {
	pl := a.leg(parent.SID)
	action, rest := pl.action, pl.rest
	pl.action, pl.rest, pl.peer = "", nil, ""
	if action == "" {
		s.runVerbs(a, parent, rest)
		return
	}
	sid := parent.SID
	s.pending = append(s.pending, webhook{account: a, url: action, form: dialForm(a, parent, status, dialSID, bridged), then: func(doc string) {
		if p := a.callBySID(sid); p != nil && live(p) {
			s.apply(a, p, doc, action)
		}
	}})
}

// dialForm is the form of a request about call c; status is its <Dial>'s
// DialCallStatus ("" for a request that is not a <Dial action>), bridged
// its DialBridged.
func dialForm(a *account, c *Call, status, dialSID string, bridged bool) url.Values {
	f := url.Values{
		"AccountSid": {a.SID}, "CallSid": {c.SID}, "From": {c.From}, "To": {c.To},
		"CallStatus": {c.Status}, "DialCallStatus": {status}, "Direction": {"inbound"},
	}
	if status != "" {
		f.Set("DialBridged", strconv.FormatBool(bridged))
	}
	if dialSID != "" {
		f.Set("DialCallSid", dialSID)
	}
	return f
}

// legForm is the form of a request about the dialled leg c of parent (its
// whisper, its <Gather> action).
func legForm(a *account, c, parent *Call) url.Values {
	return url.Values{
		"AccountSid": {a.SID}, "CallSid": {c.SID}, "ParentCallSid": {parent.SID}, "From": {c.From}, "To": {c.To},
		"CallStatus": {c.Status}, "Direction": {"outbound-dial"},
	}
}

// pendingStatus is the DialCallStatus of a leg that ended before it was
// answered: how it ended.
func pendingStatus(c *Call) string {
	switch c.Status {
	case "busy", "failed", "canceled", "no-answer":
		return c.Status
	}
	return "no-answer"
}

// end ends c with status, then what it was doing.
func (s *Server) end(a *account, c *Call, status string) {
	l := a.leg(c.SID)
	l.ending = status
	s.leave(a, c)
	c.Status, l.ending = status, ""
}

// apply gives c a new TwiML document (docURL resolves its relative URLs).
func (s *Server) apply(a *account, c *Call, doc, docURL string) {
	c.TwiML = doc
	a.leg(c.SID).doc = docURL
	s.runVerbs(a, c, parseTwiML(doc))
}

// runVerbs runs verbs until one waits (<Dial>, <Pause>, <Record>); a call
// that runs out of verbs hangs up.
func (s *Server) runVerbs(a *account, c *Call, verbs []verb) {
	l := a.leg(c.SID)
	for i, v := range verbs {
		switch v.XMLName.Local {
		case "Say":
			continue
		case "Play", "Pause":
			// Both take time: the call waits here until Continue.
			c.Paused = true
			l.rest = verbs[i+1:]
			return
		case "Redirect":
			s.redirect(a, c, resolve(l.doc, strings.TrimSpace(v.Text)))
			return
		case "Hangup", "Reject":
			s.end(a, c, "completed")
			return
		case "Record":
			return
		case "Gather":
			// Waits for Press or Continue; what is after it runs only with
			// no key pressed.
			l.gather, l.rest = &verbs[i], verbs[i+1:]
			return
		case "Dial":
			l.rest = verbs[i+1:]
			l.action = resolve(l.doc, v.attr("action"))
			s.dial(a, c, v)
			return
		default:
			s.end(a, c, "completed")
			return
		}
	}
	if parent := a.callBySID(c.ParentCallSID); l.screening && parent != nil && live(parent) {
		s.bridge(a, parent, c) // the whisper ended: the leg is put through
		return
	}
	s.end(a, c, "completed")
}

func resolve(base, ref string) string {
	if ref == "" {
		return ""
	}
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}

// redirect fetches new TwiML for c from u (a <Redirect>, or a Calls
// update with Url) and runs it.
func (s *Server) redirect(a *account, c *Call, u string) {
	sid := c.SID
	s.pending = append(s.pending, webhook{account: a, url: u, form: dialForm(a, c, "", "", false), then: func(doc string) {
		if cc := a.callBySID(sid); cc != nil && live(cc) {
			s.apply(a, cc, doc, u)
		}
	}})
}

// dial runs a <Dial>: into a conference, or ringing its clients/numbers.
func (s *Server) dial(a *account, c *Call, v verb) {
	for _, n := range v.Nouns {
		if n.XMLName.Local == "Conference" {
			p := &Participant{
				CallSID: c.SID, Label: n.attr("participantLabel"), Status: "connected",
				StartOnEnter: n.attr("startConferenceOnEnter") != "false",
				EndOnExit:    n.attr("endConferenceOnExit") == "true",
			}
			conf := s.conferenceFor(a, strings.TrimSpace(n.Text), resolve(a.leg(c.SID).doc, n.attr("statusCallback")))
			conf.parts = append(conf.parts, p)
			c.Conference = conf.name
			s.joined(a, conf, p)
			return
		}
	}
	l := a.leg(c.SID)
	for _, n := range v.Nouns {
		to := strings.TrimSpace(n.Text)
		switch n.XMLName.Local {
		case "Client":
			if id := n.Nouns; len(id) > 0 && id[0].XMLName.Local == "Identity" {
				to = strings.TrimSpace(id[0].Text)
			}
			to = "client:" + to
		case "Number":
		default:
			continue
		}
		r := s.newCall(a, c.From, to, "ringing", c.SID)
		l.ringing = append(l.ringing, r.SID)
		if u := n.attr("url"); n.XMLName.Local == "Number" && u != "" {
			a.leg(r.SID).whisper = resolve(l.doc, u)
		}
	}
	if len(l.ringing) == 0 {
		s.dialEnded(a, c, "failed", "", false)
	}
}

func (s *Server) conferenceFor(a *account, name, statusCallback string) *conference {
	if conf := a.activeConference(name); conf != nil {
		return conf
	}
	conf := &conference{sid: NewSID("CF"), name: name, status: "init", statusCallback: statusCallback}
	a.conferences = append(a.conferences, conf)
	return conf
}

// joined: p is connected in conf; the conference starts when p may start it.
func (s *Server) joined(a *account, conf *conference, p *Participant) {
	if p.StartOnEnter && conf.status == "init" {
		conf.status = "in-progress"
	}
	if c := a.callBySID(p.CallSID); c != nil {
		c.Conference = conf.name
	}
	s.conferenceEvent(a, conf, "participant-join", p)
}

func (s *Server) conferenceEvent(a *account, conf *conference, event string, p *Participant) {
	if conf.statusCallback == "" {
		return
	}
	f := url.Values{"AccountSid": {a.SID}, "ConferenceSid": {conf.sid}, "FriendlyName": {conf.name}, "StatusCallbackEvent": {event}}
	if p != nil {
		f.Set("CallSid", p.CallSID)
		f.Set("ParticipantLabel", p.Label)
		f.Set("Hold", strconv.FormatBool(p.Hold))
		f.Set("EndConferenceOnExit", strconv.FormatBool(p.EndOnExit))
		if event == "participant-leave" {
			// The call's status as it left: a placed call that was never
			// answered says so (canceled, no-answer, ...).
			st := a.leg(p.CallSID).ending
			if c := a.callBySID(p.CallSID); st == "" && c != nil {
				st = c.Status
			}
			f.Set("ParticipantCallStatus", st)
		}
	}
	s.pending = append(s.pending, webhook{account: a, url: conf.statusCallback, form: f})
}

// removeParticipant takes p out of conf, and ends conf when p ends it or
// was the last one: every participant left goes on after its <Dial>.
func (s *Server) removeParticipant(a *account, conf *conference, p *Participant) {
	for i, q := range conf.parts {
		if q == p {
			conf.parts = append(conf.parts[:i:i], conf.parts[i+1:]...)
			break
		}
	}
	if c := a.callBySID(p.CallSID); c != nil {
		c.Conference = ""
	}
	s.conferenceEvent(a, conf, "participant-leave", p)
	if !(p.EndOnExit && conf.status == "in-progress") && len(conf.parts) > 0 {
		return
	}
	conf.status = "completed"
	rest := conf.parts
	conf.parts = nil
	s.conferenceEvent(a, conf, "conference-end", nil)
	for _, q := range rest {
		c := a.callBySID(q.CallSID)
		if c == nil || !live(c) {
			continue
		}
		c.Conference = ""
		if q.PlacedByREST {
			s.end(a, c, "completed")
			continue
		}
		s.dialEnded(a, c, "completed", "", true)
	}
}

// updateCall serves Calls update: Status ends a call, Url or Twiml
// redirects it; StatusCallback replaces its status callback URL. A call
// that has ended is refused with Twilio's 21220.
func (s *Server) updateCall(req *request, a *account, c *Call) (int, any) {
	f := req.form
	status, twiml, u := f.Get("Status"), f.Get("Twiml"), f.Get("Url")
	if status == "" && twiml == "" && u == "" && f.Get("StatusCallback") == "" {
		return http.StatusOK, callJSON(a.SID, c)
	}
	if !live(c) {
		return http.StatusBadRequest, twilioError(http.StatusBadRequest, 21220, "Call is not in-progress. Cannot redirect.")
	}
	if cb, ok := f["StatusCallback"]; ok {
		c.StatusCallback = cb[0]
	}
	switch {
	case status == "completed", status == "canceled" && c.Status != "in-progress":
		s.end(a, c, status)
	case status == "canceled":
		// Twilio ignores canceling an answered call.
	case status != "":
		return http.StatusBadRequest, twilioError(http.StatusBadRequest, 20001, "Status must be completed or canceled")
	case twiml != "":
		if c.Status != "in-progress" {
			return http.StatusBadRequest, twilioError(http.StatusBadRequest, 21220, "Call is not in-progress. Cannot redirect.")
		}
		s.leave(a, c)
		s.apply(a, c, twiml, "")
	case u != "":
		if c.Status != "in-progress" {
			return http.StatusBadRequest, twilioError(http.StatusBadRequest, 21220, "Call is not in-progress. Cannot redirect.")
		}
		s.leave(a, c)
		s.redirect(a, c, u)
	}
	return http.StatusOK, callJSON(a.SID, c)
}

// voiceRoute serves the Conferences and Participants routes and fetching
// a call; the caller holds mu.
func (s *Server) voiceRoute(req *request, a *account) (int, any) {
	notFound := func() (int, any) {
		return http.StatusNotFound, twilioError(http.StatusNotFound, 20404, "The requested resource "+req.path+" was not found")
	}
	if req.route == RouteFetchCall {
		if c := a.callBySID(req.child); c != nil {
			return http.StatusOK, callJSON(a.SID, c)
		}
		return notFound()
	}
	if req.route == RouteListConferences {
		var items []any
		for _, c := range a.conferences {
			if fn := req.form.Get("FriendlyName"); fn != "" && c.name != fn {
				continue
			}
			if st := req.form.Get("Status"); st != "" && c.status != st {
				continue
			}
			items = append(items, conferenceJSON(a.SID, c))
		}
		return s.page(req, "conferences", items)
	}
	confID, who, _ := strings.Cut(req.child, "/")
	if req.route == RouteCreateParticipant {
		return s.createParticipant(req, a, confID)
	}
	conf := a.activeConference(confID)
	if conf == nil {
		return notFound()
	}
	if req.route == RouteListParticipants {
		var items []any
		for _, p := range conf.parts {
			items = append(items, participantJSON(a.SID, conf, p))
		}
		return s.page(req, "participants", items)
	}
	var p *Participant
	for _, q := range conf.parts {
		if q.CallSID == who || (q.Label != "" && q.Label == who) {
			p = q
		}
	}
	if p == nil {
		return notFound()
	}
	switch req.route {
	case RouteUpdateParticipant:
		if v, ok := req.form["Hold"]; ok {
			p.Hold = v[0] == "true"
			p.HoldURL = req.form.Get("HoldUrl")
		}
		if v, ok := req.form["EndConferenceOnExit"]; ok {
			p.EndOnExit = v[0] == "true"
		}
	case RouteDeleteParticipant:
		c := a.callBySID(p.CallSID)
		s.removeParticipant(a, conf, p)
		if c != nil && live(c) {
			if p.PlacedByREST {
				s.end(a, c, "completed")
			} else {
				s.dialEnded(a, c, "completed", "", true)
			}
		}
		return http.StatusNoContent, nil
	}
	return http.StatusOK, participantJSON(a.SID, conf, p)
}

// createParticipant places a call into a conference (by SID or friendly
// name; a name with no active conference creates one), at most one per
// second per account.
func (s *Server) createParticipant(req *request, a *account, confID string) (int, any) {
	f := req.form
	if f.Get("From") == "" || f.Get("To") == "" {
		return http.StatusBadRequest, twilioError(http.StatusBadRequest, 21604, "A 'To' and 'From' are required")
	}
	now := s.now()
	if !a.lastCreate.IsZero() && now.Sub(a.lastCreate) < time.Second {
		return http.StatusTooManyRequests, twilioError(http.StatusTooManyRequests, 20429, "Too Many Requests")
	}
	a.lastCreate = now
	conf := a.activeConference(confID)
	if conf == nil {
		if strings.HasPrefix(confID, "CF") && len(confID) == 34 {
			return http.StatusNotFound, twilioError(http.StatusNotFound, 20404, "The requested resource "+req.path+" was not found")
		}
		conf = s.conferenceFor(a, confID, "")
	}
	label := f.Get("Label")
	for _, q := range conf.parts {
		if label != "" && q.Label == label {
			return http.StatusBadRequest, twilioError(http.StatusBadRequest, 16025, "Participant label already in use")
		}
	}
	c := s.newCall(a, f.Get("From"), f.Get("To"), "ringing", "")
	p := &Participant{
		CallSID: c.SID, Label: label, Status: "ringing", PlacedByREST: true,
		StartOnEnter: f.Get("StartConferenceOnEnter") != "false", EndOnExit: f.Get("EndConferenceOnExit") == "true",
		StatusCallback: f.Get("StatusCallback"),
	}
	c.StatusCallback = p.StatusCallback
	conf.parts = append(conf.parts, p)
	return http.StatusCreated, participantJSON(a.SID, conf, p)
}

func conferenceJSON(acct string, c *conference) map[string]any {
	return map[string]any{
		"sid": c.sid, "account_sid": acct, "friendly_name": c.name, "status": c.status,
		"api_version": "2010-04-01", "region": "us1",
		"uri": "/2010-04-01/Accounts/" + acct + "/Conferences/" + c.sid + ".json",
	}
}

func participantJSON(acct string, c *conference, p *Participant) map[string]any {
	return map[string]any{
		"account_sid": acct, "call_sid": p.CallSID, "conference_sid": c.sid, "label": p.Label,
		"hold": p.Hold, "muted": false, "status": p.Status, "coaching": false,
		"start_conference_on_enter": p.StartOnEnter, "end_conference_on_exit": p.EndOnExit,
		"uri": "/2010-04-01/Accounts/" + acct + "/Conferences/" + c.sid + "/Participants/" + p.CallSID + ".json",
	}
}

// flush sends the webhooks requests caused, in order, without the lock,
// and applies the TwiML answered to those that take it. A webhook's own
// consequences are sent in turn.
func (s *Server) flush() {
	for {
		s.mu.Lock()
		if len(s.pending) == 0 {
			s.mu.Unlock()
			return
		}
		w := s.pending[0]
		s.pending = s.pending[1:]
		token := w.account.AuthToken
		s.mu.Unlock()

		doc := s.post(w.url, w.form, token)
		if w.then != nil {
			s.mu.Lock()
			w.then(doc)
			s.mu.Unlock()
		}
	}
}

// post sends one signed webhook and returns the body answered ("" when it
// failed: Twilio would then hang up, as an empty document does here).
func (s *Server) post(rawURL string, form url.Values, authToken string) string {
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		return ""
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twiliosig.Header, twiliosig.Sign(rawURL, form, authToken))
	resp, err := s.client.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(bytes.TrimSpace(body))
}
