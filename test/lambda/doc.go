// Package lambda holds the integration tests that run the real function
// bootstraps, built for the host, under AWS's Lambda Runtime Interface
// Emulator (aws-lambda-rie), with Secrets Manager played by an in-process
// fakesm server on loopback, and for the call-event functions SQS (the
// fakesqs JSON-protocol fake), S3 (gofakes3), Twilio's media host and the
// tenant's app on loopback too; the deliver function gets SQS events built
// from real receipts of the fake. They check what API Gateway would get back for
// recorded-shape HTTP API v2 events, that a warm container makes no Secrets
// Manager call, and measure each function's cold start and peak memory.
//
// The tests install the emulator themselves (go install, through the module
// proxy) into the user cache directory when no binary of the pinned version
// is found; set RIE_BIN to use another copy.
//
// TestColdStart prints one machine-readable line per function, which
// test/benchreport (make bench) puts into BENCHMARKS.md:
//
//	coldstart function=token runs=5 median_ms=9.81 min_ms=9.02 max_ms=11.3 rss_kb=11240
package lambda
