package tenant

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
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
	// Count is of entries: a few of 10,000 SIDs share one.
	if x.Count() > len(tenants) || x.Count() < len(tenants)-20 || !x.UpdatedAt().Equal(now) {
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
	if _, err := (IndexContents{Salt: []byte("short"), Tenants: []string{randomSID(t)}}).Encode(); err == nil {
		t.Error("Encode accepted a 5-byte salt")
	}
	salt := base64.StdEncoding.EncodeToString(make([]byte, IndexSaltLen))
	for _, tc := range []struct {
		raw string
		ok  bool
	}{
		{`{`, false},
		{`{"version":3,"entries":""}`, false},
		{`{"version":1,"prefixes":"!!"}`, false},
		{`{"version":1,"prefixes":"AAAA"}`, true},      // 3 bytes: one prefix
		{`{"version":1,"prefixes":"AAE="}`, false},     // 2 bytes: not a whole prefix
		{`{"version":1,"prefixes":"AAABAAAA"}`, false}, // 6 bytes, out of order
		{`{"version":2,"entries":"AAAA"}`, false},      // no salt
		{`{"version":2,"salt":"AAAA","entries":"AAAA"}`, false},
		{`{"version":2,"salt":"` + salt + `","entries":"AAAA"}`, true},
		{`{"version":2,"salt":"` + salt + `","entries":"AAABAAAA"}`, false},
	} {
		_, err := ParseIndex([]byte(tc.raw))
		if (err == nil) != tc.ok {
			t.Errorf("ParseIndex(%s) = %v, want ok %v", tc.raw, err, tc.ok)
		}
	}
}

// TestIndexIsKeyed is issue 20 item 3: the version-1 index kept the first 3
// bytes of each SID, so 40 made-up SIDs sharing a tenant's first 8 hex
// digits all passed it. The version-2 index keeps HMAC(salt, SID): SIDs that
// share any prefix with a tenant pass no more often than random ones.
func TestIndexIsKeyed(t *testing.T) {
	tenant := "AC0123456789abcdef0123456789abcdef"
	forged := make([]string, 10000)
	for i := range forged {
		forged[i] = tenant[:10] + randomSID(t)[10:]
	}
	v1 := Index{version: 1, entries: []byte{0x01, 0x23, 0x45}, count: 1}
	passed := func(x Index) (n int) {
		for _, sid := range forged {
			if x.MayContain(sid) {
				n++
			}
		}
		return n
	}
	if n := passed(v1); n != len(forged) {
		t.Fatalf("version 1: %d of %d forged SIDs pass; the reproduction expects all", n, len(forged))
	}
	raw, err := EncodeIndex([]string{tenant}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v2, err := ParseIndex(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !v2.MayContain(tenant) || v2.Version() != 2 {
		t.Fatalf("version 2 index refuses its tenant (version %d)", v2.Version())
	}
	if n := passed(v2); n > 1 {
		// One tenant: each forged SID passes with a chance of 2^-24.
		t.Errorf("version 2: %d of %d forged SIDs pass", n, len(forged))
	}
}

// TestIndexRewrite: a rewrite keeps the salt and every entry (tenants the
// CLI cannot list yet stay admitted), adds and drops what it is told;
// 15,000 tenants fit in a secret, 30,000 do not.
func TestIndexRewrite(t *testing.T) {
	salt, err := NewIndexSalt()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	tenants := make([]string, IndexCapacity)
	for i := range tenants {
		tenants[i] = randomSID(t)
	}
	raw, err := IndexContents{Salt: salt, Tenants: tenants, UpdatedAt: now}.Encode()
	if err != nil {
		t.Fatalf("%d tenants: %v", len(tenants), err)
	}
	x, err := ParseIndex(raw)
	if err != nil {
		t.Fatal(err)
	}
	newSID := randomSID(t)
	raw, err = RewriteIndex(x, []string{newSID, tenants[0]}, []string{tenants[1]}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	y, err := ParseIndex(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(y.Salt(), salt) || !y.UpdatedAt().Equal(now.Add(time.Hour)) || y.Count() != x.Count() {
		t.Errorf("rewrite: salt kept %v, updated %v, count %d (was %d)", bytes.Equal(y.Salt(), salt), y.UpdatedAt(), y.Count(), x.Count())
	}
	if !y.MayContain(newSID) || y.MayContain(tenants[1]) {
		t.Errorf("rewrite: added admitted %v, dropped admitted %v", y.MayContain(newSID), y.MayContain(tenants[1]))
	}
	for _, sid := range tenants[2:] {
		if !y.MayContain(sid) {
			t.Fatalf("rewrite lost %s", sid)
		}
	}
	if _, err := RewriteIndex(Index{version: 1}, []string{newSID}, nil, now); err == nil {
		t.Error("a version 1 index was rewritten in place")
	}
	more := make([]string, 2*IndexCapacity)
	for i := range more {
		more[i] = randomSID(t)
	}
	if _, err := (IndexContents{Salt: salt, Tenants: more}).Encode(); err == nil {
		t.Errorf("%d tenants encoded, over 64 KiB", len(more))
	}
}
