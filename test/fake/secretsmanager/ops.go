package secretsmanager

import (
	"encoding/base64"
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
}

// errScheduled is AWS's answer to reading or writing a secret scheduled for
// deletion (shared/tenant recognises its text).
var errScheduled = errf("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")

var errNotFound = errf("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")

func (s *Server) getSecretValue(body []byte) (any, *apiError) {
	var in struct{ SecretId string }
	if e := decode(body, &in); e != nil {
		return nil, e
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
	if sec.value == nil {
		return nil, errf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT")
	}
	return struct {
		ARN, Name, VersionId, SecretString string
		VersionStages                      []string
	}{sec.arn, in.SecretId, sec.versionID, *sec.value, []string{"AWSCURRENT"}}, nil
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
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.Name == "" {
		return nil, errf("InvalidParameterException", "Name is required.")
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
	if in.SecretString != nil {
		sec.put(tokenOrUUID(in.ClientRequestToken), *in.SecretString)
	}
	return versionOut{sec.arn, in.Name, sec.versionID}, nil
}

func (s *Server) putSecretValue(body []byte) (any, *apiError) {
	var in struct {
		SecretId, ClientRequestToken string
		SecretString                 *string
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.SecretString == nil {
		return nil, errf("InvalidRequestException", "You must provide either SecretString or SecretBinary.")
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
	sec.put(tokenOrUUID(in.ClientRequestToken), *in.SecretString)
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
		if f.Key != "name" {
			return nil, errf("InvalidParameterException", "fakesm: filter key "+strconv.Quote(f.Key)+" is not supported")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for name, sec := range s.secrets {
		if sec.deletion != nil && !in.IncludePlannedDeletion {
			continue // AWS lists a secret scheduled for deletion only when asked
		}
		if matchesAll(name, in.Filters) {
			names = append(names, name)
		}
	}
	sort.Strings(names)

	type entry struct{ ARN, Name string }
	out := struct {
		SecretList []entry
		NextToken  string `json:",omitempty"`
	}{SecretList: []entry{}}
	for i := start; i < len(names) && i < start+max; i++ {
		out.SecretList = append(out.SecretList, entry{s.secrets[names[i]].arn, names[i]})
	}
	if start+max < len(names) {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(start + max)))
	}
	return out, nil
}

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
	when := s.now().Add(time.Duration(days) * 24 * time.Hour)
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
