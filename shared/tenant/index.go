package tenant

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// IndexSecretName is the secret, under the deployment's prefix, that lists
// its tenants, so a lookup of an AccountSid that is not one of them is
// refused from memory instead of costing a paid GetSecretValue.
const IndexSecretName = "index"

// indexEntryLen is how many bytes the index keeps per tenant: in version 2
// the first 3 bytes of HMAC-SHA256(salt, AccountSid), in version 1 the
// first 3 of the SID's 16. A secret holds at most 64 KiB and an entry is 4
// base64 characters, so an index fits about 15,000 tenants (IndexCapacity).
// A SID that is not a tenant passes with a chance of tenants/2^24 (0.006%
// at 1,000 tenants, 0.09% at 15,000) and then costs one capped
// GetSecretValue.
const indexEntryLen = 3

// IndexSaltLen is the length of a version-2 index's salt. The salt is
// random, written once and kept across rewrites: a stranger who does not
// know it cannot make up SIDs that pass the index more often than random
// ones, whatever digits they share with a real tenant's.
const IndexSaltLen = 16

// IndexCapacity is about how many tenants one index secret holds (64 KiB).
const IndexCapacity = 15_000

// maxIndexBytes is Secrets Manager's limit on a secret's value.
const maxIndexBytes = 64 << 10

// Index is a filter of the deployment's AccountSids: MayContain is true for
// every tenant and false for almost every other SID. The zero Index
// contains nothing.
type Index struct {
	version   int
	salt      []byte // version 2: the HMAC key
	entries   []byte // sorted, indexEntryLen bytes each
	count     int
	updatedAt time.Time
	recent    map[string]time.Time
}

// indexDoc is the index secret's JSON.
type indexDoc struct {
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	Count     int       `json:"count"`
	// Salt (version 2) is the standard base64 of the HMAC key.
	Salt string `json:"salt,omitempty"`
	// Entries (version 2) is the standard base64 of the sorted truncated
	// HMAC-SHA256(salt, AccountSid) values.
	Entries string `json:"entries,omitempty"`
	// Prefixes (version 1) is the standard base64 of the sorted 3-byte
	// prefixes of the SIDs' 16 bytes. Read until the next reindex writes
	// version 2.
	Prefixes string `json:"prefixes,omitempty"`
	// Recent (version 2) lists the AccountSids the CLI wrote lately, with
	// when: ListSecrets may not show a secret for minutes, so a rewrite
	// keeps these even when the listing does not (the functions ignore it:
	// they are in Entries too).
	Recent map[string]time.Time `json:"recent,omitempty"`
}

// IndexContents is what a version-2 index is built from.
type IndexContents struct {
	// Salt is IndexSaltLen random bytes, kept from the index being
	// replaced (NewIndexSalt for the first one).
	Salt []byte
	// Tenants are the AccountSids the index admits.
	Tenants []string
	// Recent are AccountSids written lately (also in Tenants or not), kept
	// by the next rewrite even if a lagging listing misses them.
	Recent map[string]time.Time
	// UpdatedAt is when the index was built.
	UpdatedAt time.Time
}

// NewIndexSalt returns a new random salt for an index's first version-2
// write.
func NewIndexSalt() ([]byte, error) {
	salt := make([]byte, IndexSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("index salt: %w", err)
	}
	return salt, nil
}

// Encode returns the index secret's value (version 2). It fails for a
// malformed SID, a salt of the wrong length, or more tenants than a secret
// holds.
func (c IndexContents) Encode() ([]byte, error) {
	if len(c.Salt) != IndexSaltLen {
		return nil, fmt.Errorf("index: salt is %d bytes, want %d", len(c.Salt), IndexSaltLen)
	}
	seen := make(map[string]bool, len(c.Tenants)+len(c.Recent))
	var entries [][]byte
	add := func(sid string) error {
		if !ValidAccountSID(sid) {
			return fmt.Errorf("index: %q is not an AccountSid", sid)
		}
		if !seen[sid] {
			seen[sid] = true
			entries = append(entries, keyedEntry(c.Salt, sid))
		}
		return nil
	}
	for _, sid := range c.Tenants {
		if err := add(sid); err != nil {
			return nil, err
		}
	}
	for _, sid := range slices.Sorted(maps.Keys(c.Recent)) {
		if err := add(sid); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(entries, bytes.Compare)
	entries = slices.CompactFunc(entries, bytes.Equal)
	recent := make(map[string]time.Time, len(c.Recent))
	for sid, at := range c.Recent {
		recent[sid] = at.UTC()
	}
	b, err := json.Marshal(indexDoc{
		Version: 2, UpdatedAt: c.UpdatedAt.UTC(), Count: len(seen),
		Salt:    base64.StdEncoding.EncodeToString(c.Salt),
		Entries: base64.StdEncoding.EncodeToString(bytes.Join(entries, nil)),
		Recent:  recent,
	})
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if len(b) > maxIndexBytes {
		return nil, fmt.Errorf("index: %d tenants make %d bytes, over a secret's 64 KiB (about %d tenants): split them over two stacks", len(seen), len(b), IndexCapacity)
	}
	return b, nil
}

// EncodeIndex returns a version-2 index secret's value for accountSIDs,
// which must be valid AccountSids, under a new random salt. The CLI keeps
// the salt of the index it replaces (IndexContents.Encode); this is for a
// first index and for tests.
func EncodeIndex(accountSIDs []string, now time.Time) ([]byte, error) {
	salt, err := NewIndexSalt()
	if err != nil {
		return nil, err
	}
	return IndexContents{Salt: salt, Tenants: accountSIDs, UpdatedAt: now}.Encode()
}

// ParseIndex reads the index secret's value, version 2 or 1.
func ParseIndex(b []byte) (Index, error) {
	var d indexDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return Index{}, fmt.Errorf("index: %w", err)
	}
	var raw string
	x := Index{version: d.Version, count: d.Count, updatedAt: d.UpdatedAt}
	switch d.Version {
	case 1:
		raw = d.Prefixes
	case 2:
		salt, err := base64.StdEncoding.DecodeString(d.Salt)
		if err != nil || len(salt) != IndexSaltLen {
			return Index{}, fmt.Errorf("index: salt is not base64 of %d bytes", IndexSaltLen)
		}
		for sid := range d.Recent {
			if !ValidAccountSID(sid) {
				return Index{}, fmt.Errorf("index: recent %q is not an AccountSid", redactSID(sid))
			}
		}
		x.salt, x.recent, raw = salt, d.Recent, d.Entries
	default:
		return Index{}, fmt.Errorf("index: version %d is not 1 or 2", d.Version)
	}
	entries, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(entries)%indexEntryLen != 0 {
		return Index{}, fmt.Errorf("index: entries are not base64 of %d-byte entries", indexEntryLen)
	}
	x.entries = entries
	for i := 1; i < len(entries)/indexEntryLen; i++ {
		if bytes.Compare(x.entry(i-1), x.entry(i)) >= 0 {
			return Index{}, fmt.Errorf("index: entries are not sorted")
		}
	}
	return x, nil
}

// MayContain reports whether accountSID may be a tenant: always true for a
// tenant the index was built with, false for almost every other SID.
func (x Index) MayContain(accountSID string) bool {
	if !ValidAccountSID(accountSID) {
		return false
	}
	var e []byte
	switch x.version {
	case 1:
		e, _ = hex.DecodeString(accountSID[2 : 2+2*indexEntryLen])
	case 2:
		e = keyedEntry(x.salt, accountSID)
	default:
		return false
	}
	n := len(x.entries) / indexEntryLen
	i := sort.Search(n, func(i int) bool { return bytes.Compare(x.entry(i), e) >= 0 })
	return i < n && bytes.Equal(x.entry(i), e)
}

// Count is the number of tenants the index was built with.
func (x Index) Count() int { return x.count }

// UpdatedAt is when the index was built.
func (x Index) UpdatedAt() time.Time { return x.updatedAt }

// Version is the index format: 2 (keyed), 1 (SID prefixes, read until the
// next rewrite), 0 for the zero Index.
func (x Index) Version() int { return x.version }

// Salt is a version-2 index's HMAC key, which a rewrite keeps; nil for
// version 1.
func (x Index) Salt() []byte { return slices.Clone(x.salt) }

// Recent returns the AccountSids the CLI wrote lately, with when.
func (x Index) Recent() map[string]time.Time { return maps.Clone(x.recent) }

// keyedEntry is the index entry of sid under salt.
func keyedEntry(salt []byte, sid string) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(sid))
	return m.Sum(nil)[:indexEntryLen]
}

func (x Index) entry(i int) []byte {
	return x.entries[i*indexEntryLen : (i+1)*indexEntryLen]
}

// DefaultIndexRecheck is the default of SecretsConfig.IndexRecheck: how
// long after reading the index a store may read it again because a lookup
// named an AccountSid it does not admit. The CLI waits this long (plus the
// fetch timeout) after writing the index before it says a new subaccount is
// ready.
const DefaultIndexRecheck = 10 * time.Second
