package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"bubble-twilio-voice/shared/callcontrol"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/token"
	"bubble-twilio-voice/shared/twiliorest"
)

// MaxCallsBody is the largest body the call-control routes read.
const MaxCallsBody = 16 << 10

// callsDeadline bounds one call-control request inside the function's 5 s
// timeout: room for a few REST calls and an outbound call slot or two.
const callsDeadline = 4 * time.Second

// CallsResponse is the JSON answer of every call-control route.
type CallsResponse struct {
	CallSID       string `json:"call_sid"`
	State         string `json:"state"`
	TransferredTo string `json:"transferred_to,omitempty"`
	// Ringing lists the browsers a warm transfer or add to a route rang
	// (client:<identity>), those whose outbound call fitted the deadline.
	Ringing []string `json:"ringing,omitempty"`
}

// callsRequest is a call-control body: call_sid always; to and mode for
// transfer, add and remove; account_sid and identity when a tenant bearer
// key (not a Voice access token) authenticates it.
type callsRequest struct {
	CallSID    string
	To         string
	Mode       string
	AccountSID string
	Identity   string
}

// callsFields are the body's field names, exactly as they must be spelt.
var callsFields = []string{"call_sid", "to", "mode", "account_sid", "identity"}

// callOp is one call-control operation.
type callOp func(ctx context.Context, api callcontrol.API, r callcontrol.Request) (callcontrol.Result, error)

// CallsDeps is what the call-control routes need beyond Deps.
type CallsDeps struct {
	// Twilio sends the REST calls; nil: one is built for APIBase (only
	// where the routes are mounted, so the other functions do not link
	// the REST client).
	Twilio *twiliorest.Client
	// APIBase is TWILIO_API_BASE_URL (config).
	APIBase string
}

// client returns the REST client, pacing each account's outbound calls to
// Twilio's default rate in this container.
func (c CallsDeps) client(now func() time.Time) *twiliorest.Client {
	if c.Twilio != nil || c.APIBase == "" {
		return c.Twilio
	}
	tw, err := twiliorest.New(c.APIBase, nil, twiliorest.NewPacer(twiliorest.DefaultCallsPerSecond, now))
	if err != nil {
		return nil // config.Load refuses such a base; the routes answer 503
	}
	return tw
}

// handleCallOp serves one call-control route: authenticate the browser (or
// the tenant's backend), run op with the tenant's own credentials, answer
// the call's state.
func handleCallOp(op callOp, needsTo bool, tenants tenant.Store, tw *twiliorest.Client, publicBase string, now func() time.Time, log *slog.Logger) http.Handler {
	return postOnly(log, func(r *http.Request) (int, any, error) {
		res, err := runCallOp(r, op, needsTo, tenants, tw, publicBase, now)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, CallsResponse{CallSID: res.CallSID, State: res.State, TransferredTo: res.TransferredTo, Ringing: res.Ringing}, nil
	})
}

func runCallOp(r *http.Request, op callOp, needsTo bool, tenants tenant.Store, tw *twiliorest.Client, publicBase string, now func() time.Time) (callcontrol.Result, error) {
	req, err := decodeCallsRequest(r, needsTo)
	if err != nil {
		return callcontrol.Result{}, err
	}
	t, identity, err := authorizeCaller(r, req, tenants, now)
	if err != nil {
		return callcontrol.Result{}, err
	}
	logging.Add(r.Context(), slog.String("call_sid", req.CallSID))
	if tw == nil {
		return callcontrol.Result{}, newError(kindUnavailable, "unavailable", "call control is not configured")
	}
	ctx, cancel := context.WithTimeout(r.Context(), callsDeadline)
	defer cancel()
	api := tw.For(twiliorest.Credentials{AccountSID: t.AccountSID, Username: t.APIKeySID, Password: t.APIKeySecret})
	res, err := op(ctx, api, callcontrol.Request{
		Tenant: t, Identity: identity, CallSID: req.CallSID, To: req.To, Mode: req.Mode,
		HoldMusicURL: t.HoldMusicURL, URLs: callURLs(callsBase(r, publicBase)),
	})
	if err != nil {
		return callcontrol.Result{}, callError(err)
	}
	return res, nil
}

// callsBase is the URL of this API up to its route paths, where Twilio
// must send the webhooks of the TwiML call control writes: the public base
// when set, else the host and stage prefix this request came through.
func callsBase(r *http.Request, publicBase string) string {
	if publicBase != "" {
		return strings.TrimRight(publicBase, "/")
	}
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		uri = r.URL.RequestURI()
	}
	path, _, _ := strings.Cut(uri, "?")
	return "https://" + r.Host + strings.TrimSuffix(path, r.URL.EscapedPath())
}

// callURLs are the webhook URLs under base.
func callURLs(base string) callcontrol.URLs {
	return callcontrol.URLs{
		ConferenceEvents:  base + PathConferenceEvents,
		DialComplete:      base + PathDialComplete,
		RecordingComplete: base + PathRecordingComplete,
		CallStatus:        base + PathCallStatus,
	}
}

// authorizeCaller returns the tenant and identity the request acts for:
// with account_sid in the body, the tenant bearer key (as /token takes it)
// and the body's identity; without, the browser's own Voice access token,
// verified with its tenant's API key secret. Every failure is the same
// 401, so tenants and identities cannot be probed.
func authorizeCaller(r *http.Request, req callsRequest, tenants tenant.Store, now func() time.Time) (*tenant.Tenant, string, error) {
	cred, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return nil, "", callsUnauthorized(nil)
	}
	accountSID := req.AccountSID
	if accountSID == "" {
		sub, ok := token.Subject(cred)
		if !ok || !tenant.ValidAccountSID(sub) {
			return nil, "", callsUnauthorized(nil)
		}
		accountSID = sub
	}
	// Well-formed (checked above), so safe to log, as /token logs it.
	logging.Add(r.Context(), slog.String("account_sid", accountSID))
	t, err := lookupTenant(r.Context(), tenants, accountSID, callsUnauthorized)
	if err != nil {
		return nil, "", err
	}
	identity := req.Identity
	if req.AccountSID != "" {
		if !keyMatches(t.TokenAPIKeys, cred) {
			return nil, "", callsUnauthorized(nil)
		}
	} else {
		claims, err := token.Verify(cred, t.APIKeySecret, now())
		if err != nil || claims.APIKeySID != t.APIKeySID || claims.AccountSID != t.AccountSID || !tenant.ValidIdentity(claims.Identity) {
			return nil, "", callsUnauthorized(err)
		}
		identity = claims.Identity
	}
	if t.Suspended() {
		return nil, "", newError(kindForbidden, "tenant_suspended", "this subaccount is suspended")
	}
	return t, identity, nil
}

func callsUnauthorized(cause error) error {
	return wrapError(kindUnauthorized, "unauthorized",
		"send Authorization: Bearer <the browser's Voice access token>, or the tenant's API key with account_sid and identity in the body", cause)
}

// callError maps a call-control refusal to its status; the code is the
// API's, the message callcontrol's (it never carries Twilio's text).
func callError(err error) error {
	var ce *callcontrol.Error
	if !errors.As(err, &ce) {
		return err
	}
	k := kindInternal
	switch ce.Code {
	case callcontrol.CodeInvalidTo:
		k = kindInvalid
	case callcontrol.CodeNotAllowed:
		k = kindForbidden
	case callcontrol.CodeCallNotFound:
		k = kindNotFound
	case callcontrol.CodeCallEnded, callcontrol.CodeNotAnswered, callcontrol.CodeNoTransfer, callcontrol.CodeTransferUnderWay,
		callcontrol.CodeTransferNotJoined, callcontrol.CodeNotInCall:
		k = kindConflict
	case callcontrol.CodeTwilio:
		k = kindBadGateway
	case callcontrol.CodeBusy:
		e := wrapError(kindUnavailable, ce.Code, ce.Message, err)
		e.retryAfter = 2
		return e
	}
	e := wrapError(k, ce.Code, ce.Message, err)
	e.reason = string(ce.Reason)
	return e
}

// decodeCallsRequest reads the JSON body: an object of string fields,
// each at most once and spelt exactly (another case is refused, as on
// /token). Unknown fields are ignored.
func decodeCallsRequest(r *http.Request, needsTo bool) (callsRequest, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "" && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return callsRequest{}, newError(kindUnsupportedMedia, "unsupported_media_type", "send application/json")
	}
	body, err := readBody(r, MaxCallsBody, "16 KiB")
	if err != nil {
		return callsRequest{}, err
	}
	return parseCallsBody(body, needsTo)
}

// parseCallsBody is decodeCallsRequest's parser (fuzzed on its own).
func parseCallsBody(body []byte, needsTo bool) (callsRequest, error) {
	const notJSON = "body must be a JSON object with string fields call_sid and, as the route needs, to, mode, account_sid and identity"
	fields, err := objectFields(body, callsFields, false, notJSON, func(k string, v any) (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", invalid("invalid_request", k+" must be a string")
		}
		return strings.TrimSpace(s), nil
	})
	if err != nil {
		return callsRequest{}, err
	}
	req := callsRequest{CallSID: fields["call_sid"], To: fields["to"], Mode: fields["mode"],
		AccountSID: fields["account_sid"], Identity: fields["identity"]}
	switch {
	case req.CallSID == "":
		return req, invalid("invalid_request", "call_sid is required: the browser's call.parameters.CallSid")
	case !tenant.ValidSID("CA", req.CallSID):
		return req, invalid("invalid_request", "call_sid must be CA followed by 32 hex digits")
	case needsTo && req.To == "":
		return req, invalid("invalid_request", "to is required: client:<identity>, a route label or number, or a phone number")
	case len(req.To) > 200:
		return req, invalid("invalid_request", "to is longer than 200 characters")
	case req.Mode != "" && req.Mode != callcontrol.ModeCold && req.Mode != callcontrol.ModeWarm:
		return req, invalid("invalid_request", "mode must be cold or warm")
	case req.AccountSID != "" && !tenant.ValidAccountSID(req.AccountSID):
		return req, invalid("invalid_request", "account_sid must be AC followed by 32 hex digits")
	case req.AccountSID != "" && !tenant.ValidIdentity(req.Identity):
		return req, invalid("invalid_identity", "with account_sid, identity is required and "+tenant.IdentityRule)
	case req.AccountSID == "" && req.Identity != "":
		return req, invalid("invalid_request", "identity comes from the access token; send it only with account_sid and the tenant's API key")
	}
	return req, nil
}

// handleConferenceEvents serves the hub's status callback (behind the
// signature check): it keeps a party from being left alone. It answers 204
// whatever happens, since Twilio does not retry status callbacks; a failure
// is logged.
func handleConferenceEvents(tw *twiliorest.Client, publicBase string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := tenant.FromContext(ctx)
		if t != nil && tw != nil {
			logging.Add(ctx, slog.String("account_sid", t.AccountSID), slog.String("call_sid", r.PostFormValue("CallSid")))
			api := tw.For(twiliorest.Credentials{AccountSID: t.AccountSID, Username: t.APIKeySID, Password: t.APIKeySecret})
			ctx, cancel := context.WithTimeout(ctx, callsDeadline)
			err := callcontrol.OnConferenceEvent(ctx, api, callcontrol.ConferenceEvent{
				Event: r.PostFormValue("StatusCallbackEvent"), ConferenceSID: r.PostFormValue("ConferenceSid"),
				FriendlyName: r.PostFormValue("FriendlyName"), Label: r.PostFormValue("ParticipantLabel"),
			}, callURLs(callsBase(r, publicBase)), t)
			cancel()
			if err != nil {
				log.LogAttrs(ctx, slog.LevelError, "conference event not handled", slog.String("error", callErrorKind(err)))
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// callErrorKind names a call-control failure for a log line: its code and
// Twilio's error code, never Twilio's message or a URL.
func callErrorKind(err error) string {
	if te, ok := errors.AsType[*twiliorest.Error](err); ok {
		return fmt.Sprintf("twilio_%d_%d", te.Status, te.Code)
	}
	if ce, ok := errors.AsType[*callcontrol.Error](err); ok {
		return ce.Code
	}
	return logging.ErrorKind(err)
}
