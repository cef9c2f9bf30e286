package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/tenant"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		SecretPrefix:               tenant.DefaultSecretPrefix,
		SecretCacheTTL:             tenant.DefaultSecretsTTL,
		SecretMaxStale:             tenant.DefaultMaxStale,
		SecretFetchTimeout:         tenant.DefaultFetchTimeout,
		TokenRatePerIdentity:       30,
		SecretColdFetchesPerSecond: 10,
		SecretColdFetchBurst:       20,
		Addr:                       "127.0.0.1:3000",
		LogLevel:                   "info",
		Events:                     Events{RecordingRetentionDays: 30, TwilioAPIBaseURL: "https://api.twilio.com", RecordingsDir: ".devdata/recordings"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load(empty) =\n%+v\nwant\n%+v", c, want)
	}
}

func TestLoadEachVariable(t *testing.T) {
	tests := []struct {
		name, value string
		check       func(Config) bool
	}{
		{"SECRET_PREFIX", "tenants/prod/", func(c Config) bool { return c.SecretPrefix == "tenants/prod/" }},
		{"SECRET_CACHE_TTL", "90s", func(c Config) bool { return c.SecretCacheTTL == 90*time.Second }},
		{"SECRET_CACHE_TTL", "1s", func(c Config) bool { return c.SecretCacheTTL == time.Second }},
		{"SECRET_CACHE_TTL", "24h", func(c Config) bool { return c.SecretCacheTTL == 24*time.Hour }},
		{"SECRET_MAX_STALE", "1s", func(c Config) bool { return c.SecretMaxStale == time.Second }},
		{"SECRET_MAX_STALE", "168h", func(c Config) bool { return c.SecretMaxStale == 7*24*time.Hour }},
		{"SECRET_FETCH_TIMEOUT", "100ms", func(c Config) bool { return c.SecretFetchTimeout == 100*time.Millisecond }},
		{"SECRET_FETCH_TIMEOUT", "5s", func(c Config) bool { return c.SecretFetchTimeout == 5*time.Second }},
		{"TENANTS_FILE", "/tmp/tenants.json", func(c Config) bool { return c.TenantsFile == "/tmp/tenants.json" }},
		{"PUBLIC_BASE_URL", "https://voice.example.com/", func(c Config) bool { return c.PublicBaseURL == "https://voice.example.com" }},
		{"PUBLIC_BASE_URL", "https://abc.execute-api.us-east-1.amazonaws.com/prod", func(c Config) bool {
			return c.PublicBaseURL == "https://abc.execute-api.us-east-1.amazonaws.com/prod"
		}},
		{"PUBLIC_BASE_URL", "http://127.0.0.1:3000", func(c Config) bool { return c.PublicBaseURL == "http://127.0.0.1:3000" }},
		{"CORS_ALLOWED_ORIGINS", " https://a.example.com/ , ,https://b.example.com", func(c Config) bool {
			return reflect.DeepEqual(c.CORSAllowedOrigins, []string{"https://a.example.com", "https://b.example.com"})
		}},
		{"CORS_ALLOWED_ORIGINS", "*", func(c Config) bool { return reflect.DeepEqual(c.CORSAllowedOrigins, []string{"*"}) }},
		{"TOKEN_RATE_PER_IDENTITY", "0", func(c Config) bool { return c.TokenRatePerIdentity == 0 }},
		{"TOKEN_RATE_PER_IDENTITY", "100000", func(c Config) bool { return c.TokenRatePerIdentity == 100000 }},
		{"SECRET_COLD_FETCHES_PER_SECOND", "1", func(c Config) bool {
			return c.SecretColdFetchesPerSecond == 1 && c.SecretColdFetchBurst == 2
		}},
		{"SECRET_COLD_FETCHES_PER_SECOND", "1000", func(c Config) bool { return c.SecretColdFetchesPerSecond == 1000 }},
		{"SECRET_COLD_FETCH_BURST", "1", func(c Config) bool { return c.SecretColdFetchBurst == 1 && c.SecretColdFetchesPerSecond == 10 }},
		{"PUBLIC_BASE_URL", "https://voice.example.com/calls/v1/", func(c Config) bool {
			return c.PublicBaseURL == "https://voice.example.com/calls/v1"
		}},
		{"ADDR", ":8080", func(c Config) bool { return c.Addr == ":8080" }},
		{"LOG_LEVEL", "debug", func(c Config) bool { return c.LogLevel == "debug" }},
		{"LOG_LEVEL", "error", func(c Config) bool { return c.LogLevel == "error" }},
	}
	for _, tc := range tests {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			c, err := Load(env(map[string]string{tc.name: tc.value}))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("%s=%q not applied: %+v", tc.name, tc.value, c)
			}
		})
	}
}

func TestLoadBadValues(t *testing.T) {
	tests := []struct{ name, value string }{
		{"SECRET_CACHE_TTL", "5"},
		{"SECRET_CACHE_TTL", "five minutes"},
		{"SECRET_CACHE_TTL", "500ms"},
		{"SECRET_CACHE_TTL", "25h"},
		{"SECRET_CACHE_TTL", "-1m"},
		{"SECRET_MAX_STALE", "-1s"},
		{"SECRET_MAX_STALE", "0s"}, // the store would read zero as its default, 1h
		{"SECRET_MAX_STALE", "169h"},
		{"SECRET_FETCH_TIMEOUT", "99ms"},
		{"SECRET_FETCH_TIMEOUT", "6s"},
		{"TOKEN_RATE_PER_IDENTITY", "-1"},
		{"TOKEN_RATE_PER_IDENTITY", "100001"},
		{"TOKEN_RATE_PER_IDENTITY", "ten"},
		{"TOKEN_RATE_PER_IDENTITY", "1.5"},
		{"PUBLIC_BASE_URL", "voice.example.com"},
		{"PUBLIC_BASE_URL", "ftp://voice.example.com"},
		{"PUBLIC_BASE_URL", "https://"},
		{"PUBLIC_BASE_URL", "https://voice.example.com?x=1"},
		{"PUBLIC_BASE_URL", "https://voice.example.com/#frag"},
		{"PUBLIC_BASE_URL", "https://voice.example.com/?"},
		{"PUBLIC_BASE_URL", "https://voice.example.com#"},
		{"PUBLIC_BASE_URL", "://bad"},
		{"PUBLIC_BASE_URL", "https://voice.example.com/calls//v1"},
		{"PUBLIC_BASE_URL", "https://voice.example.com/./calls"},
		{"PUBLIC_BASE_URL", "https://user:pw@voice.example.com"},
		{"SECRET_COLD_FETCHES_PER_SECOND", "0"},
		{"SECRET_COLD_FETCHES_PER_SECOND", "1001"},
		{"SECRET_COLD_FETCH_BURST", "0"},
		{"LOG_LEVEL", "verbose"},
		{"LOG_LEVEL", "INFO"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := Load(env(map[string]string{tc.name: tc.value}))
			if err == nil {
				t.Fatalf("%s=%q accepted", tc.name, tc.value)
			}
			if !strings.HasPrefix(err.Error(), tc.name+":") {
				t.Errorf("error %q does not start with the variable name %s", err, tc.name)
			}
		})
	}
}
