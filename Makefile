# tilesyncd's build, test and release targets. `make help` lists them.
GO      ?= go
SHELL   := /bin/bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: help build test test-short lint bench chaos minio package dist clean

# Packages: nfpm from the module proxy, pinned (v2.46.0 and later need a
# module the proxy refuses). `go run` keeps it in the Go caches, not here.
NFPM_VERSION := v2.45.2
NFPM        := $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)
DIST        ?= dist
PKG_ARCH    ?= amd64
PKG_BIN     ?= bin/linux_$(PKG_ARCH)/tilesyncd
PKG_VERSION ?= $(shell packaging/pkgversion.sh '$(VERSION)')
PLATFORMS   := linux/amd64 linux/arm64 darwin/arm64 windows/amd64

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

build: ## build bin/tilesyncd
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/tilesyncd ./cmd/tilesyncd

minio: ## build the MinIO server the tests use, once, into ~/.cache/tilesyncd/bin
	@scripts/minio.sh >/dev/null

test: minio ## every test, with the race detector, against a real MinIO
	TILESYNCD_MINIO=$$(scripts/minio.sh) $(GO) test -race -count=1 -timeout 30m ./...

test-short: ## the quick tests only (no MinIO)
	$(GO) test -short -count=1 ./...

lint: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# BENCH_SCALE=short divides every time of the API figures by ten and uses
# smaller trees and files (a few minutes); full is what BENCHMARKS.md reports.
BENCH_SCALE ?= full
bench: minio ## print the benchmark figures (BENCH_SCALE=short for a quick run); see BENCHMARKS.md
	@echo "machine: $$(nproc) cores, $$(free -g | awk '/^Mem:/{print $$2}') GiB, $$(date -u +%Y-%m-%dT%H:%MZ), scale $(BENCH_SCALE)"
	@out=$$(mktemp); TILESYNCD_MINIO=$$(scripts/minio.sh) $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 90m \
		$(if $(filter short,$(BENCH_SCALE)),-short) ./bench/ >$$out 2>&1; st=$$?; \
		grep -v '^BENCH ' $$out; echo; echo "figures:"; grep '^BENCH ' $$out | sed 's/^BENCH /  /'; rm -f $$out; exit $$st

# chaos: the fault suite, the convergence checker's 10,000 histories, the
# state-file corruption campaign (1,000) and the redaction fuzzer (10 min),
# each at full count; `go test ./...` runs them all at CI counts.
chaos: ## the fault suite, the convergence checker, the corruption campaign and the redaction fuzzer at full counts
	set -o pipefail; TILESYNCD_CHAOS=full $(GO) test -count=1 -v -timeout 60m ./chaos/ | grep -E '^(chaos |--- |ok|FAIL|PASS)'
	set -o pipefail; TILESYNCD_CHAOS=full $(GO) test -count=1 -v -timeout 240m -run 'TestConvergence$$' ./convergence/ | grep -E '(convergence: |^--- FAIL|^ok|^FAIL|^PASS)'
	set -o pipefail; TILESYNCD_CHAOS=full $(GO) test -count=1 -v -timeout 30m -run 'TestCorruptionCampaign' ./cmd/tilesyncd/ | grep -E '(campaign|^--- |^ok|^FAIL|^PASS)'
	$(GO) test -count=1 -run '^$$' -fuzz '^FuzzRedact$$' -fuzztime 10m ./mapbox/

package: ## build the .deb and .rpm for linux/amd64 into dist/ (packaging/nfpm.yaml)
	CGO_ENABLED=0 GOOS=linux GOARCH=$(PKG_ARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(PKG_BIN) ./cmd/tilesyncd
	@mkdir -p $(DIST)
	for p in deb rpm; do \
		PKG_VERSION='$(PKG_VERSION)' PKG_ARCH='$(PKG_ARCH)' TILESYNCD_BINARY='$(PKG_BIN)' \
			$(NFPM) package --config packaging/nfpm.yaml --packager $$p --target $(DIST)/ || exit 1; \
	done

dist: ## cross-build tilesyncd for linux/amd64, linux/arm64, darwin/arm64 and windows/amd64 into dist/
	@mkdir -p $(DIST)
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "$(DIST)/tilesyncd_$${os}_$${arch}$$ext"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
			-o $(DIST)/tilesyncd_$${os}_$${arch}$$ext ./cmd/tilesyncd || exit 1; \
	done

clean: ## remove build output
	rm -rf bin dist
