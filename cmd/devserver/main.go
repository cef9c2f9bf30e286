// Command devserver serves the same handlers as the Lambda functions over
// plain net/http on 127.0.0.1:3000, with tenants from a local JSON file, so
// the whole API runs without AWS. At / it serves a softphone page that
// tries tokens with Twilio's Voice JavaScript SDK in a browser.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // the functions' zone database, so routes' hours are checked here as there

	"bubble-twilio-voice/cmd/internal/eventsamples"
	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/phone"
)

// defaultTenantsFile is the example tenant shipped with the repo.
const defaultTenantsFile = "cmd/devserver/tenants.example.json"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. ready, if not nil, receives the listening
// address (tests listen on port 0).
func run(ctx context.Context, getenv func(string) string, stdout io.Writer, ready chan<- string) error {
	cfg, err := config.Load(withDefaults(getenv))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if cfg.PublicBaseURL == "" {
		// The URL Twilio would call: the address really listened on, so
		// ADDR=127.0.0.1:0 works too.
		cfg.PublicBaseURL = "http://" + ln.Addr().String()
	}
	d, err := httpapi.Setup(cfg, getenv, "devserver", stdout, time.Now)
	if err != nil {
		ln.Close()
		return err
	}
	d.Metrics = nil // EMF lines are for CloudWatch; locally they only crowd the log
	d.Numbers = phone.Library{}
	// Call events in process: queue, delivery, recordings (events.go).
	if err := startEvents(ctx, &d, cfg); err != nil {
		ln.Close()
		return err
	}
	var defaults softphoneDefaults
	if cfg.TenantsFile == defaultTenantsFile {
		if defaults, err = exampleDefaults(cfg.TenantsFile); err != nil {
			d.Log.Warn("softphone page: the example tenant is not filled in", slog.String("error", err.Error()))
		}
	}
	srv := &http.Server{Handler: withSoftphone(httpapi.DevServer(d, eventsamples.For), defaults), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 15 * time.Second}
	d.Log.Info("devserver listening", slog.String("addr", ln.Addr().String()),
		slog.String("tenants_file", cfg.TenantsFile), slog.String("public_base_url", cfg.PublicBaseURL),
		slog.String("softphone", "http://"+ln.Addr().String()+"/"))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// withDefaults gives the dev server its local default tenants file. The
// default PUBLIC_BASE_URL, which it always needs to check signatures, is set
// once the listener's address is known.
func withDefaults(getenv func(string) string) func(string) string {
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		switch k {
		case "TENANTS_FILE":
			return defaultTenantsFile
		}
		return ""
	}
}
