// Package config reads every environment variable the functions and the dev
// server use, in one place, and fails fast on a bad value.
package config

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"bubble-twilio-voice/shared/tenant"
)

// Config is the validated environment. The Secrets Manager settings default
// to the tenant package's defaults, which are their one definition.
type Config struct {
	// SecretPrefix + AccountSid names a tenant's secret (SECRET_PREFIX).
	SecretPrefix string
	// SecretCacheTTL is how long a fetched tenant is used without asking
	// Secrets Manager again (SECRET_CACHE_TTL).
	SecretCacheTTL time.Duration
	// SecretMaxStale is how long past its TTL a cached tenant is still served
	// while Secrets Manager fails (SECRET_MAX_STALE).
	SecretMaxStale time.Duration
	// SecretFetchTimeout bounds one cold fetch, so a webhook still answers in
	// time for Twilio to try the fallback URL (SECRET_FETCH_TIMEOUT).
	SecretFetchTimeout time.Duration
	// SecretColdFetchesPerSecond caps, per container, the GetSecretValue
	// calls for tenants with nothing cached, so a flood of made-up
	// AccountSids cannot run up the Secrets Manager bill
	// (SECRET_COLD_FETCHES_PER_SECOND; over the cap such lookups answer 503).
	SecretColdFetchesPerSecond int
	// SecretColdFetchBurst is how many such calls may happen at once
	// (SECRET_COLD_FETCH_BURST; default twice the rate).
	SecretColdFetchBurst int
	// TenantsFile, when set, replaces Secrets Manager with a local JSON file
	// (TENANTS_FILE); the dev server always uses one.
	TenantsFile string
	// PublicBaseURL is the URL Twilio calls up to the route path: scheme,
	// host and the custom domain's base path if it has one
	// (https://voice.example.com/calls). When set, signatures are checked
	// against it and routing strips its path (PUBLIC_BASE_URL).
	PublicBaseURL string
	// CORSAllowedOrigins are the browser origins allowed to call /token
	// (CORS_ALLOWED_ORIGINS, comma separated; "*" allows any).
	CORSAllowedOrigins []string
	// TokenRatePerIdentity caps tokens per minute per tenant+identity in one
	// container (TOKEN_RATE_PER_IDENTITY; 0 disables).
	TokenRatePerIdentity int
	// Addr is the dev server's listen address (ADDR).
	Addr string
	// LogLevel is debug, info, warn or error (LOG_LEVEL).
	LogLevel string
	// Events configures call events and recordings (events.go).
	Events Events
}

// Load reads the environment through getenv (os.Getenv in mains, a map in
// tests).
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		SecretPrefix:  tenant.DefaultSecretPrefix,
		TenantsFile:   getenv("TENANTS_FILE"),
		PublicBaseURL: strings.TrimRight(getenv("PUBLIC_BASE_URL"), "/"),
		Addr:          "127.0.0.1:3000",
		LogLevel:      "info",
	}
	if v := getenv("SECRET_PREFIX"); v != "" {
		c.SecretPrefix = v
	}
	if v := getenv("ADDR"); v != "" {
		c.Addr = v
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
		default:
			return c, fmt.Errorf("LOG_LEVEL: %q is not one of debug, info, warn, error", v)
		}
	}
	var err error
	if c.SecretCacheTTL, err = duration(getenv, "SECRET_CACHE_TTL", tenant.DefaultSecretsTTL, time.Second, 24*time.Hour); err != nil {
		return c, err
	}
	if c.SecretMaxStale, err = duration(getenv, "SECRET_MAX_STALE", tenant.DefaultMaxStale, time.Second, 7*24*time.Hour); err != nil {
		return c, err
	}
	if c.SecretFetchTimeout, err = duration(getenv, "SECRET_FETCH_TIMEOUT", tenant.DefaultFetchTimeout, 100*time.Millisecond, 5*time.Second); err != nil {
		return c, err
	}
	if c.TokenRatePerIdentity, err = integer(getenv, "TOKEN_RATE_PER_IDENTITY", 30, 0, 100000); err != nil {
		return c, err
	}
	if c.SecretColdFetchesPerSecond, err = integer(getenv, "SECRET_COLD_FETCHES_PER_SECOND", tenant.DefaultColdFetchesPerSecond, 1, 1000); err != nil {
		return c, err
	}
	if c.SecretColdFetchBurst, err = integer(getenv, "SECRET_COLD_FETCH_BURST", 2*c.SecretColdFetchesPerSecond, 1, 10000); err != nil {
		return c, err
	}
	if c.PublicBaseURL != "" {
		u, perr := url.Parse(c.PublicBaseURL)
		// A query or fragment ("?", "#", even empty) would end up in front of
		// every webhook path and break every signature check; so would a
		// base path that is not clean ("/calls//", "/./calls").
		if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(c.PublicBaseURL, "?#") ||
			u.User != nil || (u.Path != "" && path.Clean(u.Path) != u.Path) {
			return c, fmt.Errorf("PUBLIC_BASE_URL: %q must be an absolute http(s) URL without a query or fragment, such as https://voice.example.com or https://voice.example.com/calls", c.PublicBaseURL)
		}
	}
	for _, o := range strings.Split(getenv("CORS_ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSAllowedOrigins = append(c.CORSAllowedOrigins, strings.TrimRight(o, "/"))
		}
	}
	if err := loadEvents(getenv, &c); err != nil {
		return c, err
	}
	return c, nil
}

func duration(getenv func(string) string, name string, def, lo, hi time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a duration such as 5m or 30s", name, v)
	}
	if d < lo || d > hi {
		return 0, fmt.Errorf("%s: %s is outside %s..%s", name, d, lo, hi)
	}
	return d, nil
}

func integer(getenv func(string) string, name string, def, lo, hi int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s: %q must be a whole number from %d to %d", name, v, lo, hi)
	}
	return n, nil
}
