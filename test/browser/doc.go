// Package browser drives the dev server's softphone page in headless
// Chromium (Debian's chromium package, at /usr/bin/chromium) with chromedp:
// the real dev server binary, the real page, and Twilio's real Voice
// JavaScript SDK handed the tokens this service mints. Chromium resolves no
// host but 127.0.0.1, so the SDK's connection to Twilio fails on this
// machine, at once and the same way every run, and the page must say so.
//
// `go test ./test/browser -update` also rewrites docs/softphone.png, the
// screenshot in docs/development.md.
package browser
