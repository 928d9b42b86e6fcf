# legacy-ports: `make run` scans this host, `make test` runs every test.
# Everything it needs comes from the Go module proxy; nothing is installed by hand.

SHELL      := /bin/bash
GO         ?= go
VERSION    ?= 0.1.0
COMMIT     ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
PKG        := github.com/legacy-ports/legacy-ports
LDFLAGS    := -s -w -buildid= -X $(PKG)/internal/buildinfo.Version=$(VERSION) -X $(PKG)/internal/buildinfo.Commit=$(COMMIT)
BUILDFLAGS := -trimpath -buildvcs=false -ldflags "$(LDFLAGS)"
DIST       := dist
PLATFORMS  := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
TOOLS      := $(GO) tool -modfile=tools/go.mod

export CGO_ENABLED ?= 0

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build both binaries for this host into dist/
	$(GO) build $(BUILDFLAGS) -o $(DIST)/legacy_ports.ext ./cmd/legacy-ports-ext
	$(GO) build $(BUILDFLAGS) -o $(DIST)/legacy-ports ./cmd/legacy-ports

run: build ## scan this host with the embedded registry
	@$(DIST)/legacy-ports scan; rc=$$?; [ $$rc -le 1 ] || exit $$rc

build-all: ## cross-compile both binaries for linux, darwin, windows on amd64 and arm64
	@set -e; for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
	  out=$(DIST)/$$os-$$arch; \
	  GOOS=$$os GOARCH=$$arch $(GO) build $(BUILDFLAGS) -o $$out/legacy_ports.ext$$ext ./cmd/legacy-ports-ext; \
	  GOOS=$$os GOARCH=$$arch $(GO) build $(BUILDFLAGS) -o $$out/legacy-ports$$ext ./cmd/legacy-ports; \
	  echo "built $$out"; \
	done

test: ## run every test (unit, live on this host, end to end against a fake osquery core)
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m ./...

vet: ## go vet for every shipped GOOS
	@set -e; for os in linux darwin windows; do echo "vet $$os"; GOOS=$$os $(GO) vet ./...; done

fmt-check: ## fail if gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }

tidy-check: ## fail if go.mod or go.sum are not tidy
	$(GO) mod tidy -diff

lint: ## golangci-lint (pinned in tools/go.mod) for linux, darwin and windows
	@set -e; for os in linux darwin windows; do echo "lint $$os"; GOOS=$$os $(TOOLS) golangci-lint run ./...; done

spec: ## print the osquery table specs as JSON
	@$(GO) run ./cmd/legacy-ports-ext --spec

clean: ## remove build output
	rm -rf $(DIST)

.PHONY: help build run build-all test vet fmt-check tidy-check lint spec clean
