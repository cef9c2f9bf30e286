package provision

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"bubble-twilio-voice/shared/routes"
	"bubble-twilio-voice/shared/tenant"
)

// DefaultFallbackURL answers Twilio when the deployment's own URL fails
// (timeout, 5xx): a Twimlet hosted by Twilio that says the call cannot be
// connected and hangs up. It lives outside the deployment on purpose: the
// fallback exists for when the deployment is down, so pointing it back at
// the same API would fail the same way.
const DefaultFallbackURL = "https://twimlets.com/message?Message%5B0%5D=Sorry%2C%20the%20call%20cannot%20be%20connected%20right%20now.%20Please%20try%20again%20later."

// Deployment is where one deployment of this service answers Twilio: it
// names the TwiML App and API keys and says which URLs they point at.
type Deployment struct {
	// Label tells deployments apart in Twilio's names: the stack name, with
	// Region when known (default: the Voice URL's host).
	Label       string
	Region      string
	VoiceURL    string // the TwiML App's Voice URL
	IncomingURL string // each number's Voice URL
	TokenURL    string // for the Bubble API Connector; printed only
	FallbackURL string // VoiceFallbackUrl of the app and the numbers
	// StatusCallbackURL receives call status events (POST) from the TwiML
	// App and the numbers. Default: the deployment's base URL (VoiceURL
	// without /voice) + routes.CallStatus.
	StatusCallbackURL string
	// SecretPrefix is where the deployment's functions read the tenant
	// secrets, in Region (the stack's outputs of those names; empty when not
	// known, e.g. from flags or an older stack). See CheckTarget.
	SecretPrefix string
	// Stack is the CloudFormation stack's name (empty when the deployment
	// comes from flags): the CLI tags the secrets it writes with it.
	Stack string
	// RecordingsBucket holds the recording copies (the stack's output
	// RecordingsBucketName; empty when not known): close deletes a
	// subaccount's.
	RecordingsBucket string
	// OwnBaseURL is another base URL of this same deployment: the API's own
	// execute-api URL when a custom domain is in front (the stack's
	// ExecuteApiUrl output). An app or number still pointed there is this
	// deployment's, to repoint, not another deployment's.
	OwnBaseURL string
	// SecretsKmsKeyArn encrypts the secrets provisioning creates (the
	// stack's output of that name; empty: Secrets Manager's own key).
	SecretsKmsKeyArn string
}

// maxLabel keeps the names within Twilio's 64 characters for a
// FriendlyName; the deployment's hash keeps truncated labels apart.
const maxLabel = 22

// ID is a short hash of the deployment's base URL: two stacks with the same
// name (in two regions or accounts) have different URLs, so different IDs.
// With a custom domain in front it is the hash of the API's own URL
// (OwnBaseURL), which a move to the domain does not change.
func (d Deployment) ID() string {
	base := d.base()
	if d.OwnBaseURL != "" {
		base = strings.TrimSuffix(d.OwnBaseURL, "/")
	}
	sum := sha256.Sum256([]byte(base))
	return hex.EncodeToString(sum[:3])
}

// base is the deployment's base URL: VoiceURL without its last segment.
func (d Deployment) base() string {
	if i := strings.LastIndexByte(d.VoiceURL, '/'); i > len("https://") {
		return d.VoiceURL[:i]
	}
	return d.VoiceURL
}

// AppName is the FriendlyName of the deployment's TwiML App in each
// subaccount, e.g. "bubble-twilio-voice (voice-prod/us-east-1 3f9a1c)";
// provisioning finds the app again by it.
func (d Deployment) AppName() string {
	label := d.Label
	if d.Region != "" && !strings.Contains(label, d.Region) {
		label += "/" + d.Region
	}
	if len(label) > maxLabel {
		label = label[:maxLabel]
	}
	return "bubble-twilio-voice (" + label + " " + d.ID() + ")"
}

// keyNamePrefix starts the FriendlyName of every API key this deployment
// creates; each key's name adds a random suffix recorded in the tenant
// record before the key is created (see pending_api_key_names).
func (d Deployment) keyNamePrefix() string { return d.AppName() + " key-" }

// Validate checks the URLs are absolute https (http only for loopback
// hosts, which tests use), fills Label from the Voice URL's host and the
// status callback URL from the base URL.
func (d *Deployment) Validate() error {
	for _, f := range []struct{ name, v string }{{"voice URL", d.VoiceURL}, {"incoming URL", d.IncomingURL}} {
		if f.v == "" {
			return fmt.Errorf("the %s is not set: pass --stack or --voice-url and --incoming-url", f.name)
		}
		if !absoluteURL(f.v) {
			return fmt.Errorf("the %s %q must be an absolute https URL", f.name, f.v)
		}
	}
	if d.Label == "" {
		u, _ := url.Parse(d.VoiceURL)
		d.Label = u.Host
	}
	if d.StatusCallbackURL == "" {
		if !strings.HasSuffix(d.VoiceURL, routes.Voice) {
			return fmt.Errorf("cannot derive the status callback URL from the voice URL %q (it does not end in %s): pass --status-callback-url", d.VoiceURL, routes.Voice)
		}
		d.StatusCallbackURL = d.base() + routes.CallStatus
	}
	if !absoluteURL(d.StatusCallbackURL) {
		return fmt.Errorf("the status callback URL %q must be an absolute https URL", d.StatusCallbackURL)
	}
	return nil
}

func absoluteURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname()))
}

// endpoint is a URL's host and path: what identifies a deployment's route
// (query, scheme and case of the host aside).
func endpoint(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return v
	}
	return strings.ToLower(u.Host) + u.Path
}

// servicePaths are the last path segments of this service's webhook routes.
var servicePaths = []string{routes.Voice, routes.Incoming, routes.CallStatus}

// otherDeployment reports whether v is a route of this service (by its
// path) at another deployment than d: set, not one of d's own URLs, and
// ending like /voice, /incoming or /events/call-status. Twilio's demo URL
// (/welcome/voice/) or a Studio Flow does not count: replacing those is what
// --number is for.
func (d Deployment) otherDeployment(v string) bool {
	if v == "" {
		return false
	}
	e := endpoint(v)
	for _, own := range []string{d.VoiceURL, d.IncomingURL, d.StatusCallbackURL} {
		if e == endpoint(own) {
			return false
		}
	}
	if d.atOwnBase(v) {
		return false
	}
	return slices.ContainsFunc(servicePaths, func(p string) bool { return strings.HasSuffix(e, p) })
}

// atOwnBase reports whether v is under the deployment's other base URL
// (OwnBaseURL): this deployment, not yet repointed.
func (d Deployment) atOwnBase(v string) bool {
	return d.OwnBaseURL != "" && strings.HasPrefix(endpoint(v), strings.TrimSuffix(endpoint(d.OwnBaseURL), "/")+"/")
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// StackDeployment makes a Deployment labelled with the stack's name and
// region from the stack's outputs VoiceUrl, IncomingUrl, TokenUrl, Region,
// SecretPrefix, RecordingsBucketName, ExecuteApiUrl and SecretsKmsKeyArn (see template.yaml).
func StackDeployment(outputs map[string]string, stack, region string) (Deployment, error) {
	d := Deployment{
		Label: stack, Region: region, VoiceURL: outputs["VoiceUrl"], IncomingURL: outputs["IncomingUrl"],
		TokenURL: outputs["TokenUrl"], SecretPrefix: outputs["SecretPrefix"], Stack: StackName(stack),
		RecordingsBucket: outputs["RecordingsBucketName"],
		SecretsKmsKeyArn: outputs["SecretsKmsKeyArn"],
	}
	if own := outputs["ExecuteApiUrl"]; own != "" && own != outputs["BaseUrl"] {
		d.OwnBaseURL = own
	}
	if r, ok := outputs["Region"]; ok {
		d.Region = r
	}
	if d.VoiceURL == "" || d.IncomingURL == "" {
		return Deployment{}, fmt.Errorf("stack %s has no VoiceUrl/IncomingUrl outputs (is it deployed from this repository's template.yaml?)", stack)
	}
	return d, nil
}

// StackName is the name of a stack given by name or by ARN
// (arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID): the value of
// AWS::StackName, which the template's policy compares the secrets' stack
// tag with.
func StackName(stack string) string {
	if rest, ok := strings.CutPrefix(stack, "arn:"); ok {
		if _, after, ok := strings.Cut(rest, ":stack/"); ok {
			name, _, _ := strings.Cut(after, "/")
			return name
		}
	}
	return stack
}

// executeAPIHost matches an API's own host and captures its region.
var executeAPIHost = regexp.MustCompile(`^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// CheckTarget refuses to provision for a deployment that reads its tenant
// secrets somewhere else than this command writes them: another region
// (the stack's Region output, or the region in an execute-api URL) or
// another SECRET_PREFIX (the stack's SecretPrefix output). Either would
// write secrets the functions never see, and every tenant would silently be
// unknown. region and secretPrefix are this command's own.
func CheckTarget(d Deployment, region, secretPrefix string) error {
	if region == "" {
		return errors.New("no AWS region configured: set AWS_REGION (or the profile's region) to the stack's region")
	}
	where := d.Region
	for _, raw := range []string{d.VoiceURL, d.IncomingURL, d.TokenURL} {
		if u, err := url.Parse(raw); err == nil {
			if m := executeAPIHost.FindStringSubmatch(u.Hostname()); m != nil && where == "" {
				where = m[1]
			}
		}
	}
	if where != "" && where != region {
		return fmt.Errorf("the deployment is in %s but this command runs in %s, so its secrets would land where the functions never read them: run it with AWS_REGION=%s", where, region, where)
	}
	secretPrefix = cmp.Or(secretPrefix, tenant.DefaultSecretPrefix)
	if d.SecretPrefix != "" && d.SecretPrefix != secretPrefix {
		return fmt.Errorf("the deployment reads secrets named %q+AccountSid but SECRET_PREFIX is %q: set SECRET_PREFIX=%s", d.SecretPrefix, secretPrefix, d.SecretPrefix)
	}
	return nil
}
