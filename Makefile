# D-PC — one entry point for building, testing and measuring every module.
# Modules come from go.work; first-party plugins are the folders in plugins/.

SHELL   := bash
GO      ?= go
MODULES := $(shell $(GO) list -m -f '{{.Dir}}')
PLUGINS := $(notdir $(wildcard plugins/*))
# Modules that are published on their own must build without the workspace.
PUBLISHED := proto sdk $(addprefix plugins/,$(PLUGINS)) examples/llm-echo
DEV_HOME ?= $(CURDIR)/.dpc-dev
# The race detector needs cgo and a C compiler; without them the tests run without it.
RACE ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null && echo -race)

.PHONY: all build plugins run demo test test-deps test-fast bench proto lint staticcheck check-modules clean

all: build

## build: bin/dpc, bin/dpc-hub and bin/plugins/dpc-plugin-<name> for every first-party plugin
build: plugins
	$(GO) build -trimpath -o bin/dpc ./host/cmd/dpc
	$(GO) build -trimpath -o bin/dpc-hub ./hub/cmd/dpc-hub

plugins:
	@mkdir -p bin/plugins
	@for p in $(PLUGINS); do \
		echo "go build plugins/$$p -> bin/plugins/dpc-plugin-$$p"; \
		(cd plugins/$$p && $(GO) build -trimpath -o ../../bin/plugins/dpc-plugin-$$p .) || exit 1; \
	done

## run: a node with the embedded defaults in $(DEV_HOME) (created, and its plugins pinned, on first run)
run: build
	@[ -d "$(DEV_HOME)/identity" ] || bin/dpc --home "$(DEV_HOME)" init --name "dev"
	bin/dpc --home "$(DEV_HOME)" plugin verify >/dev/null 2>&1 || bin/dpc --home "$(DEV_HOME)" plugin lock
	bin/dpc --home "$(DEV_HOME)" run

## demo: three nodes on loopback chat, exchange a file and ask with a friend's shared context, then keep running until Ctrl-C
demo: build
	@# make reports any Ctrl-C it receives as an interrupt (exit 130), so on a
	@# terminal the demo runs in its own foreground process group: Ctrl-C
	@# reaches it alone, and it cleans up and exits 0.
	@if [ -t 0 ]; then set -m; scripts/demo.sh & fg %% >/dev/null; else scripts/demo.sh; fi

## test: every module's tests, with the race detector when a C compiler is
## there; every module runs even after one fails, then the failing ones are
## listed and the target fails
OIDC_PROVIDER := hub/internal/oauth/testdata/oidcprovider

test: test-deps
	@[ -n "$(RACE)" ] || echo "note: no cgo or C compiler ($$($(GO) env CC)): testing without -race"
	@failed=""; for m in $(MODULES); do \
		echo "== test $${m#$(CURDIR)/}"; \
		(cd $$m && $(GO) test $(RACE) -timeout 15m ./...) || failed="$$failed $${m#$(CURDIR)/}"; \
	done; \
	if [ -n "$$failed" ]; then echo "== FAILED modules:$$failed"; exit 1; fi

## test-deps: the npm packages of the local OIDC provider the hub's OAuth tests run (once; npm ci from the lock file)
test-deps:
	@[ -d $(OIDC_PROVIDER)/node_modules ] || ! command -v npm >/dev/null || npm ci --prefix $(OIDC_PROVIDER) --no-audit --no-fund --loglevel=error

## test-fast: the edit-test loop: every module's unit tests with -short (no
## e2e suites, no -race; vet runs in make lint), in one go test over the
## workspace so that packages of different modules build and run side by side
test-fast:
	$(GO) test -short -vet=off -timeout 5m $(addsuffix /...,$(shell $(GO) list -m))

## bench: plugin boundary vs in-process, store footprint, host-to-host vs raw TLS, ask assembly and first token, hub signaling vs raw WebSocket and connections per hub, signaling across replicas vs within one and connections held by two replicas, TURN relay vs raw UDP, WebRTC transport vs raw pion, channel ops (seal, sign, verify, apply) vs raw XChaCha20-Poly1305 and Ed25519, channel convergence after a partition (5 x 2,000 ops) in memory and over sessions, channel post → member event vs session RTT, RSS of a node (own process) after receiving 100k channel messages, channel receive path (verify, apply, group commit; disk and tmpfs) vs raw Ed25519, XChaCha20-Poly1305 and badger
bench:
	cd host && $(GO) test -run "^$$" -bench . -benchtime 2s ./internal/plugins/
	cd host && $(GO) test -run "^$$" -bench Footprint -benchtime 1x ./internal/store/
	cd host && $(GO) test -run '^$$' -bench . -benchtime 3s ./internal/network/
	cd host && $(GO) test -run '^$$' -bench . -benchtime 2s ./internal/intel/
	cd hub && $(GO) test -run '^$$' -bench SignalRoundTrip -benchtime 2s ./internal/server/ && $(GO) test -run '^$$' -bench HubConnections -benchtime 1x ./e2e/
	cd host && $(GO) test -run '^$$' -bench . -benchtime 1s ./internal/channels/chancrypt/ ./internal/channels/chanop/ && $(GO) test -run '^$$' -bench ApplyPosts -benchtime 1x ./internal/channels/chanstate/
	cd host && $(GO) test -run '^$$' -bench ConvergeAfterPartition -benchtime 3x ./internal/channels/chansync/ && $(GO) test -run '^$$' -bench ConvergeAfterPartitionNet -benchtime 1x ./internal/channels/
	cd host && $(GO) test -run '^$$' -bench PostToMemberEvent -benchtime 2000x ./internal/channels/ && $(GO) test -run '^$$' -bench ReceiverRSS -benchtime 1x ./internal/channels/
	cd host && $(GO) test -run '^$$' -bench ReceiveOps -benchtime 10000x ./internal/channels/
	cd hub && $(GO) test -run '^$$' -bench ReplicaSignalRoundTrip -benchtime 2000x ./e2e/ && $(GO) test -run '^$$' -bench ReplicaConnections -benchtime 1x ./e2e/
	cd hub && $(GO) test -run '^$$' -bench RelayRoundTrip -benchtime 2s ./internal/turnserver/
	cd plugins/transport-webrtc && $(GO) test -run '^$$' -bench 'WebRTCPath|RawPion' -benchtime 2s ./rtc/

## proto: regenerate the Go code of the wire contracts (needs protoc)
proto:
	proto/scripts/generate.sh

## lint: gofmt, go vet, staticcheck, and standalone builds of the published modules
lint: check-modules
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done
	@$(MAKE) --no-print-directory staticcheck

## staticcheck: staticcheck (the version pinned by the tool directive in
## tools/go.mod, built through the module proxy) over every module; every
## module runs, then the failing ones are listed
staticcheck:
	@sc=$$(cd tools && GOWORK=off $(GO) tool -n staticcheck) || exit 1; \
	failed=""; for m in $(MODULES); do \
		echo "== staticcheck $${m#$(CURDIR)/}"; \
		(cd $$m && $$sc ./...) || failed="$$failed $${m#$(CURDIR)/}"; \
	done; \
	if [ -n "$$failed" ]; then echo "== staticcheck FAILED modules:$$failed"; exit 1; fi

check-modules:
	@set -e; for m in $(PUBLISHED); do \
		echo "== GOWORK=off build $$m"; (cd $$m && GOWORK=off $(GO) build ./...); \
	done
	@# The host's tests reach plugins as built subprocesses, never as imports
	@# of modules host/go.mod does not require.
	@echo "== GOWORK=off vet host"; cd host && GOWORK=off $(GO) vet ./...

clean:
	rm -rf bin
