# tilesyncd's build, test and release targets. `make help` lists them.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: help build test test-short lint bench minio clean

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

bench: ## print the benchmark figures
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean: ## remove build output
	rm -rf bin dist
