package provision

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
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
		}
	}
	if d.VoiceURL == "" || d.IncomingURL == "" {
		return Deployment{}, fmt.Errorf("stack %s has no VoiceUrl/IncomingUrl outputs (is it deployed from this repository's template.yaml?)", stack)
	}
	return d, nil
}
