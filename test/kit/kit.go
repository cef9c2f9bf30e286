// Package kit is the test support every package's tests share: a log
// buffer (LogBuffer), golden files with an -update flag (CheckGolden), a
// hermetic AWS environment (SetAWSEnv) and a fake clock (Clock). It imports
// package testing, so no binary under functions/ or cmd/ may link it
// (test/deps checks).
package kit
