package tenant

import (
	"testing"
	"time"
)

// FuzzParseIndex: whatever the index secret holds, ParseIndex either
// refuses it or returns an Index whose entries are sorted whole entries and
// whose MayContain answers without panicking; a version-2 index it accepts
// has a salt of IndexSaltLen bytes and can be rewritten, keeping what it
// admitted.
func FuzzParseIndex(f *testing.F) {
	raw, _ := IndexContents{
		Salt:    make([]byte, IndexSaltLen),
		Tenants: []string{"AC0123456789abcdef0123456789abcdef", "ACfedcba9876543210fedcba9876543210"},
	}.Encode()
	f.Add(raw)
	f.Add([]byte(`{"version":1,"prefixes":"AAAA"}`))
	f.Add([]byte(`{"version":2,"salt":"AAAAAAAAAAAAAAAAAAAAAA==","entries":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ParseIndex(b)
		if err != nil {
			return
		}
		if len(x.entries)%indexEntryLen != 0 {
			t.Fatalf("entries of %d bytes", len(x.entries))
		}
		x.MayContain("AC0123456789abcdef0123456789abcdef")
		if x.Version() == 2 {
			if len(x.Salt()) != IndexSaltLen {
				t.Fatalf("salt of %d bytes", len(x.Salt()))
			}
			const sid = "AC0123456789abcdef0123456789abcdef"
			before := x.MayContain(sid)
			raw, err := RewriteIndex(x, nil, nil, time.Unix(0, 0))
			if err != nil {
				return // more entries than a secret holds
			}
			y, err := ParseIndex(raw)
			if err != nil || y.MayContain(sid) != before {
				t.Fatalf("rewrite: %v, admits %v, was %v", err, y.MayContain(sid), before)
			}
		}
	})
}
