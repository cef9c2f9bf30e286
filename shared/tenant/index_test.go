package tenant

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"
)

func randomSID(t testing.TB) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "AC" + hex.EncodeToString(b[:])
}

func TestIndex(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	tenants := make([]string, 10000)
	for i := range tenants {
		tenants[i] = randomSID(t)
	}
	raw, err := EncodeIndex(tenants, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 64<<10 {
		t.Errorf("index of 10,000 tenants is %d bytes, over a secret's 64 KiB", len(raw))
	}
	x, err := ParseIndex(raw)
	if err != nil {
		t.Fatal(err)
	}
	if x.Count() != len(tenants) || !x.UpdatedAt().Equal(now) {
		t.Errorf("count %d updated %v", x.Count(), x.UpdatedAt())
	}
	for _, sid := range tenants {
		if !x.MayContain(sid) {
			t.Fatalf("tenant %s not in the index", sid)
		}
	}
	// Made-up SIDs pass with a chance of about 10,000/2^24.
	passed := 0
	for range 100000 {
		if x.MayContain(randomSID(t)) {
			passed++
		}
	}
	if passed > 200 {
		t.Errorf("%d of 100,000 random SIDs pass the index, want about 60", passed)
	}
	for _, bad := range []string{"", "AC123", "XX0123456789abcdef0123456789abcdef"} {
		if x.MayContain(bad) {
			t.Errorf("MayContain(%q) = true", bad)
		}
	}
	if (Index{}).MayContain(tenants[0]) {
		t.Error("the zero Index contains a tenant")
	}
}

func TestIndexErrors(t *testing.T) {
	if _, err := EncodeIndex([]string{"AC123"}, time.Now()); err == nil {
		t.Error("EncodeIndex accepted a malformed SID")
	}
	for _, raw := range []string{
		`{`,
		`{"version":2,"prefixes":""}`,
		`{"version":1,"prefixes":"!!"}`,
		`{"version":1,"prefixes":"AAAA"}`,     // 3 bytes: one prefix, fine? no: checked below
		`{"version":1,"prefixes":"AAE="}`,     // 2 bytes: not a whole prefix
		`{"version":1,"prefixes":"AAABAAAA"}`, // 6 bytes, out of order
	} {
		_, err := ParseIndex([]byte(raw))
		if raw == `{"version":1,"prefixes":"AAAA"}` {
			if err != nil {
				t.Errorf("ParseIndex(%s) = %v, want a one-prefix index", raw, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParseIndex(%s) accepted", raw)
		}
	}
}
