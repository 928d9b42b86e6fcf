package sockets

import "os"

// Default is this host's source. HOST_PROC, as gopsutil reads it, points it
// at a host's /proc mounted elsewhere (a container watching its host).
func Default() Source {
	return NewLinux(os.Getenv("HOST_PROC"))
}
