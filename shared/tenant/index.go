package tenant

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"
)

// IndexSecretName is the secret, under the deployment's prefix, that lists
// its tenants, so a lookup of an AccountSid that is not one of them is
// refused from memory instead of costing a paid GetSecretValue.
const IndexSecretName = "index"

// indexPrefixLen is how many bytes of an AccountSid's 16 the index keeps. A
// secret holds at most 64 KiB: full SIDs would fit about 3,000 tenants,
// 3-byte prefixes (4 base64 characters each) fit 16,000. A made-up SID
// passes the filter with a chance of tenants/2^24 (0.06% at 10,000 tenants)
// and then costs one capped GetSecretValue, as every SID did before.
const indexPrefixLen = 3

// Index is a filter of the deployment's AccountSids: MayContain is true for
// every tenant and false for almost every other SID. The zero Index
// contains nothing.
type Index struct {
	prefixes  []byte // sorted, indexPrefixLen bytes each
	count     int
	updatedAt time.Time
}

// indexDoc is the index secret's JSON.
type indexDoc struct {
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	Count     int       `json:"count"`
	// Prefixes is the standard base64 of the sorted 3-byte prefixes of the
	// SIDs' 16 bytes.
	Prefixes string `json:"prefixes"`
}

// EncodeIndex returns the index secret's value for accountSIDs, which must
// be valid AccountSids.
func EncodeIndex(accountSIDs []string, now time.Time) ([]byte, error) {
	prefixes := make([][]byte, 0, len(accountSIDs))
	for _, sid := range accountSIDs {
		p, ok := sidPrefix(sid)
		if !ok {
			return nil, fmt.Errorf("index: %q is not an AccountSid", sid)
		}
		prefixes = append(prefixes, p)
	}
	slices.SortFunc(prefixes, bytes.Compare)
	prefixes = slices.CompactFunc(prefixes, bytes.Equal)
	return json.Marshal(indexDoc{
		Version: 1, UpdatedAt: now.UTC(), Count: len(accountSIDs),
		Prefixes: base64.StdEncoding.EncodeToString(bytes.Join(prefixes, nil)),
	})
}

// ParseIndex reads the index secret's value.
func ParseIndex(b []byte) (Index, error) {
	var d indexDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return Index{}, fmt.Errorf("index: %w", err)
	}
	if d.Version != 1 {
		return Index{}, fmt.Errorf("index: version %d is not 1", d.Version)
	}
	raw, err := base64.StdEncoding.DecodeString(d.Prefixes)
	if err != nil || len(raw)%indexPrefixLen != 0 {
		return Index{}, fmt.Errorf("index: prefixes are not base64 of %d-byte prefixes", indexPrefixLen)
	}
	x := Index{prefixes: raw, count: d.Count, updatedAt: d.UpdatedAt}
	for i := 1; i < len(raw)/indexPrefixLen; i++ {
		if bytes.Compare(x.prefix(i-1), x.prefix(i)) >= 0 {
			return Index{}, fmt.Errorf("index: prefixes are not sorted")
		}
	}
	return x, nil
}

// MayContain reports whether accountSID may be a tenant: always true for a
// tenant the index was built with, false for almost every other SID.
func (x Index) MayContain(accountSID string) bool {
	p, ok := sidPrefix(accountSID)
	if !ok {
		return false
	}
	n := len(x.prefixes) / indexPrefixLen
	i := sort.Search(n, func(i int) bool { return bytes.Compare(x.prefix(i), p) >= 0 })
	return i < n && bytes.Equal(x.prefix(i), p)
}

// Count is the number of tenants the index was built with.
func (x Index) Count() int { return x.count }

// UpdatedAt is when the index was built.
func (x Index) UpdatedAt() time.Time { return x.updatedAt }

func sidPrefix(sid string) ([]byte, bool) {
	if !ValidAccountSID(sid) {
		return nil, false
	}
	p, err := hex.DecodeString(sid[2 : 2+2*indexPrefixLen])
	return p, err == nil
}

func (x Index) prefix(i int) []byte {
	return x.prefixes[i*indexPrefixLen : (i+1)*indexPrefixLen]
}
