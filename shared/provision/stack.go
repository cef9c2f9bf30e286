package provision

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/smithy-go"

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
	// Label tells deployments apart in Twilio's names (the stack name).
	Label       string
	VoiceURL    string // the TwiML App's Voice URL
	IncomingURL string // each number's Voice URL
	TokenURL    string // for the Bubble API Connector; printed only
	FallbackURL string // VoiceFallbackUrl of the app and the numbers
	// Region and SecretPrefix are where the deployment's functions read the
	// tenant secrets (the stack's outputs of those names; empty when not
	// known, e.g. from flags or an older stack). See CheckTarget.
	Region       string
	SecretPrefix string
}

// AppName is the FriendlyName of the deployment's TwiML App in each
// subaccount; provisioning finds the app again by it.
func (d Deployment) AppName() string { return "bubble-twilio-voice (" + d.Label + ")" }

// KeyName is the FriendlyName of the API keys provisioning creates; keys
// with this name that no record references are orphans of a failed run.
func (d Deployment) KeyName() string { return "bubble-twilio-voice (" + d.Label + ")" }

// Validate checks the URLs are absolute https (http only for loopback
// hosts, which tests use) and fills Label from the Voice URL's host.
func (d *Deployment) Validate() error {
	for _, f := range []struct{ name, v string }{{"voice URL", d.VoiceURL}, {"incoming URL", d.IncomingURL}} {
		if f.v == "" {
			return fmt.Errorf("the %s is not set: pass --stack or --voice-url and --incoming-url", f.name)
		}
		u, err := url.Parse(f.v)
		if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
			return fmt.Errorf("the %s %q must be an absolute https URL", f.name, f.v)
		}
	}
	if d.Label == "" {
		u, _ := url.Parse(d.VoiceURL)
		d.Label = u.Host
	}
	return nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// CloudFormationAPI is the subset of *cloudformation.Client used.
type CloudFormationAPI interface {
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// StackDeployment reads the VoiceUrl, IncomingUrl and TokenUrl outputs of
// the stack (see template.yaml) into a Deployment labelled with its name.
func StackDeployment(ctx context.Context, cfn CloudFormationAPI, stack string) (Deployment, error) {
	out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && strings.Contains(api.ErrorMessage(), "does not exist") {
			// The usual cause: the CLI runs in another region than the stack.
			return Deployment{}, fmt.Errorf("describe stack %s: %w (no such stack in this command's AWS region: run it in the stack's region, e.g. AWS_REGION=<region>; the functions read the tenant secrets there)", stack, err)
		}
		return Deployment{}, fmt.Errorf("describe stack %s: %w", stack, err)
	}
	if len(out.Stacks) == 0 {
		return Deployment{}, fmt.Errorf("describe stack %s: no such stack", stack)
	}
	d := Deployment{Label: stack}
	for _, o := range out.Stacks[0].Outputs {
		v := strings.TrimSpace(aws.ToString(o.OutputValue))
		switch aws.ToString(o.OutputKey) {
		case "VoiceUrl":
			d.VoiceURL = v
		case "IncomingUrl":
			d.IncomingURL = v
		case "TokenUrl":
			d.TokenURL = v
		case "Region":
			d.Region = v
		case "SecretPrefix":
			d.SecretPrefix = v
		}
	}
	if d.VoiceURL == "" || d.IncomingURL == "" {
		return Deployment{}, fmt.Errorf("stack %s has no VoiceUrl/IncomingUrl outputs (is it deployed from this repository's template.yaml?)", stack)
	}
	return d, nil
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
	if secretPrefix == "" {
		secretPrefix = tenant.DefaultSecretPrefix
	}
	if d.SecretPrefix != "" && d.SecretPrefix != secretPrefix {
		return fmt.Errorf("the deployment reads secrets named %q+AccountSid but SECRET_PREFIX is %q: set SECRET_PREFIX=%s", d.SecretPrefix, secretPrefix, d.SecretPrefix)
	}
	return nil
}
