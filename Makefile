# bubble-twilio-voice. `make run` serves the API locally; `make test` is what CI runs.
# go.mod's `go 1.27.3` is a floor: an older Go refuses the module (GOTOOLCHAIN=local) or
# fetches 1.27.3 (auto), so nothing ships an older standard library. GOTOOLCHAIN pins
# exactly that release for make: a newer local Go would otherwise build with itself, and
# the bootstraps would stop being reproducible and differ from BENCHMARKS.md. The go
# command fetches the toolchain from the module proxy once.
export GOTOOLCHAIN := go1.27.3
export GOFLAGS := -buildvcs=false

GO         ?= go
FUNCTIONS  := token voice incoming events deliver calls
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Stripped, reproducible, without aws-lambda-go's legacy RPC mode (unused on provided.al2023) and
# without net/http's bundled HTTP/2 (330 KB): the Lambda Runtime API and the AWS and Twilio calls
# the functions make all work over HTTP/1.1.
LAMBDA_TAGS := lambda.norpc,nethttpomithttp2
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags $(LAMBDA_TAGS) -ldflags='-s -w -buildid='
FUZZTIME   ?= 30s

.PHONY: run test unit lint bench build deploy clean fuzz load vuln softphone-sdk FORCE \
        $(foreach f,TokenFunction VoiceFunction IncomingFunction EventsFunction DeliverFunction CallsFunction,build-$(f))

## run: the dev server on 127.0.0.1:3000 with the example tenants file (no AWS needed); its softphone page is at /
run:
	$(GO) run ./cmd/devserver

## test: lint, then every test with the race detector and coverage (what CI runs)
test: lint unit

# -count=1: test/lambda builds the bootstraps in a subprocess, which the test cache cannot see.
unit:
	$(GO) test -race -cover -count=1 -timeout 8m ./...

## lint: gofmt, go vet, staticcheck, go.mod tidy
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff

## bench: our hot paths against the twilio-go references, bootstrap sizes, cold starts; one run, this machine (BENCHMARKS.md)
bench: build
	$(GO) run ./test/benchreport -bootstraps build

## build: stripped linux/arm64 bootstraps at build/<function>/bootstrap
build: $(FUNCTIONS:%=build/%/bootstrap)
	@ls -l $(FUNCTIONS:%=build/%/bootstrap)

build/%/bootstrap: FORCE
	$(LAMBDA_BUILD) -o $@ ./functions/$*

# What `sam build` calls (BuildMethod: makefile); it sets ARTIFACTS_DIR. Run by hand
# without it, a target would write /bootstrap: it stops instead.
require-artifacts-dir = @test -n "$(ARTIFACTS_DIR)" || { echo "make $@: ARTIFACTS_DIR is not set; this target is for sam build (use make build)" >&2; exit 2; }
build-TokenFunction:
	$(require-artifacts-dir)
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/token
build-VoiceFunction:
	$(require-artifacts-dir)
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/voice
build-IncomingFunction:
	$(require-artifacts-dir)
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/incoming
build-EventsFunction:
	$(require-artifacts-dir)
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/events
build-DeliverFunction:
	$(require-artifacts-dir)
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/deliver
build-CallsFunction:
	$(require-artifacts-dir)
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/calls

## deploy: build with SAM and deploy (first time: sam deploy --guided; see docs/deploy.md)
deploy:
	sam build && sam deploy

## fuzz: every fuzz target for FUZZTIME each (default 30s); one summary line per target, non-zero on any failure
fuzz:
	$(GO) run ./test/fuzzall -fuzztime $(FUZZTIME)

## load: a bounded loopback load test of the dev server handlers
load:
	LOAD=1 $(GO) test -run '^TestLoad$$' -count=1 -v ./test/load

## vuln: govulncheck against an offline copy of the Go vulnerability database
vuln:
	bash .ci/vulncheck

## softphone-sdk: fetch the dev server page's @twilio/voice-sdk with npm pack and check it against
## cmd/devserver/web/vendor/voice-sdk.pin (VOICE_SDK_VERSION=x.y.z fetches and pins another version)
softphone-sdk:
	bash cmd/devserver/voice-sdk.sh $(VOICE_SDK_VERSION)

clean:
	rm -rf build .aws-sam

FORCE:
