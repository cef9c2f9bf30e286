package callcontrol

import (
	"fmt"
	"strings"
	"testing"
)

// TestRESTCallsPerOperation measures the REST requests each operation
// sends (reads and writes, the hub events' own included) on the fake; the
// table in docs/call-control.md is this test's output (go test -v -run
// RESTCalls ./shared/callcontrol/).
func TestRESTCallsPerOperation(t *testing.T) {
	type row struct {
		name          string
		reads, writes int
	}
	var rows []row
	measure := func(w *world, name string, reads, writes int, op func() error) {
		t.Helper()
		w.tw.ResetCalls()
		if err := op(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r, wr := 0, 0
		for route, n := range w.restCalls() {
			if strings.HasPrefix(route, "GET ") {
				r += n
			} else {
				wr += n
			}
		}
		rows = append(rows, row{name, r, wr})
		if r != reads || wr != writes {
			t.Errorf("%s: %d reads, %d writes; want %d, %d (%v)", name, r, wr, reads, writes, w.restCalls())
		}
	}
	{
		w := newWorld(t)
		_, b := w.incoming()
		measure(w, "hold (call still bridged)", 3, 3, func() error { _, err := w.ctl.Hold(ctx, w.api, w.req(b.SID)); return err })
		measure(w, "resume (in the hub)", 3, 1, func() error { _, err := w.ctl.Resume(ctx, w.api, w.req(b.SID)); return err })
	}
	{
		w := newWorld(t)
		_, b := w.incoming()
		r := w.req(b.SID)
		r.To = "bob"
		measure(w, "cold transfer, incoming call", 2, 1, func() error { _, err := w.ctl.Transfer(ctx, w.api, r); return err })
	}
	{
		w := newWorld(t)
		b, _ := w.outgoing()
		r := w.req(b.SID)
		r.To = "+14155550199"
		measure(w, "cold transfer, placed call", 3, 2, func() error { _, err := w.ctl.Transfer(ctx, w.api, r); return err })
	}
	{
		w := newWorld(t)
		caller, b := w.incoming()
		r := w.req(b.SID)
		r.To, r.Mode = "bob", ModeWarm
		measure(w, "warm transfer (call still bridged)", 3, 4, func() error { _, err := w.ctl.Transfer(ctx, w.api, r); return err })
		target, _ := participant(w.hub(caller.SID), LabelTransfer)
		w.tw.ResetCalls()
		w.tw.Answer(w.sub.SID, target.CallSID)
		rows = append(rows, row{"  target answers (conference event)", len(w.tw.Log()), 0})
		measure(w, "complete (+1 read: the hub event of the browser leaving)", 4, 2, func() error { _, err := w.ctl.CompleteTransfer(ctx, w.api, w.req(b.SID)); return err })
	}
	{
		w := newWorld(t)
		caller, b := w.incoming()
		r := w.req(b.SID)
		r.To, r.Mode = "support", ModeWarm
		measure(w, "warm transfer to a route of 3 browsers (call still bridged)", 3, 6, func() error { _, err := w.ctl.Transfer(ctx, w.api, r); return err })
		bob := group(w.hub(caller.SID), LabelTransfer)["bob"]
		measure(w, "  first browser answers (join event cancels 2; their leave events)", 3, 2, func() error { w.tw.Answer(w.sub.SID, bob.CallSID); return nil })
		measure(w, "complete (+1 read: the hub event of the browser leaving)", 4, 2, func() error { _, err := w.ctl.CompleteTransfer(ctx, w.api, w.req(b.SID)); return err })
	}
	{
		w := newWorld(t)
		_, b := w.incoming()
		r := w.req(b.SID)
		r.To = "support"
		measure(w, "add a route of 3 browsers (call still bridged)", 3, 5, func() error { _, err := w.ctl.Add(ctx, w.api, r); return err })
	}
	{
		w := newWorld(t)
		_, b := w.incoming()
		r := w.req(b.SID)
		r.To = "+14155550199"
		measure(w, "add (call still bridged)", 3, 3, func() error { _, err := w.ctl.Add(ctx, w.api, r); return err })
		measure(w, "remove (+1 read: the hub event of the party leaving)", 4, 1, func() error { _, err := w.ctl.Remove(ctx, w.api, r); return err })
	}
	var b strings.Builder
	b.WriteString("| operation | reads | writes |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %d |\n", r.name, r.reads, r.writes)
	}
	t.Log("\n" + b.String())
}
