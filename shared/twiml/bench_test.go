package twiml_test

import (
	"encoding/xml"
	"testing"

	twiliotwiml "github.com/twilio/twilio-go/twiml"

	"bubble-twilio-voice/shared/twiml"
)

// Both benchmarks build the "dial a number with caller id" response.

func BenchmarkRender(b *testing.B) {
	b.ReportAllocs()
	var tb twiml.Builder
	buf := make([]byte, 0, 512)
	for b.Loop() {
		tb.Reset(buf[:0])
		tb.Start("Dial", "callerId", "+14155550100", "answerOnBridge", "true")
		tb.Text("Number", "+14155550123")
		tb.End()
		buf = tb.Bytes()
	}
}

func BenchmarkRenderTwilioGo(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := twiliotwiml.Voice([]twiliotwiml.Element{
			twiliotwiml.VoiceDial{
				CallerId:       "+14155550100",
				AnswerOnBridge: "true",
				InnerElements:  []twiliotwiml.Element{twiliotwiml.VoiceNumber{PhoneNumber: "+14155550123"}},
			},
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendText(b *testing.B) {
	b.ReportAllocs()
	const s = `Tom & Jerry <say> "hi" it's José, please leave a message after the tone.`
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = twiml.AppendText(buf[:0], s)
	}
}

// TestTwilioGoAgrees checks the benchmarks compare like with like: twilio-go
// builds the same document up to attribute order.
func TestTwilioGoAgrees(t *testing.T) {
	theirs, err := twiliotwiml.Voice([]twiliotwiml.Element{
		twiliotwiml.VoiceDial{
			CallerId:       "+14155550100",
			AnswerOnBridge: "true",
			InnerElements:  []twiliotwiml.Element{twiliotwiml.VoiceNumber{PhoneNumber: "+14155550123"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var b twiml.Builder
	b.Start("Dial", "callerId", "+14155550100", "answerOnBridge", "true")
	b.Text("Number", "+14155550123")
	type dial struct {
		CallerID       string `xml:"callerId,attr"`
		AnswerOnBridge string `xml:"answerOnBridge,attr"`
		Number         string
	}
	type response struct{ Dial dial }
	var a, c response
	if err := xml.Unmarshal(b.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal([]byte(theirs), &c); err != nil {
		t.Fatal(err)
	}
	if a != c || a.Dial.Number == "" {
		t.Errorf("ours %+v, twilio-go %+v (%s)", a, c, theirs)
	}
}
