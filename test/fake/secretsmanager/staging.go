package secretsmanager

import "slices"

// Staging labels, as AWS names them. PutSecretValue without VersionStages
// moves AWSCURRENT to the new version and AWSPREVIOUS to the version that
// had AWSCURRENT (secret.seed); GetSecretValue reads AWSCURRENT unless the
// request names a VersionStage or a VersionId
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html,
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html).
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
)

// versionFor returns the version GetSecretValue answers for id and stage:
// the one with that id, or the one carrying that staging label (AWSCURRENT
// when both are empty). When both are given they must name the same
// version, as AWS requires. A label no version carries (AWSPREVIOUS of a
// secret written once) is ResourceNotFoundException, AWS's answer. The
// caller holds mu.
func (sec *secret) versionFor(id, stage string) (*version, *apiError) {
	if id == "" && stage == "" {
		stage = StageCurrent
	}
	for _, v := range sec.versions {
		if (id == "" || v.id == id) && (stage == "" || slices.Contains(v.stages, stage)) {
			return v, nil
		}
	}
	switch {
	case id == "":
		return nil, errf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: "+stage)
	case stage == "":
		return nil, errf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: "+id)
	default:
		return nil, errf("ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId: "+id+" and staging label: "+stage)
	}
}

// Stages returns the staging labels of the version of name whose value is
// value, so a test can check where a rotation left them (nil: no such
// version).
func (s *Server) Stages(name, value string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[name]
	if sec == nil {
		return nil
	}
	for _, v := range sec.versions {
		if v.value == value {
			return slices.Clone(v.stages)
		}
	}
	return nil
}
