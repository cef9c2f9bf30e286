// Command subaccounts manages Twilio subaccounts for this service over
// their whole life: create (the subaccount, its API key, the deployment's
// TwiML App, its numbers' webhooks and its tenant record in Secrets Manager,
// in one idempotent command), rotate keys and tokens, suspend and
// reactivate, move numbers, report usage, set dialing permissions, close;
// and list, show and check tenants. See docs/subaccounts.md.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // the functions' zone database, so routes' hours are checked here as there

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/routes"
	"bubble-twilio-voice/shared/tenant"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	finished := make(chan struct{})
	go exitOnSecondSignal(ctx, finished, os.Stderr, func(c chan<- os.Signal) { signal.Notify(c, os.Interrupt, syscall.SIGTERM) }, func() { os.Exit(130) })
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	close(finished)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0) // COMMAND -h: the flags were asked for
	case errors.Is(err, errNoCommand):
		os.Exit(2)
	case errors.Is(err, context.Canceled):
		// Interrupted between two writes: nothing is half-written.
		fmt.Fprintln(os.Stderr, "subaccounts:", err)
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "subaccounts:", err)
		os.Exit(1)
	}
}

// exitOnSecondSignal waits for the first signal (ctx cancelled before
// finished is closed): the command then stops before its next write, which
// may take a moment. A second signal calls exit at once. notify registers
// the channel for the signals (signal.Notify; tests feed it directly).
func exitOnSecondSignal(ctx context.Context, finished <-chan struct{}, stderr io.Writer, notify func(chan<- os.Signal), exit func()) {
	select {
	case <-finished:
		return
	case <-ctx.Done():
	}
	select {
	case <-finished: // closed before stop() cancelled ctx: no signal came
		return
	default:
	}
	again := make(chan os.Signal, 1)
	notify(again)
	fmt.Fprintln(stderr, "subaccounts: interrupted: stopping before the next change (press Ctrl-C again to exit at once; rerun to finish)")
	select {
	case <-again:
		fmt.Fprintln(stderr, "subaccounts: interrupted again: exiting now (rerun the same command to finish)")
		exit()
	case <-finished:
	}
}

// errNoCommand is a run without a command: the usage went to stderr.
var errNoCommand = errors.New("no command given")

const usage = `usage: subaccounts COMMAND [flags]

the life of a subaccount:
  create --name NAME [--account-sid AC...] [--number +E164 ...] [--caller-id +E164]
         [--client ID ...] [--per-number] [--rotate-key] [--new-bearer-key] [--force]
         [--no-reindex] [--no-wait]
                               provision a subaccount end to end (idempotent); it
                               is ready (every function admits it) when it returns
  suspend ACCOUNT_SID          suspend in Twilio, end its calls, /token refuses it
  reactivate ACCOUNT_SID       undo suspend
  move-number +E164 --from AC...|main --to AC...|main [--client ID ...]
                               transfer a number and move its webhooks and routing
  usage [ACCOUNT_SID ...] [--all] [--month YYYY-MM | --start DATE --end DATE] [--json]
                               calls, minutes, recordings, numbers and price
  dialing-permissions ACCOUNT_SID [--inherit true|false]
                               the voice geographic permissions it inherits
  close ACCOUNT_SID --yes-close-ACCOUNT_SID --stack NAME [--keep-recordings]
                               close for good (Twilio releases its numbers; its
                               recording copies in the stack's bucket are deleted)
keys and tokens:
  rotate-key ACCOUNT_SID       new API key; the old one is deleted after --cache-ttl
  rotate-auth-token ACCOUNT_SID [--drop-previous]
                               secondary auth token flow: create, store, --wait, promote
inspection:
  list                         tenant records (no secrets)
  show ACCOUNT_SID             one tenant record (secrets redacted)
  check ACCOUNT_SID | --all    verify record, key, app, numbers, index; exit 1 on problems
  reindex [--no-wait]          rebuild the deployment's tenant index from the secrets
                               (after a bulk of create --no-reindex)
  dead-letters list|redrive    call events the delivery gave up on; send them again
  events test ACCOUNT_SID [--type T]
                               POST one test event of each type to the tenant's events.url,
                               as the delivery does (for Bubble's "Detect data")
moving:
  repoint ACCOUNT_SID ... | --all [--force]
                               point TwiML Apps and numbers at the deployment's URLs
                               (a custom domain); a line per tenant; rerun to finish

deployment (create, check, move-number, repoint, events test): --stack NAME (reads outputs VoiceUrl,
  IncomingUrl, TokenUrl) or --voice-url URL --incoming-url URL [--token-url URL]
Commands that write take --dry-run, and --stack NAME: the secrets they write are
  tagged with the stack, and a tenant tagged for another stack is refused
  unless --force (without --stack: the stack the index is tagged for).
Ctrl-C stops before the next change; a second Ctrl-C exits at once; rerunning
the same command finishes the job.

environment: TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and
  TWILIO_API_SECRET: a main API key); SECRET_PREFIX (default ` + tenant.DefaultSecretPrefix + `);
  AWS credentials and region as for the AWS CLI: the region must be the
  stack's (create, check and repoint refuse another), where the functions read secrets.
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
	cacheTTL     time.Duration
	noWait       bool
	force        bool
	dropPrevious bool
	confirm      string // the suffix of --yes-close-<AccountSid>
	recoveryDays int
	from, to     string
	all, json    bool
	month        string
	start, end   string
	inherit      string
	eventType    string
	closeOpts    closeFlags // close.go
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

// command describes one command's arguments and whether it needs Twilio.
type command struct {
	positional int // -1: any number
	twilio     bool
	deployment bool
}

var commands = map[string]command{
	"create":              {positional: 0, twilio: true, deployment: true},
	"rotate-key":          {positional: 1, twilio: true},
	"rotate-auth-token":   {positional: 1, twilio: true},
	"list":                {positional: 0},
	"show":                {positional: 1},
	"check":               {positional: -1, twilio: true, deployment: true},
	"repoint":             {positional: -1, twilio: true, deployment: true},
	"reindex":             {positional: 0, twilio: true},
	"suspend":             {positional: 1, twilio: true},
	"reactivate":          {positional: 1, twilio: true},
	"close":               {positional: 1, twilio: true},
	"move-number":         {positional: 1, twilio: true, deployment: true},
	"usage":               {positional: -1, twilio: true},
	"dialing-permissions": {positional: 1, twilio: true},
	"events":              {positional: 2, deployment: true}, // events test ACCOUNT_SID
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errNoCommand
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		// Asked for: the answer, on stdout, and success.
		fmt.Fprint(stdout, usage)
		return nil
	}
	if args[0] == "dead-letters" {
		return runDeadLetters(ctx, args[1:], stdout, stderr) // deadletters.go
	}
	name, args := args[0], args[1:]
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", name)
	}
	var o opts
	if name == "close" {
		args = takeConfirmation(args, &o.confirm)
	}
	fs := flag.NewFlagSet("subaccounts "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := &o.create.Deployment
	if cmd.deployment {
		fs.StringVar(&o.stack, "stack", "", "CloudFormation stack to read VoiceUrl, IncomingUrl and TokenUrl from")
		fs.StringVar(&d.VoiceURL, "voice-url", "", "the TwiML App's Voice URL (instead of --stack)")
		fs.StringVar(&d.IncomingURL, "incoming-url", "", "each number's Voice URL (instead of --stack)")
		fs.StringVar(&d.TokenURL, "token-url", "", "the token URL, printed for Bubble (instead of --stack)")
		fs.StringVar(&d.StatusCallbackURL, "status-callback-url", "", "status callback of the app and numbers (default: the base URL + "+routes.CallStatus+")")
		fs.StringVar(&d.Label, "deployment", "", `names the TwiML App and keys "bubble-twilio-voice (LABEL ID)" (default: the stack name and region, else the Voice URL's host)`)
		fs.StringVar(&d.FallbackURL, "voice-fallback-url", provision.DefaultFallbackURL, `VoiceFallbackUrl of the app and numbers ("none" for none)`)
	}
	dryRun := func() {
		fs.BoolVar(&o.dryRun, "dry-run", false, "print the plan (REST calls and secret changes) and change nothing")
		if !cmd.deployment {
			fs.StringVar(&o.stack, "stack", "", "the CloudFormation stack whose tenants these are (default: the one the index is tagged for)")
		}
		if name != "create" && name != "repoint" { // theirs says more
			fs.BoolVar(&o.force, "force", false, "change a tenant tagged for another stack, and take it over")
		}
	}
	cacheTTL := func() {
		fs.DurationVar(&o.cacheTTL, "cache-ttl", tenant.DefaultSecretsTTL, "the functions' SECRET_CACHE_TTL: a replaced API key is deleted this long after the record stopped naming it")
		fs.BoolVar(&o.noWait, "no-wait", false, "do not wait for --cache-ttl (a rerun after it deletes the replaced key), nor for every function to admit a new tenant")
	}
	switch name {
	case "create":
		fs.StringVar(&o.create.Name, "name", "", "subaccount FriendlyName (found, else created)")
		fs.StringVar(&o.create.AccountSID, "account-sid", "", "adopt this existing subaccount")
		fs.Var(&o.numbers, "number", "E.164 number of the subaccount to route to the deployment (repeatable)")
		fs.StringVar(&o.create.CallerID, "caller-id", "", "default caller ID (default: the first --number)")
		fs.Var(&o.clients, "client", "client identity to ring for incoming calls (repeatable)")
		fs.BoolVar(&o.create.PerNumber, "per-number", false, "route --client per --number instead of as the default route")
		fs.BoolVar(&o.create.RotateKey, "rotate-key", false, "replace the API key even if the stored one works")
		fs.BoolVar(&o.create.NewBearerKey, "new-bearer-key", false, "add another bearer key for Bubble and print it once")
		fs.BoolVar(&o.force, "force", false, "re-target a TwiML App or number that points at another deployment of this service, and take over a tenant tagged for another stack")
		fs.BoolVar(&o.create.NoReindex, "no-reindex", false, "write the tenant, not the index (bulk onboarding): not ready, numbers left alone, until subaccounts reindex and a rerun")
		dryRun()
		cacheTTL()
	case "rotate-key":
		dryRun()
		cacheTTL()
	case "rotate-auth-token":
		dryRun()
		fs.DurationVar(&o.wait, "wait", tenant.DefaultSecretsTTL, "wait this long between storing and promoting the secondary token (>= SECRET_CACHE_TTL)")
		fs.BoolVar(&o.dropPrevious, "drop-previous", false, "only remove previous_auth_token after a finished rotation")
	case "reindex", "suspend", "reactivate", "dialing-permissions":
		dryRun()
		if name == "reindex" {
			fs.BoolVar(&o.noWait, "no-wait", false, "do not wait for every function to admit the tenants; say from when")
		}
		if name == "dialing-permissions" {
			fs.StringVar(&o.inherit, "inherit", "", "set the inheritance: true or false (default: only show it)")
		}
	case "close":
		dryRun()
		fs.IntVar(&o.recoveryDays, "recovery-days", 30, "Secrets Manager recovery window of the deleted tenant secret (7-30)")
		// --yes-close-<AccountSid> is not a flag of fs (takeConfirmation takes
		// it out first): its usage says how it is typed.
		fs.Usage = func() {
			fmt.Fprintf(stderr, "usage: subaccounts close ACCOUNT_SID --yes-close-ACCOUNT_SID [flags]\n\n"+
				"  --yes-close-ACCOUNT_SID\n    \tconfirms the close: the flag spelt with the subaccount's SID and no value,\n"+
				"    \tfor example --yes-close-AC0123456789abcdef0123456789abcdef\n")
			fs.PrintDefaults()
		}
		o.closeOpts.register(fs)
	case "move-number":
		dryRun()
		fs.StringVar(&o.from, "from", "", `the account that has the number: an AccountSid, or "main"`)
		fs.StringVar(&o.to, "to", "", `the account to move it to: an AccountSid, or "main"`)
		fs.Var(&o.clients, "client", "client identity to ring for the number in the gaining tenant (repeatable)")
	case "events":
		fs.StringVar(&o.eventType, "type", "", "send only this event type ("+strings.Join(tenant.EventTypes, ", ")+")")
	case "check":
		fs.BoolVar(&o.all, "all", false, "every tenant record under SECRET_PREFIX, with a line per tenant and a total")
	case "repoint":
		dryRun()
		fs.BoolVar(&o.all, "all", false, "every tenant record under SECRET_PREFIX")
		fs.BoolVar(&o.force, "force", false, "re-target an app or number that points at another deployment of this service, and a tenant tagged for another stack")
	case "usage":
		fs.BoolVar(&o.all, "all", false, "every subaccount of the main account")
		fs.StringVar(&o.month, "month", "", "the period: a calendar month such as 2026-01 (default: last month)")
		fs.StringVar(&o.start, "start", "", "the period's first day, YYYY-MM-DD (with --end)")
		fs.StringVar(&o.end, "end", "", "the period's last day, YYYY-MM-DD, inclusive")
		fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case name == "check" && !o.all && len(pos) != 1:
		return errors.New("check takes one ACCOUNT_SID, or --all")
	case cmd.positional == 1 && len(pos) != 1:
		if name == "move-number" {
			return errors.New("move-number takes one number (+E164)")
		}
		return fmt.Errorf("%s takes one ACCOUNT_SID", name)
	case cmd.positional == 0 && len(pos) != 0:
		return fmt.Errorf("%s takes no arguments, got %q", name, pos)
	case name == "events" && (len(pos) != 2 || pos[0] != "test"):
		return errors.New("usage: events test ACCOUNT_SID [--type T] (--stack NAME | --voice-url URL)")
	}
	o.create.Numbers, o.create.Clients = o.numbers, o.clients
	o.create.CacheTTL, o.create.NoWait, o.create.Force = o.cacheTTL, o.noWait, o.force
	if d.FallbackURL == "none" {
		d.FallbackURL = ""
	}

	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	if o.stack != "" {
		if err := stackDeployment(ctx, awsCfg, o.stack, d); err != nil {
			return err
		}
	}
	p, err := newProvisioner(awsCfg, cmd, o, getenv, stdout)
	if err != nil {
		return err
	}
	if name == "create" || name == "check" || name == "repoint" || d.Stack != "" {
		// Secrets written in another region (or under another prefix) than
		// the functions read would leave every tenant unknown, silently.
		if err := provision.CheckTarget(*d, awsCfg.Region, getenv("SECRET_PREFIX")); err != nil {
			return err
		}
	}
	switch name {
	case "create":
		return p.Create(ctx, o.create)
	case "rotate-key":
		return p.RotateKey(ctx, pos[0], provision.RotateKeyOptions{CacheTTL: o.cacheTTL, NoWait: o.noWait})
	case "rotate-auth-token":
		return p.RotateAuthToken(ctx, pos[0], provision.RotateAuthTokenOptions{Wait: o.wait, DropPrevious: o.dropPrevious})
	case "list":
		return p.List(ctx)
	case "show":
		return p.Show(ctx, pos[0])
	case "events":
		return p.EventsTest(ctx, pos[1], provision.EventsTestOptions{Type: o.eventType, Deployment: *d, Poster: events.NewPoster(time.Now)})
	case "check":
		if o.all {
			return p.CheckAll(ctx, pos, true, *d)
		}
		return p.Check(ctx, pos[0], *d)
	case "repoint":
		return p.Repoint(ctx, provision.RepointOptions{AccountSIDs: pos, All: o.all, Deployment: *d, Force: o.force})
	case "reindex":
		return p.Reindex(ctx, provision.ReindexOptions{NoWait: o.noWait})
	case "suspend":
		return p.Suspend(ctx, pos[0])
	case "reactivate":
		return p.Reactivate(ctx, pos[0])
	case "close":
		co := provision.CloseOptions{Confirm: o.confirm, RecoveryDays: o.recoveryDays}
		if err := o.closeOpts.recordings(awsCfg, *d, &co); err != nil {
			return err
		}
		return p.Close(ctx, pos[0], co)
	case "move-number":
		if o.from == "" || o.to == "" {
			return errors.New(`move-number needs --from and --to (an AccountSid, or "main")`)
		}
		return p.MoveNumber(ctx, provision.MoveOptions{Number: pos[0], From: o.from, To: o.to, Clients: o.clients, Deployment: *d})
	case "usage":
		uo := provision.UsageOptions{AccountSIDs: pos, All: o.all, Start: o.start, End: o.end, JSON: o.json}
		if o.month != "" {
			if o.start != "" || o.end != "" {
				return errors.New("pass --month or --start and --end, not both")
			}
			if uo.Start, uo.End, err = provision.MonthPeriod(o.month); err != nil {
				return err
			}
		}
		return p.Usage(ctx, uo)
	default: // dialing-permissions
		var do provision.DialingOptions
		if o.inherit != "" {
			v, err := strconv.ParseBool(o.inherit)
			if err != nil {
				return fmt.Errorf("--inherit %q: want true or false", o.inherit)
			}
			do.Inherit = &v
		}
		return p.DialingPermissions(ctx, pos[0], do)
	}
}

// takeConfirmation removes --yes-close-<AccountSid> (or -yes-close-...)
// from args and stores the AccountSid in confirm: a flag spelt with the
// SID it closes cannot be reused for another subaccount by accident.
func takeConfirmation(args []string, confirm *string) []string {
	var out []string
	for _, a := range args {
		name := strings.TrimLeft(a, "-")
		if sid, ok := strings.CutPrefix(name, "yes-close-"); ok && name != a {
			*confirm = sid
			continue
		}
		out = append(out, a)
	}
	return out
}

// parseInterspersed parses flags given before and after positional
// arguments ("rotate-key AC... --cache-ttl 0"), which flag.Parse alone
// stops at.
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
func newProvisioner(awsCfg aws.Config, cmd command, o opts, getenv func(string) string, stdout io.Writer) (*provision.Provisioner, error) {
	c := provision.Config{
		Secrets:      provision.NewSecretsManager(secretsmanager.NewFromConfig(awsCfg), o.create.Deployment.SecretsKmsKeyArn),
		SecretPrefix: getenv("SECRET_PREFIX"),
		Out:          stdout,
		DryRun:       o.dryRun,
		Stack:        o.create.Deployment.Stack,
		Force:        o.force,
	}
	if cmd.twilio {
		var err error
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
func stackDeployment(ctx context.Context, awsCfg aws.Config, stack string, d *provision.Deployment) error {
	outputs, err := stackOutputs(ctx, awsCfg, stack)
	if err != nil {
		return err
	}
	s, err := provision.StackDeployment(outputs, stack, awsCfg.Region)
	if err != nil {
		return err
	}
	d.VoiceURL = cmp.Or(d.VoiceURL, s.VoiceURL)
	d.IncomingURL = cmp.Or(d.IncomingURL, s.IncomingURL)
	d.TokenURL = cmp.Or(d.TokenURL, s.TokenURL)
	if d.Label == "" {
		d.Label, d.Region = s.Label, s.Region
	}
	d.Region, d.SecretPrefix, d.Stack, d.RecordingsBucket = s.Region, s.SecretPrefix, s.Stack, s.RecordingsBucket
	d.OwnBaseURL, d.SecretsKmsKeyArn = s.OwnBaseURL, s.SecretsKmsKeyArn
	return nil
}

// stackOutputs reads a CloudFormation stack's outputs (see template.yaml),
// for the deployment's URLs and its queues.
func stackOutputs(ctx context.Context, awsCfg aws.Config, stack string) (map[string]string, error) {
	out, err := cloudformation.NewFromConfig(awsCfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		if api, ok := errors.AsType[smithy.APIError](err); ok && strings.Contains(api.ErrorMessage(), "does not exist") {
			// The usual cause: the CLI runs in another region than the stack.
			return nil, fmt.Errorf("describe stack %s: %w (no such stack in this command's AWS region: run it in the stack's region, e.g. AWS_REGION=<region>; the functions read the tenant secrets there)", stack, err)
		}
		return nil, fmt.Errorf("describe stack %s: %w", stack, err)
	}
	if len(out.Stacks) == 0 {
		return nil, fmt.Errorf("describe stack %s: no such stack", stack)
	}
	outputs := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outputs[aws.ToString(o.OutputKey)] = strings.TrimSpace(aws.ToString(o.OutputValue))
	}
	return outputs, nil
}
