// bpf2go, pinned in a module of its own so that its dependencies do not move
// golangci-lint's in tools/go.mod. `make generate` runs it with
// `go tool -modfile=tools/bpf2go/go.mod bpf2go`.
module github.com/legacy-ports/legacy-ports/tools/bpf2go

go 1.26.8

tool github.com/cilium/ebpf/cmd/bpf2go

require (
	github.com/cilium/ebpf v0.22.0 // indirect
	golang.org/x/sys v0.43.0 // indirect
)
