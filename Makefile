# bubble-twilio-voice. `make run` serves the API locally; `make test` is what CI runs.
# The Lambda binaries are built with Go 1.27.3 (standard-library security fixes over the
# machine's Go); the go command fetches that toolchain from the module proxy once.
export GOTOOLCHAIN := go1.27.3
export GOFLAGS := -buildvcs=false

GO         ?= go
FUNCTIONS  := token voice incoming events deliver
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Stripped, reproducible, and without aws-lambda-go's legacy RPC mode (unused on provided.al2023).
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w -buildid='
FUZZTIME   ?= 30s

.PHONY: run test unit lint bench build deploy clean fuzz load vuln FORCE \
        $(foreach f,TokenFunction VoiceFunction IncomingFunction EventsFunction DeliverFunction,build-$(f))

## run: the dev server on 127.0.0.1:3000 with the example tenants file (no AWS needed)
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
	@cp go.mod /tmp/go.mod.lint && cp go.sum /tmp/go.sum.lint && $(GO) mod tidy && \
	  if ! cmp -s go.mod /tmp/go.mod.lint || ! cmp -s go.sum /tmp/go.sum.lint; then \
	    echo "go.mod/go.sum are not tidy (run go mod tidy)"; cp /tmp/go.mod.lint go.mod; cp /tmp/go.sum.lint go.sum; exit 1; fi

## bench: our hot paths against the twilio-go references, bootstrap sizes, cold starts; one run, this machine (BENCHMARKS.md)
bench: build
	$(GO) run ./test/benchreport -bootstraps build

## build: stripped linux/arm64 bootstraps at build/<function>/bootstrap
build: $(FUNCTIONS:%=build/%/bootstrap)
	@ls -l $(FUNCTIONS:%=build/%/bootstrap)

build/%/bootstrap: FORCE
	$(LAMBDA_BUILD) -o $@ ./functions/$*

# What `sam build` calls (BuildMethod: makefile); it sets ARTIFACTS_DIR.
build-TokenFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/token
build-VoiceFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/voice
build-IncomingFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/incoming
build-EventsFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/events
build-DeliverFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/deliver

## deploy: build with SAM and deploy (first time: sam deploy --guided)
deploy:
	sam build && sam deploy

## fuzz: every fuzz target for FUZZTIME each (default 30s)
fuzz:
	@set -e; for pkg in $$($(GO) list ./... ); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s $$pkg; \
	  done; done

## load: a bounded loopback load test of the dev server handlers
load:
	LOAD=1 $(GO) test -run '^TestLoad$$' -count=1 -v ./test/load

## vuln: govulncheck against an offline copy of the Go vulnerability database
vuln:
	bash .ci/vulncheck

clean:
	rm -rf build .aws-sam

FORCE:
