package load_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
)

// exampleTenants is the dev server's tenants file.
const exampleTenants = "../../cmd/devserver/tenants.example.json"

// The two sizes of TestLoad.
var (
	small = loadSize{requests: 500, concurrency: 50, deadline: time.Minute}
	full  = loadSize{requests: 20000, concurrency: 50, deadline: 3 * time.Minute}
)

type loadSize struct {
	requests, concurrency int
	deadline              time.Duration
}

// TestLoad serves the dev server's routes on 127.0.0.1 and sends a mix of
// token, /voice, /incoming and /incoming/dial-complete requests, each
// checked for its status and content. Any error fails the test; p50, p99
// and throughput are logged. LOAD=1 runs the full size (make load).
func TestLoad(t *testing.T) {
	size := small
	if os.Getenv("LOAD") == "1" {
		size = full
	}
	srv, base := devServer(t)
	defer srv.Close()
	ex := exampleTenant(t)

	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: size.concurrency, MaxIdleConnsPerHost: size.concurrency,
			IdleConnTimeout: 30 * time.Second,
		},
	}
	defer client.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(context.Background(), size.deadline)
	defer cancel()
	jobs := make(chan int)
	go func() {
		defer close(jobs)
		for i := range size.requests {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      []string
		done      atomic.Int64
	)
	start := time.Now()
	var wg sync.WaitGroup
	for range size.concurrency {
		wg.Go(func() {
			var mine []time.Duration
			for i := range jobs {
				r := newLoadRequest(ctx, base, ex, i)
				t0 := time.Now()
				err := r.do(client)
				mine = append(mine, time.Since(t0))
				done.Add(1)
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("request %d (%s): %v", i, r.kind, err))
					mu.Unlock()
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	if n := done.Load(); n != int64(size.requests) {
		t.Errorf("%d of %d requests done within %v", n, size.requests, size.deadline)
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	t.Logf("load: %d requests, concurrency %d, %d errors, p50 %v, p99 %v, max %v, %.0f req/s (%v)",
		len(latencies), size.concurrency, len(errs), pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond),
		pct(1).Round(time.Microsecond), float64(len(latencies))/elapsed.Seconds(), elapsed.Round(time.Millisecond))
	if len(errs) > 0 {
		t.Errorf("%d errors, first ones:\n%s", len(errs), strings.Join(errs[:min(len(errs), 10)], "\n"))
	}
}

// devServer serves what cmd/devserver's routes() mounts, built from the
// same packages and a copy of the example tenants file, on 127.0.0.1.
func devServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	data, err := os.ReadFile(exampleTenants)
	if err != nil {
		t.Fatal(err)
	}
	store, err := tenant.ParseFile(data)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil) // listens on 127.0.0.1
	base := "http://" + srv.Listener.Addr().String()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PUBLIC_BASE_URL": base}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	log := logging.New(io.Discard, cfg.LogLevel)
	m := metrics.New(io.Discard, "devserver", time.Now)
	d := httpapi.NewDeps(cfg, store, log, m, time.Now)
	d.Numbers = phone.Library{}
	srv.Config.Handler = httpapi.All(d)
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Start()
	return srv, base
}

// exampleTenant is the credentials of the first tenant of the example file.
func exampleTenant(t *testing.T) tenant.Tenant {
	t.Helper()
	data, err := os.ReadFile(exampleTenants)
	if err != nil {
		t.Fatal(err)
	}
	var ts []tenant.Tenant
	if err := json.Unmarshal(data, &ts); err != nil || len(ts) == 0 {
		t.Fatalf("example tenants: %v", err)
	}
	return ts[0]
}

// loadRequest is one request of the mix and what its answer must contain.
type loadRequest struct {
	kind string
	req  *http.Request
	want string
}

func newLoadRequest(ctx context.Context, base string, ex tenant.Tenant, i int) loadRequest {
	// 40% token, 25% /voice, 25% /incoming, 10% dial-complete. Identities
	// rotate over 2,000 so the per-identity rate limit (30/min) is not hit.
	var lr loadRequest
	form := url.Values{"AccountSid": {ex.AccountSID}, "CallSid": {fmt.Sprintf("CA%032x", i)}}
	path := ""
	switch k := i % 20; {
	case k < 8:
		body := fmt.Sprintf(`{"account_sid":%q,"identity":"user_%d","ttl_seconds":600}`, ex.AccountSID, i%5000)
		r, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+ex.TokenAPIKeys[0])
		return loadRequest{kind: "token", req: r, want: `"token":"eyJ`}
	case k < 13:
		lr.kind, path, lr.want = "voice", httpapi.PathVoice, "<Number>+14155550123</Number>"
		form.Set("From", "client:alice")
		form.Set("To", "+14155550123")
	case k < 18:
		lr.kind, path, lr.want = "incoming", httpapi.PathIncoming, "<Identity>alice</Identity>"
		form.Set("From", "+14155550142")
		form.Set("To", "+14155550100")
	default:
		lr.kind, path, lr.want = "dial-complete", httpapi.PathDialComplete, "<Record "
		form.Set("From", "+14155550142")
		form.Set("To", "+14155550100")
		form.Set("DialCallStatus", "no-answer")
	}
	r, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twiliosig.Header, twiliosig.Sign(base+path, form, ex.AuthToken))
	lr.req = r
	return lr
}

func (lr loadRequest) do(c *http.Client) error {
	resp, err := c.Do(lr.req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), lr.want) {
		return fmt.Errorf("answer lacks %q: %s", lr.want, body)
	}
	return nil
}
