package httpapi_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/httpapi"
)

// BenchmarkCalls serves each call-control route in process: the real
// handlers, the real REST client and the Twilio fake over loopback (so a
// request's REST calls and the webhooks they cause are in the time). The
// call is seeded afresh, untimed, where the route changes it for good.
func BenchmarkCalls(b *testing.B) {
	fresh := func(b *testing.B) (*callsWorld, string) {
		w := newCallsWorldPaced(b, nil)
		var mu sync.Mutex
		clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		w.tw.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(time.Second); return clock })
		return w, w.accessToken(b, "alice")
	}
	run := func(name, path string, prepare func(w *callsWorld, tok string) (sid, body string), want string) {
		b.Run(name, func(b *testing.B) {
			w, tok := fresh(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				sid, body := prepare(w, tok)
				b.StartTimer()
				if st, m := w.post(b, path, tok, body); st != 200 || m["state"] != want {
					b.Fatalf("%s %s = %d %v", path, sid, st, m)
				}
			}
		})
	}
	bridged := func(w *callsWorld, extra string) (string, string) {
		_, browser := w.incoming()
		return browser.SID, fmt.Sprintf(`{"call_sid":%q%s}`, browser.SID, extra)
	}
	run("hold", httpapi.PathCallsHold, func(w *callsWorld, _ string) (string, string) { return bridged(w, "") }, "held")
	run("resume", httpapi.PathCallsResume, func(w *callsWorld, tok string) (string, string) {
		sid, body := bridged(w, "")
		w.post(b, httpapi.PathCallsHold, tok, body)
		return sid, body
	}, "active")
	run("transfer_cold", httpapi.PathCallsTransfer, func(w *callsWorld, _ string) (string, string) {
		return bridged(w, `,"to":"bob"`)
	}, "transferred")
	run("transfer_warm", httpapi.PathCallsTransfer, func(w *callsWorld, _ string) (string, string) {
		return bridged(w, `,"to":"+14155550199","mode":"warm"`)
	}, "transferring")
	run("transfer_complete", httpapi.PathCallsTransferComplete, func(w *callsWorld, tok string) (string, string) {
		sid, body := bridged(w, "")
		w.post(b, httpapi.PathCallsTransfer, tok, fmt.Sprintf(`{"call_sid":%q,"to":"bob","mode":"warm"}`, sid))
		w.answerTarget(b)
		return sid, body
	}, "transferred")
	run("transfer_cancel", httpapi.PathCallsTransferCancel, func(w *callsWorld, tok string) (string, string) {
		sid, body := bridged(w, "")
		w.post(b, httpapi.PathCallsTransfer, tok, fmt.Sprintf(`{"call_sid":%q,"to":"bob","mode":"warm"}`, sid))
		return sid, body
	}, "active")
	run("add", httpapi.PathCallsAdd, func(w *callsWorld, _ string) (string, string) {
		return bridged(w, `,"to":"+14155550199"`)
	}, "active")
	run("remove", httpapi.PathCallsRemove, func(w *callsWorld, tok string) (string, string) {
		sid, body := bridged(w, `,"to":"+14155550199"`)
		w.post(b, httpapi.PathCallsAdd, tok, body)
		return sid, body
	}, "active")
}

// answerTarget answers the ringing warm-transfer target of the newest hub.
func (w *callsWorld) answerTarget(tb testing.TB) {
	confs := w.tw.Conferences(w.sub.SID)
	for _, p := range confs[len(confs)-1].Participants {
		if p.Label == "transfer" {
			w.tw.Answer(w.sub.SID, p.CallSID)
			return
		}
	}
	tb.Fatal("no transfer target")
}
