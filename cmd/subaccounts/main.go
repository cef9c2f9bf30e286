// Command subaccounts provisions Twilio subaccounts for this service: the
// subaccount, its API key, the deployment's TwiML App, its numbers'
// webhooks and its tenant record in Secrets Manager, in one idempotent
// command; and it rotates, lists, shows and checks them. See
// docs/subaccounts.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"bubble-twilio-voice/shared/provision"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "subaccounts:", err)
		os.Exit(1)
	}
}

const usage = `usage: subaccounts COMMAND [flags]

commands:
  create --name NAME [--account-sid AC...] [--number +E164 ...] [--caller-id +E164]
         [--client ID ...] [--per-number] [--rotate-key] [--new-bearer-key]
                               provision a subaccount end to end (idempotent)
  rotate-key ACCOUNT_SID       new API key; the old one is deleted after --wait
  rotate-auth-token ACCOUNT_SID [--drop-previous]
                               secondary auth token flow: create, store, --wait, promote
  list                         tenant records (no secrets)
  show ACCOUNT_SID             one tenant record (secrets redacted)
  check ACCOUNT_SID            verify record, key, app and numbers; exit 1 on problems
  dead-letters list|redrive    call events the delivery gave up on; send them again

deployment (create, check): --stack NAME (reads outputs VoiceUrl, IncomingUrl, TokenUrl)
  or --voice-url URL --incoming-url URL [--token-url URL] [--deployment LABEL]

environment: TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and
  TWILIO_API_SECRET: a main API key); SECRET_PREFIX (default twilio-voice/);
  AWS credentials and region as for the AWS CLI.
Run "subaccounts COMMAND -h" for a command's flags.
`

// opts holds every flag; each command registers the ones it uses.
type opts struct {
	create       provision.CreateOptions
	numbers      listFlag
	clients      listFlag
	stack        string
	dryRun       bool
	wait         time.Duration
	dropPrevious bool
}

// listFlag is a repeatable flag that also splits on commas.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set appends each comma-separated value.
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	if args[0] == "dead-letters" {
		return runDeadLetters(ctx, args[1:], stdout, stderr) // deadletters.go
	}
	cmd, args := args[0], args[1:]
	var o opts
	fs := flag.NewFlagSet("subaccounts "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := &o.create.Deployment
	deploymentFlags := func() {
		fs.StringVar(&o.stack, "stack", "", "CloudFormation stack to read VoiceUrl, IncomingUrl and TokenUrl from")
		fs.StringVar(&d.VoiceURL, "voice-url", "", "the TwiML App's Voice URL (instead of --stack)")
		fs.StringVar(&d.IncomingURL, "incoming-url", "", "each number's Voice URL (instead of --stack)")
		fs.StringVar(&d.TokenURL, "token-url", "", "the token URL, printed for Bubble (instead of --stack)")
		fs.StringVar(&d.Label, "deployment", "", `names the TwiML App and keys "bubble-twilio-voice (LABEL)" (default: the stack name, else the Voice URL's host)`)
		fs.StringVar(&d.FallbackURL, "voice-fallback-url", provision.DefaultFallbackURL, `VoiceFallbackUrl of the app and numbers ("none" for none)`)
	}
	positional := 0
	switch cmd {
	case "create":
		deploymentFlags()
		fs.StringVar(&o.create.Name, "name", "", "subaccount FriendlyName (found, else created)")
		fs.StringVar(&o.create.AccountSID, "account-sid", "", "adopt this existing subaccount")
		fs.Var(&o.numbers, "number", "E.164 number of the subaccount to route to the deployment (repeatable)")
		fs.StringVar(&o.create.CallerID, "caller-id", "", "default caller ID (default: the first --number)")
		fs.Var(&o.clients, "client", "client identity to ring for incoming calls (repeatable)")
		fs.BoolVar(&o.create.PerNumber, "per-number", false, "route --client per --number instead of as the default route")
		fs.BoolVar(&o.create.RotateKey, "rotate-key", false, "replace the API key even if the stored one works")
		fs.BoolVar(&o.create.NewBearerKey, "new-bearer-key", false, "add another bearer key for Bubble and print it once")
		fs.BoolVar(&o.dryRun, "dry-run", false, "print the plan (REST calls and secret changes) and change nothing")
		fs.DurationVar(&o.wait, "wait", 5*time.Minute, "with --rotate-key: wait this long before deleting the old key (>= SECRET_CACHE_TTL)")
	case "rotate-key":
		positional = 1
		fs.BoolVar(&o.dryRun, "dry-run", false, "print the plan and change nothing")
		fs.DurationVar(&o.wait, "wait", 5*time.Minute, "wait this long before deleting the old key (>= SECRET_CACHE_TTL)")
	case "rotate-auth-token":
		positional = 1
		fs.BoolVar(&o.dryRun, "dry-run", false, "print the plan and change nothing")
		fs.DurationVar(&o.wait, "wait", 5*time.Minute, "wait this long between storing and promoting the secondary token (>= SECRET_CACHE_TTL)")
		fs.BoolVar(&o.dropPrevious, "drop-previous", false, "only remove previous_auth_token after a finished rotation")
	case "list":
	case "show":
		positional = 1
	case "check":
		positional = 1
		deploymentFlags()
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != positional {
		if positional == 1 {
			return fmt.Errorf("%s takes one ACCOUNT_SID", cmd)
		}
		return fmt.Errorf("%s takes no arguments, got %q", cmd, pos)
	}
	o.create.Numbers, o.create.Clients, o.create.Wait = o.numbers, o.clients, o.wait
	if d.FallbackURL == "none" {
		d.FallbackURL = ""
	}

	p, err := newProvisioner(ctx, cmd, o, getenv, stdout)
	if err != nil {
		return err
	}
	if o.stack != "" {
		if err := stackDeployment(ctx, o.stack, d); err != nil {
			return err
		}
	}
	switch cmd {
	case "create":
		return p.Create(ctx, o.create)
	case "rotate-key":
		return p.RotateKey(ctx, pos[0], o.wait)
	case "rotate-auth-token":
		return p.RotateAuthToken(ctx, pos[0], provision.RotateAuthTokenOptions{Wait: o.wait, DropPrevious: o.dropPrevious})
	case "list":
		return p.List(ctx)
	case "show":
		return p.Show(ctx, pos[0])
	default: // check
		return p.Check(ctx, pos[0], *d)
	}
}

// parseInterspersed parses flags given before and after positional
// arguments ("rotate-key AC... --wait 0"), which flag.Parse alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// newProvisioner wires Secrets Manager (always) and Twilio (for the
// commands that call it). TWILIO_API_BASE_URL, for tests, replaces Twilio's
// hosts; AWS endpoints follow the SDK's own AWS_ENDPOINT_URL_* variables.
func newProvisioner(ctx context.Context, cmd string, o opts, getenv func(string) string, stdout io.Writer) (*provision.Provisioner, error) {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	c := provision.Config{
		Secrets:      provision.NewSecretsManager(secretsmanager.NewFromConfig(awsCfg)),
		SecretPrefix: getenv("SECRET_PREFIX"),
		Out:          stdout,
		DryRun:       o.dryRun,
	}
	if cmd != "list" && cmd != "show" {
		c.Twilio, err = provision.NewREST(provision.Credentials{
			AccountSID: getenv("TWILIO_ACCOUNT_SID"),
			AuthToken:  getenv("TWILIO_AUTH_TOKEN"),
			APIKey:     getenv("TWILIO_API_KEY"),
			APISecret:  getenv("TWILIO_API_SECRET"),
		}, provision.RESTOptions{BaseURL: getenv("TWILIO_API_BASE_URL")})
		if err != nil {
			return nil, err
		}
	}
	return provision.New(c), nil
}

// stackDeployment fills d's URLs from the stack's outputs; flags given
// explicitly win.
func stackDeployment(ctx context.Context, stack string, d *provision.Deployment) error {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	s, err := provision.StackDeployment(ctx, cloudformation.NewFromConfig(awsCfg), stack)
	if err != nil {
		return err
	}
	if d.VoiceURL == "" {
		d.VoiceURL = s.VoiceURL
	}
	if d.IncomingURL == "" {
		d.IncomingURL = s.IncomingURL
	}
	if d.TokenURL == "" {
		d.TokenURL = s.TokenURL
	}
	if d.Label == "" {
		d.Label = s.Label
	}
	return nil
}
