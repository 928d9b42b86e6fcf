//go:build !linux

package sockets

// Default returns this host's socket source.
func Default() Source { return portable{attribution: attribution()} }
