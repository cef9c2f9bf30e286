// Package kit is the test support every package's tests share: a log
// buffer (LogBuffer), golden files with an -update flag (CheckGolden), a
// hermetic AWS environment (SetAWSEnv), a fake clock (Clock), a queue that
// keeps what it is sent (Queue) and an in-memory recordings store
// (Recordings). It imports package testing, so no binary under functions/
// or cmd/ may link it (test/deps checks).
package kit
