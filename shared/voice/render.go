package voice

import "bubble-twilio-voice/shared/twiml"

// settleLength is SettleSeconds as the <Pause> attribute (a constant, so
// no code runs at start; TestSettleLength keeps the two in step).
const settleLength = "2"

// AppendTwiML appends the decision as a TwiML document to dst and returns
// the extended slice. Output is deterministic; <Dial> attributes come in the
// order answerOnBridge, callerId, timeout, action, record, and a <Client>'s
// parameters in the order caller, called, label.
func (d Decision) AppendTwiML(dst []byte) []byte {
	var b twiml.Builder
	b.Reset(dst)
	switch d.Kind {
	case KindSay:
		if d.Say != "" {
			b.Text("Say", d.Say)
		}
		b.Empty("Hangup")
	case KindDial:
		// answerOnBridge keeps the caller hearing ringback, and the inbound
		// call unanswered (and unbilled), until someone picks up.
		b.Start("Dial", "answerOnBridge", "true")
		if d.CallerID != "" {
			b.Attr("callerId", d.CallerID)
		}
		if d.Timeout > 0 {
			b.AttrInt("timeout", d.Timeout)
		}
		if d.Action != "" {
			b.Attr("action", d.Action)
		}
		if d.Record {
			b.Attr("record", RecordMode)
			if d.RecordingCallback != "" {
				b.Attr("recordingStatusCallback", d.RecordingCallback)
			}
		}
		if d.Number != "" {
			if d.ScreenURL != "" {
				b.Text("Number", d.Number, "url", d.ScreenURL)
			} else {
				b.Text("Number", d.Number)
			}
		}
		for _, c := range d.Clients {
			if d.Display == (Display{}) {
				b.Text("Client", c)
				continue
			}
			// With <Parameter>s the identity must be an <Identity> noun.
			b.Start("Client")
			b.Text("Identity", c)
			b.Empty("Parameter", "name", ParamCaller, "value", d.Display.Caller)
			b.Empty("Parameter", "name", ParamCalled, "value", d.Display.Called)
			if d.Display.Label != "" {
				b.Empty("Parameter", "name", ParamLabel, "value", d.Display.Label)
			}
			b.End()
		}
		b.End()
		if d.Settle {
			b.Empty("Pause", "length", settleLength)
		}
	case KindVoicemail:
		b.Text("Say", d.Say)
		b.Start("Record")
		if d.MaxLength > 0 {
			b.AttrInt("maxLength", d.MaxLength)
		}
		b.Attr("playBeep", "true")
		if d.Action != "" {
			b.Attr("action", d.Action)
		}
		if d.RecordingCallback != "" {
			b.Attr("recordingStatusCallback", d.RecordingCallback)
		}
		b.End()
		b.Empty("Hangup")
	case KindScreen:
		b.Start("Gather", "numDigits", "1")
		if d.Action != "" {
			b.Attr("action", d.Action)
		}
		b.Text("Say", d.Say)
		b.End()
		b.Empty("Hangup")
	case KindAccept:
		// Nothing: the whisper's TwiML ends and Twilio bridges the call.
	default: // KindHangup, and anything unknown: ending the call is safe
		if d.Kind == KindHangup && d.Settle {
			b.Empty("Pause", "length", settleLength)
		}
		b.Empty("Hangup")
	}
	return b.Bytes()
}
