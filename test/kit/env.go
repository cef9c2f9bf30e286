package kit

import "strings"

// Getenv returns a getenv function over AWSEnv("") with kv pairs ("NAME",
// "value", ...) added or overriding, for code that reads its environment
// through getenv (awsenv, config.Load) in the test process.
func Getenv(kv ...string) func(string) string {
	env := map[string]string{}
	for _, e := range AWSEnv("") {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return func(k string) string { return env[k] }
}
