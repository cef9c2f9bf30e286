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
	// prefixes of the SIDs' 16 bytes. Read until the next write of the CLI
	// replaces it with version 2.
	Prefixes string `json:"prefixes,omitempty"`
}

// IndexContents is what a version-2 index is built from.
type IndexContents struct {
	// Salt is IndexSaltLen random bytes, kept from the index being
	// replaced (NewIndexSalt for the first one).
	Salt []byte
	// Tenants are the AccountSids the index admits.
	Tenants []string
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
	entries, err := keyedEntries(c.Salt, c.Tenants)
	if err != nil {
		return nil, err
	}
	return encodeV2(c.Salt, entries, c.UpdatedAt)
}

// RewriteIndex returns the value of a version-2 index that keeps x's salt
// and entries, admits add too and no longer admits drop. The CLI rewrites
// this way when it cannot see every tenant: ListSecrets may not show one
// created minutes ago, and x's entries, which name no SID, stay as they are.
// (A function, not a method: the linker then leaves it out of the
// functions, which only read the index.)
func RewriteIndex(x Index, add, drop []string, now time.Time) ([]byte, error) {
	if x.version != 2 {
		return nil, fmt.Errorf("index: a version %d index cannot be rewritten in place; build a new one", x.version)
	}
	added, err := keyedEntries(x.salt, add)
	if err != nil {
		return nil, err
	}
	dropped, err := keyedEntries(x.salt, drop)
	if err != nil {
		return nil, err
	}
	entries := slices.Clone(added)
	for i := range len(x.entries) / indexEntryLen {
		if e := x.entry(i); !slices.ContainsFunc(dropped, func(d []byte) bool { return bytes.Equal(d, e) }) {
			entries = append(entries, e)
		}
	}
	return encodeV2(x.salt, entries, now)
}

// keyedEntries are the index entries of sids under salt.
func keyedEntries(salt []byte, sids []string) ([][]byte, error) {
	entries := make([][]byte, 0, len(sids))
	for _, sid := range sids {
		if !ValidAccountSID(sid) {
			return nil, fmt.Errorf("index: %q is not an AccountSid", redactSID(sid))
		}
		entries = append(entries, keyedEntry(salt, sid))
	}
	return entries, nil
}

// encodeV2 sorts and de-duplicates entries and encodes the index.
func encodeV2(salt []byte, entries [][]byte, updatedAt time.Time) ([]byte, error) {
	slices.SortFunc(entries, bytes.Compare)
	entries = slices.CompactFunc(entries, bytes.Equal)
	b, err := json.Marshal(indexDoc{
		Version: 2, UpdatedAt: updatedAt.UTC(), Count: len(entries),
		Salt:    base64.StdEncoding.EncodeToString(salt),
		Entries: base64.StdEncoding.EncodeToString(bytes.Join(entries, nil)),
	})
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	if len(b) > maxIndexBytes {
		return nil, fmt.Errorf("index: %d tenants make %d bytes, over a secret's 64 KiB (about %d tenants): split them over two stacks", len(entries), len(b), IndexCapacity)
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
		x.salt, raw = salt, d.Entries
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

// Count is the number of entries: the tenants the index was built with,
// less the rare ones whose entries coincide.
func (x Index) Count() int { return x.count }

// UpdatedAt is when the index was built.
func (x Index) UpdatedAt() time.Time { return x.updatedAt }

// Version is the index format: 2 (keyed), 1 (SID prefixes, read until the
// next rewrite), 0 for the zero Index.
func (x Index) Version() int { return x.version }

// Salt is a version-2 index's HMAC key, which a rewrite keeps; nil for
// version 1.
func (x Index) Salt() []byte { return slices.Clone(x.salt) }

// keyedEntry is the index entry of sid under salt.
func keyedEntry(salt []byte, sid string) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(sid))
	return m.Sum(nil)[:indexEntryLen]
}

func (x Index) entry(i int) []byte {
	return x.entries[i*indexEntryLen : (i+1)*indexEntryLen]
}
