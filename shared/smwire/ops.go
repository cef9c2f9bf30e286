package smwire

import (
	"bytes"
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
)

// operations maps X-Amz-Target operation names to their implementations.
var operations = map[string]func(*Server, []byte) (any, *apiError){
	"GetSecretValue": (*Server).getSecretValue,
	"CreateSecret":   (*Server).createSecret,
	"PutSecretValue": (*Server).putSecretValue,
	"UpdateSecret":   (*Server).updateSecret,
	"DescribeSecret": (*Server).describeSecret,
	"ListSecrets":    (*Server).listSecrets,
}

var errNotFound = errf("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")

// find resolves a SecretId given as a name, a full ARN or an ARN without its
// random suffix. The caller holds mu.
func (s *Server) find(id string) (*secret, *apiError) {
	if id == "" {
		return nil, errf("InvalidParameterException", "SecretId is required.")
	}
	if sec := s.secrets[id]; sec != nil {
		return sec, nil
	}
	if strings.HasPrefix(id, "arn:") {
		for _, sec := range s.secrets {
			if sec.arn == id || sec.arn[:len(sec.arn)-7] == id {
				return sec, nil
			}
		}
	}
	return nil, errNotFound
}

// value is the SecretString/SecretBinary pair of an input.
type value struct {
	SecretString *string `json:",omitempty"`
	SecretBinary []byte  `json:",omitempty"`
}

func (v value) given() bool { return v.SecretString != nil || v.SecretBinary != nil }

func (v value) check() *apiError {
	if v.SecretString != nil && v.SecretBinary != nil {
		return errf("InvalidParameterException", "You can't specify both a binary secret value and a string secret value in the same secret.")
	}
	return nil
}

func (v value) equal(ver *version) bool {
	if (v.SecretString == nil) != (ver.str == nil) {
		return false
	}
	if v.SecretString != nil && *v.SecretString != *ver.str {
		return false
	}
	return bytes.Equal(v.SecretBinary, ver.bin)
}

func (s *Server) getSecretValue(body []byte) (any, *apiError) {
	var in struct {
		SecretId, VersionId, VersionStage string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, e := s.find(in.SecretId)
	if e != nil {
		return nil, e
	}
	var ver *version
	switch {
	case in.VersionId != "":
		ver = sec.versions[in.VersionId]
		if ver == nil || (in.VersionStage != "" && sec.stages[in.VersionStage] != in.VersionId) {
			return nil, errf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: "+in.VersionId)
		}
	default:
		stage := in.VersionStage
		if stage == "" {
			stage = stageCurrent
		}
		ver = sec.versions[sec.stages[stage]]
		if ver == nil {
			return nil, errf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: "+stage)
		}
	}
	sec.accessed = s.now()
	return struct {
		ARN, Name, VersionId string
		value
		VersionStages []string
		CreatedDate   *epoch
	}{sec.arn, sec.name, ver.id, value{ver.str, ver.bin}, sec.stagesOf(ver.id), epochPtr(ver.created)}, nil
}

func (s *Server) createSecret(body []byte) (any, *apiError) {
	var in struct {
		Name, Description, ClientRequestToken string
		value
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := in.check(); e != nil {
		return nil, e
	}
	if !validName(in.Name) {
		return nil, errf("InvalidParameterException", "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
	}
	type out struct {
		ARN, Name string
		VersionId string `json:",omitempty"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[in.Name]; sec != nil {
		// A retry of the same request succeeds, as AWS's idempotency allows.
		if ver := sec.versions[in.ClientRequestToken]; ver != nil && in.ClientRequestToken != "" && in.equal(ver) {
			return out{sec.arn, sec.name, ver.id}, nil
		}
		return nil, errf("ResourceExistsException", "The operation failed because the secret "+in.Name+" already exists.")
	}
	sec := s.create(in.Name, in.Description)
	o := out{ARN: sec.arn, Name: sec.name}
	if in.given() {
		id := in.ClientRequestToken
		if id == "" {
			id = newUUID()
		}
		o.VersionId = s.addVersion(sec, id, in.SecretString, in.SecretBinary, []string{stageCurrent}).id
	}
	return o, nil
}

// newVersion is PutSecretValue's core, shared with UpdateSecret: a retry
// with the same token and value changes nothing; the same token with another
// value is refused. The caller holds mu.
func (s *Server) newVersion(sec *secret, token string, v value, stages []string) (*version, *apiError) {
	if token == "" {
		token = newUUID()
	}
	if old := sec.versions[token]; old != nil {
		if v.equal(old) {
			return old, nil
		}
		return nil, errf("ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
	}
	if len(stages) == 0 {
		stages = []string{stageCurrent}
	}
	return s.addVersion(sec, token, v.SecretString, v.SecretBinary, stages), nil
}

func (s *Server) putSecretValue(body []byte) (any, *apiError) {
	var in struct {
		SecretId, ClientRequestToken string
		value
		VersionStages []string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := in.check(); e != nil {
		return nil, e
	}
	if !in.given() {
		return nil, errf("InvalidRequestException", "You must provide either SecretString or SecretBinary.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, e := s.find(in.SecretId)
	if e != nil {
		return nil, e
	}
	ver, e := s.newVersion(sec, in.ClientRequestToken, in.value, in.VersionStages)
	if e != nil {
		return nil, e
	}
	return struct {
		ARN, Name, VersionId string
		VersionStages        []string
	}{sec.arn, sec.name, ver.id, sec.stagesOf(ver.id)}, nil
}

func (s *Server) updateSecret(body []byte) (any, *apiError) {
	var in struct {
		SecretId, ClientRequestToken string
		Description                  *string
		value
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := in.check(); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, e := s.find(in.SecretId)
	if e != nil {
		return nil, e
	}
	out := struct {
		ARN, Name string
		VersionId string `json:",omitempty"`
	}{ARN: sec.arn, Name: sec.name}
	if in.Description != nil {
		sec.description = *in.Description
		sec.changed = s.now()
	}
	if in.given() {
		ver, e := s.newVersion(sec, in.ClientRequestToken, in.value, nil)
		if e != nil {
			return nil, e
		}
		out.VersionId = ver.id
	}
	return out, nil
}

// entry is the metadata shape shared by DescribeSecret and ListSecrets.
type entry struct {
	ARN, Name        string
	Description      string `json:",omitempty"`
	CreatedDate      *epoch
	LastChangedDate  *epoch
	LastAccessedDate *epoch `json:",omitempty"`
}

func (sec *secret) entry() entry {
	return entry{sec.arn, sec.name, sec.description, epochPtr(sec.created), epochPtr(sec.changed), epochPtr(sec.accessed)}
}

func (s *Server) describeSecret(body []byte) (any, *apiError) {
	var in struct{ SecretId string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, e := s.find(in.SecretId)
	if e != nil {
		return nil, e
	}
	return struct {
		entry
		VersionIdsToStages map[string][]string
	}{sec.entry(), sec.versionStages()}, nil
}

// listSecrets supports the name, description and all filters (prefix match,
// "!" negates), SortBy name or a date, SortOrder, and MaxResults/NextToken
// pagination. Other filter keys are refused rather than silently ignored.
func (s *Server) listSecrets(body []byte) (any, *apiError) {
	var in struct {
		Filters []struct {
			Key    string
			Values []string
		}
		MaxResults        *int
		NextToken         string
		SortBy, SortOrder string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	max := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, errf("InvalidParameterException", "MaxResults must be between 1 and 100.")
		}
		max = *in.MaxResults
	}
	start := 0
	if in.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || n < 0 {
			return nil, errf("InvalidNextTokenException", "The NextToken value is invalid.")
		}
		start = n
	}
	for _, f := range in.Filters {
		switch f.Key {
		case "name", "description", "all":
		default:
			return nil, errf("InvalidParameterException", "smwire: filter key "+strconv.Quote(f.Key)+" is not supported")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*secret
	for _, sec := range s.secrets {
		if matchesAll(sec, in.Filters) {
			list = append(list, sec)
		}
	}
	less := func(a, b *secret) bool { return a.seq < b.seq }
	switch in.SortBy {
	case "name":
		less = func(a, b *secret) bool { return a.name < b.name }
	case "last-changed-date":
		less = func(a, b *secret) bool { return a.changed.Before(b.changed) }
	case "last-accessed-date":
		less = func(a, b *secret) bool { return a.accessed.Before(b.accessed) }
	}
	sort.SliceStable(list, func(i, j int) bool {
		if in.SortOrder == "desc" {
			return less(list[j], list[i])
		}
		return less(list[i], list[j])
	})

	type listEntry struct {
		entry
		SecretVersionsToStages map[string][]string
	}
	out := struct {
		SecretList []listEntry
		NextToken  string `json:",omitempty"`
	}{SecretList: []listEntry{}}
	for i := start; i < len(list) && i < start+max; i++ {
		out.SecretList = append(out.SecretList, listEntry{list[i].entry(), list[i].versionStages()})
	}
	if start+max < len(list) {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(start + max)))
	}
	return out, nil
}

// matchesAll ANDs the filters; the values of one filter are ORed.
func matchesAll(sec *secret, filters []struct {
	Key    string
	Values []string
}) bool {
	for _, f := range filters {
		ok := false
		for _, v := range f.Values {
			neg := strings.HasPrefix(v, "!")
			v = strings.TrimPrefix(v, "!")
			var hit bool
			switch f.Key {
			case "name":
				hit = strings.HasPrefix(sec.name, v)
			case "description":
				hit = strings.HasPrefix(sec.description, v)
			case "all":
				hit = strings.HasPrefix(sec.name, v) || strings.HasPrefix(sec.description, v)
			}
			if hit != neg {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// validName is AWS's rule for secret names: 1 to 512 of letters, digits and
// /_+=.@-!
func validName(n string) bool {
	if n == "" || len(n) > 512 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/_+=.@-!", c) >= 0) {
			return false
		}
	}
	return true
}
