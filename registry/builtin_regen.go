//go:build regen

package registry

// builtinRegistry is empty while the generator runs (go generate builds it with the
// tag regen): the generator must build even when builtin_gen.go, written for
// an older Registry, no longer compiles.
var builtinRegistry Registry
