package secretsmanager

import (
	"encoding/base64"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// operations maps X-Amz-Target operation names to their implementations.
var operations = map[string]func(*Server, []byte) (any, *apiError){
	"GetSecretValue": (*Server).getSecretValue,
	"CreateSecret":   (*Server).createSecret,
	"PutSecretValue": (*Server).putSecretValue,
	"ListSecrets":    (*Server).listSecrets,
	"DeleteSecret":   (*Server).deleteSecret,
	"DescribeSecret": (*Server).describeSecret,
	"TagResource":    (*Server).tagResource,

	"ListSecretVersionIds": (*Server).listSecretVersionIds,
}

// errScheduled is AWS's answer to reading or writing a secret scheduled for
// deletion (shared/tenant recognises its text).
var errScheduled = errf("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")

var errNotFound = errf("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")

// withSecret runs f on the secret named id with mu held, or answers
// errNotFound.
func (s *Server) withSecret(id string, f func(*secret) (any, *apiError)) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[id]
	if sec == nil {
		return nil, errNotFound
	}
	return f(sec)
}

func (s *Server) getSecretValue(body []byte) (any, *apiError) {
	var in struct{ SecretId, VersionId, VersionStage string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	return s.withSecret(in.SecretId, func(sec *secret) (any, *apiError) {
		return getValue(sec, in.SecretId, in.VersionId, in.VersionStage)
	})
}

// getValue is GetSecretValue's answer for sec: the version with versionID
// or stage, AWSCURRENT when neither is given (staging.go).
func getValue(sec *secret, name, versionID, stage string) (any, *apiError) {
	if sec.deletion != nil {
		return nil, errScheduled
	}
	v, e := sec.versionFor(versionID, stage)
	if e != nil {
		return nil, e
	}
	return struct {
		ARN, Name, VersionId, SecretString string
		VersionStages                      []string
		CreatedDate                        float64
	}{sec.arn, name, v.id, v.value, slices.Clone(v.stages), epoch(v.created)}, nil
}

// versionOut is what CreateSecret and PutSecretValue answer.
type versionOut struct {
	ARN, Name string
	VersionId string `json:",omitempty"`
}

// createSecret refuses an existing name; a retry of the same request (same
// ClientRequestToken, which the SDK fills in) succeeds, as in AWS.
func (s *Server) createSecret(body []byte) (any, *apiError) {
	var in struct {
		Name, ClientRequestToken, KmsKeyId string
		SecretString                       *string
		Tags                               []tag
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.Name == "" {
		return nil, errf("InvalidParameterException", "Name is required.")
	}
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[in.Name]; sec != nil {
		if sec.deletion != nil {
			return nil, errf("InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
		}
		if in.ClientRequestToken != "" && sec.versionID == in.ClientRequestToken {
			return versionOut{sec.arn, in.Name, sec.versionID}, nil
		}
		return nil, errf("ResourceExistsException", "The operation failed because the secret "+in.Name+" already exists.")
	}
	sec := s.create(in.Name)
	sec.kmsKeyID = in.KmsKeyId
	sec.setTags(in.Tags)
	if in.SecretString != nil {
		sec.seed(tokenOrUUID(in.ClientRequestToken), *in.SecretString, s.now())
	}
	return versionOut{sec.arn, in.Name, sec.versionID}, nil
}

func (s *Server) putSecretValue(body []byte) (any, *apiError) {
	var in struct {
		SecretId, ClientRequestToken string
		SecretString                 *string
		VersionStages                []string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.SecretString == nil {
		return nil, errf("InvalidRequestException", "You must provide either SecretString or SecretBinary.")
	}
	if len(in.VersionStages) > 0 {
		// AWS then moves only the labels named; the fake models the
		// default, AWSCURRENT to the new version (staging.go).
		return nil, errf("InvalidParameterException", "fakesm: VersionStages is not supported")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[in.SecretId]
	if sec == nil {
		return nil, errNotFound
	}
	if sec.deletion != nil {
		return nil, errScheduled
	}
	id := tokenOrUUID(in.ClientRequestToken)
	if v := sec.version(id); v != nil {
		// A retry of the same request (the SDK keeps the token) does
		// nothing; another value under the same token is refused.
		if v.value != *in.SecretString {
			return nil, errf("ResourceExistsException", "A resource with the ID you requested already exists.")
		}
		return versionOut{sec.arn, in.SecretId, id}, nil
	}
	if e := sec.put(id, *in.SecretString, s.now()); e != nil {
		return nil, e
	}
	return versionOut{sec.arn, in.SecretId, sec.versionID}, nil
}

func tokenOrUUID(token string) string {
	if token == "" {
		return newUUID()
	}
	return token
}

// listSecrets lists by name in pages of MaxResults (default 100). The only
// filter is "name", matching prefixes; values of one filter are ORed.
func (s *Server) listSecrets(body []byte) (any, *apiError) {
	var in struct {
		Filters []struct {
			Key    string
			Values []string
		}
		MaxResults             *int
		NextToken              string
		IncludePlannedDeletion bool
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	start, max, e := page(in.MaxResults, in.NextToken)
	if e != nil {
		return nil, e
	}
	for _, f := range in.Filters {
		if f.Key != "name" {
			return nil, errf("InvalidParameterException", "fakesm: filter key "+strconv.Quote(f.Key)+" is not supported")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var names []string
	for name, sec := range s.secrets {
		if s.listLag > 0 && now.Sub(sec.created) < s.listLag {
			continue // created too recently for the listing to show it
		}
		deleted := sec.deletion != nil && (s.listLag <= 0 || now.Sub(sec.deletedAt) >= s.listLag)
		if deleted && !in.IncludePlannedDeletion {
			continue // AWS lists a secret scheduled for deletion only when asked
		}
		if matchesAll(name, in.Filters) {
			names = append(names, name)
		}
	}
	sort.Strings(names)

	type entry struct {
		ARN, Name string
		Tags      []tag `json:",omitempty"`
	}
	out := struct {
		SecretList []entry
		NextToken  string `json:",omitempty"`
	}{SecretList: []entry{}}
	for i := start; i < len(names) && i < start+max; i++ {
		sec := s.secrets[names[i]]
		out.SecretList = append(out.SecretList, entry{sec.arn, names[i], slices.Clone(sec.tags)})
	}
	out.NextToken = nextToken(start, max, len(names))
	return out, nil
}

// page reads MaxResults (1 to 100, default 100) and NextToken (an offset).
func page(maxResults *int, token string) (start, max int, e *apiError) {
	max = 100
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > 100 {
			return 0, 0, errf("InvalidParameterException", "MaxResults must be between 1 and 100.")
		}
		max = *maxResults
	}
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || n < 0 {
			return 0, 0, errf("InvalidNextTokenException", "The NextToken value is invalid.")
		}
		start = n
	}
	return start, max, nil
}

// nextToken is the token of the page after [start, start+max) of n items,
// "" after the last.
func nextToken(start, max, n int) string {
	if start+max < n {
		return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(start + max)))
	}
	return ""
}

// describeSecret answers a secret's metadata: it is consistent at once,
// unlike ListSecrets, and answers for a secret scheduled for deletion too
// (with its DeletedDate).
func (s *Server) describeSecret(body []byte) (any, *apiError) {
	var in struct{ SecretId string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	return s.withSecret(in.SecretId, func(sec *secret) (any, *apiError) { return describe(sec, in.SecretId), nil })
}

// describe is DescribeSecret's answer for sec.
func describe(sec *secret, name string) any {
	out := struct {
		ARN, Name          string
		CreatedDate        float64
		DeletedDate        *float64 `json:",omitempty"`
		Tags               []tag    `json:",omitempty"`
		VersionIdsToStages map[string][]string
	}{ARN: sec.arn, Name: name, CreatedDate: epoch(sec.created), Tags: slices.Clone(sec.tags), VersionIdsToStages: map[string][]string{}}
	if sec.deletion != nil {
		d := epoch(sec.deletedAt)
		out.DeletedDate = &d
	}
	for _, v := range sec.versions {
		if len(v.stages) > 0 {
			out.VersionIdsToStages[v.id] = slices.Clone(v.stages)
		}
	}
	return out
}

// tagResource adds tags to a secret (replacing the values of keys it has).
func (s *Server) tagResource(body []byte) (any, *apiError) {
	var in struct {
		SecretId string
		Tags     []tag
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkTags(in.Tags); e != nil {
		return nil, e
	}
	return s.withSecret(in.SecretId, func(sec *secret) (any, *apiError) {
		if sec.deletion != nil {
			return nil, errScheduled
		}
		sec.setTags(in.Tags)
		return struct{}{}, nil
	})
}

// checkTags refuses what AWS refuses: an empty key, the reserved aws:
// prefix, more than 50 tags.
func checkTags(tags []tag) *apiError {
	if len(tags) > 50 {
		return errf("ValidationException", "Number of tags exceeds the limit of 50.")
	}
	for _, t := range tags {
		if t.Key == "" || strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return errf("InvalidParameterException", "Invalid tag key.")
		}
	}
	return nil
}

// listSecretVersionIds lists a secret's versions, oldest first; deprecated
// ones (no staging label) only with IncludeDeprecated, as AWS does.
func (s *Server) listSecretVersionIds(body []byte) (any, *apiError) {
	var in struct {
		SecretId          string
		IncludeDeprecated bool
		MaxResults        *int
		NextToken         string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	start, max, e := page(in.MaxResults, in.NextToken)
	if e != nil {
		return nil, e
	}
	return s.withSecret(in.SecretId, func(sec *secret) (any, *apiError) {
		return versionIDs(sec, in.SecretId, in.IncludeDeprecated, start, max), nil
	})
}

// versionIDs is a page of ListSecretVersionIds' answer for sec.
func versionIDs(sec *secret, name string, deprecated bool, start, max int) any {
	type entry struct {
		VersionId     string
		VersionStages []string `json:",omitempty"`
		CreatedDate   float64
	}
	var all []entry
	for _, v := range sec.versions {
		if len(v.stages) > 0 || deprecated {
			all = append(all, entry{v.id, slices.Clone(v.stages), epoch(v.created)})
		}
	}
	out := struct {
		ARN, Name string
		Versions  []entry
		NextToken string `json:",omitempty"`
	}{ARN: sec.arn, Name: name, Versions: []entry{}}
	for i := start; i < len(all) && i < start+max; i++ {
		out.Versions = append(out.Versions, all[i])
	}
	out.NextToken = nextToken(start, max, len(all))
	return out
}

// epoch is a timestamp as awsJson sends it: seconds since 1970.
func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// deleteSecret schedules a secret for deletion after RecoveryWindowInDays
// (7 to 30, default 30), or deletes it at once with
// ForceDeleteWithoutRecovery. The fake never purges: a scheduled secret
// stays until the test ends.
func (s *Server) deleteSecret(body []byte) (any, *apiError) {
	var in struct {
		SecretId                   string
		RecoveryWindowInDays       *int64
		ForceDeleteWithoutRecovery bool
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	days := int64(30)
	if in.RecoveryWindowInDays != nil {
		if in.ForceDeleteWithoutRecovery {
			return nil, errf("InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
		}
		days = *in.RecoveryWindowInDays
		if days < 7 || days > 30 {
			return nil, errf("InvalidParameterException", "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[in.SecretId]
	if sec == nil {
		return nil, errNotFound
	}
	if in.ForceDeleteWithoutRecovery {
		delete(s.secrets, in.SecretId)
		return struct {
			ARN, Name    string
			DeletionDate float64
		}{sec.arn, in.SecretId, float64(s.now().Unix())}, nil
	}
	if sec.deletion != nil {
		return nil, errf("InvalidRequestException", "You can't perform this operation on the secret because it was already scheduled for deletion.")
	}
	sec.deletedAt = s.now()
	when := sec.deletedAt.Add(time.Duration(days) * 24 * time.Hour)
	sec.deletion = &when
	return struct {
		ARN, Name    string
		DeletionDate float64
	}{sec.arn, in.SecretId, float64(when.Unix())}, nil
}

// matchesAll ANDs the filters; the values of one filter are ORed.
func matchesAll(name string, filters []struct {
	Key    string
	Values []string
}) bool {
	for _, f := range filters {
		ok := false
		for _, v := range f.Values {
			ok = ok || strings.HasPrefix(name, v)
		}
		if !ok {
			return false
		}
	}
	return true
}
