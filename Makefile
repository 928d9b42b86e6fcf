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

build: ## build the extension, legacy-ports and legacy-ports-query (its query command) for this host into dist/
	$(GO) build $(BUILDFLAGS) -o $(DIST)/legacy_ports.ext ./cmd/legacy-ports-ext
	$(GO) build $(BUILDFLAGS) -o $(DIST)/legacy-ports ./cmd/legacy-ports
	$(GO) build $(BUILDFLAGS) -o $(DIST)/legacy-ports-query ./cmd/legacy-ports-query

run: build ## scan this host with the embedded registry
	@$(DIST)/legacy-ports scan; rc=$$?; [ $$rc -le 1 ] || exit $$rc

build-all: ## cross-compile the three binaries for linux, darwin, windows on amd64 and arm64
	@set -e; for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
	  out=$(DIST)/$$os-$$arch; \
	  GOOS=$$os GOARCH=$$arch $(GO) build $(BUILDFLAGS) -o $$out/legacy_ports.ext$$ext ./cmd/legacy-ports-ext; \
	  GOOS=$$os GOARCH=$$arch $(GO) build $(BUILDFLAGS) -o $$out/legacy-ports$$ext ./cmd/legacy-ports; \
	  GOOS=$$os GOARCH=$$arch $(GO) build $(BUILDFLAGS) -o $$out/legacy-ports-query$$ext ./cmd/legacy-ports-query; \
	  echo "built $$out"; \
	done

test: ## run every test (unit, live on this host, end to end against a fake osquery core)
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m ./...

generate: ## regenerate the committed generated files (registry/builtin_gen.go from registry/data/*.yml)
	$(GO) generate ./...

vet: ## go vet for every shipped GOOS
	@set -e; for os in linux darwin windows; do echo "vet $$os"; GOOS=$$os $(GO) vet ./...; done

fmt-check: ## fail if gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }

# -e: github.com/google/pprof, which only modernc.org/sqlite's own tests
# import, was long refused by the module proxy; it is served now and go.sum
# has its lines, but -e keeps a refusal from hiding every other difference.
tidy-check: ## fail if go.mod or go.sum are not tidy
	$(GO) mod tidy -e -diff 2>/dev/null

lint: ## golangci-lint (pinned in tools/go.mod) for linux, darwin and windows
	@set -e; lint=$$($(TOOLS) -n golangci-lint); \
	for os in linux darwin windows; do echo "lint $$os"; GOOS=$$os $$lint run ./...; done

docs: ## rewrite README.md's column tables from the table definitions
	$(GO) test ./internal/docs -run '^TestREADMEColumns$$' -count=1 -update

FUZZTIME ?= 10m

fuzz: ## run every Fuzz* test of the tree for FUZZTIME each (make fuzz FUZZTIME=10m)
	@set -e; for pkg in $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); do \
	  for fz in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$fz for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$fz\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

spec: ## print the osquery table specs as JSON
	@$(GO) run ./cmd/legacy-ports-ext --spec

clean: ## remove build output
	rm -rf $(DIST)

.PHONY: help build run build-all test generate vet fmt-check tidy-check lint docs fuzz spec clean bench

BENCHFLAGS ?= -runs 20

bench: ## Linux: the host as it is, 5,000 sockets in 200 processes, then a 100,000-socket busy proxy; time legacy_ports against ss and gopsutil; print the targets
	$(GO) run ./internal/bench $(BENCHFLAGS)

# Release: archives, packages and their checks (packaging/README.md).

# Archive entries and package files carry the last commit's time, so that two
# builds of one commit give the same bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH
NFPM        := $(GO) tool -modfile=tools/nfpm/go.mod nfpm
PKG_ARCHS   ?= amd64 arm64
PKG_FORMATS ?= deb rpm
HOST_ARCH   := $(shell $(GO) env GOARCH)

dist: build-all ## release archives, universal macOS binaries, Fleet files and SHA256SUMS in dist/
	$(GO) run ./packaging/release -dist $(DIST) -version $(VERSION) -mtime $(SOURCE_DATE_EPOCH)
	@cat $(DIST)/SHA256SUMS

dist-check: ## build dist twice from one snapshot of the tree, in two places, the second with an empty build cache; the SHA256SUMS must match
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; mkdir "$$tmp/a" "$$tmp/b"; \
	tar --exclude=./$(DIST) -cf - . | tar -xf - -C "$$tmp/a"; cp -a "$$tmp/a/." "$$tmp/b"; \
	$(MAKE) -C "$$tmp/a" dist VERSION=$(VERSION) COMMIT=$(COMMIT) DIST="$$tmp/dist-a"; \
	GOCACHE="$$tmp/cache" $(MAKE) -C "$$tmp/b" dist VERSION=$(VERSION) COMMIT=$(COMMIT) DIST="$$tmp/dist-b"; \
	echo "first:  $$(sha256sum < "$$tmp/dist-a/SHA256SUMS")"; \
	echo "second: $$(sha256sum < "$$tmp/dist-b/SHA256SUMS")"; \
	diff "$$tmp/dist-a/SHA256SUMS" "$$tmp/dist-b/SHA256SUMS"; \
	echo "dist is reproducible"

package: ## .deb and .rpm for amd64 and arm64 in dist/ (nfpm, pinned in tools/nfpm/go.mod)
	$(MAKE) build-all PLATFORMS="$(addprefix linux/,$(PKG_ARCHS))"
	@set -e; for arch in $(PKG_ARCHS); do for fmt in $(PKG_FORMATS); do \
	  PKG_ARCH=$$arch PKG_VERSION=$(VERSION) PKG_DIST=$(DIST) \
	    $(NFPM) package --config packaging/nfpm.yaml --packager $$fmt --target $(DIST)/; \
	done; done
	$(GO) run ./packaging/release -dist $(DIST) -sums-only

package-check: ## as root, CHANGES THIS MACHINE: dpkg -i the .deb, check it, dpkg -r it (not part of test)
	$(MAKE) package PKG_ARCHS=$(HOST_ARCH) PKG_FORMATS=deb
	sh packaging/package-check.sh $(DIST)/legacy-ports_$(VERSION)_$(HOST_ARCH).deb

.PHONY: dist dist-check package package-check

# eBPF objects: bpf2go (pinned in tools/bpf2go/go.mod) compiles the C with
# clang, llvm-strip and libbpf's headers (Debian: clang llvm libbpf-dev), and
# the output is committed so that build and test need none of them.
BPF2GO := $(GO) tool -modfile=$(CURDIR)/tools/bpf2go/go.mod bpf2go

# make generate rebuilds them too where clang is installed; without it, it
# says so and still regenerates the rest, so that editing the registry's data
# needs no clang.
generate: $(if $(shell command -v clang),generate-bpf,generate-bpf-skipped)

generate-bpf-skipped:
	@echo "clang not found: the eBPF objects were not rebuilt (apt-get install clang llvm libbpf-dev, then make generate-bpf)"

generate-bpf: ## rebuild the committed eBPF objects from table/events/ebpf/bpf/*.c (needs clang, llvm, libbpf-dev)
	cd table/events/ebpf && $(BPF2GO) -go-package ebpf -tags linux -target bpfel,bpfeb capture bpf/capture.c -- -Wall -Werror

generate-check: ## regenerate the eBPF objects in a copy of the tree; fail if they differ from the committed ones
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$$tmp"; \
	$(MAKE) -C "$$tmp" generate-bpf; \
	fail=0; for f in table/events/ebpf/capture_bpfe*; do cmp "$$f" "$$tmp/$$f" || fail=1; done; \
	[ $$fail = 0 ] || { echo "the committed eBPF objects differ from their sources: run make generate-bpf"; exit 1; }; \
	echo "the committed eBPF objects match their sources"

.PHONY: generate-bpf generate-bpf-skipped generate-check
