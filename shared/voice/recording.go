package voice

import "bubble-twilio-voice/shared/routes"

// RecordingCallbackURL is the recordingStatusCallback URL (routes'
// RecordingStatus, which httpapi serves) for TwiML answering a webhook at
// depth path segments below the API's base (1 for /voice and /incoming, 2
// for /incoming/dial-complete), with query (no "?") appended. Twilio resolves it against the webhook's URL (RFC 3986),
// so from /prod/incoming/dial-complete, "../events/recording-status" is
// /prod/events/recording-status.
func RecordingCallbackURL(depth int, query string) string {
	u := routes.RecordingStatusRel
	for i := 1; i < depth; i++ {
		u = "../" + u
	}
	if query != "" {
		u += "?" + query
	}
	return u
}

// Records reports whether the decision's TwiML records something: a
// voicemail (<Record>) or a recorded <Dial>.
func (d Decision) Records() bool {
	return d.Kind == KindVoicemail || (d.Kind == KindDial && d.Record)
}

// WithRecordingCallback returns d with url as the recordingStatusCallback
// of what it records; a decision that records nothing is returned as is.
func (d Decision) WithRecordingCallback(url string) Decision {
	if d.Records() {
		d.RecordingCallback = url
	}
	return d
}
