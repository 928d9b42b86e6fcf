package rpcbind

import (
	"errors"

	"golang.org/x/sys/windows"
)

// refused: Winsock reports WSAECONNREFUSED, which syscall.ECONNREFUSED (a
// value Go invents on Windows) does not match.
func refused(err error) bool { return errors.Is(err, windows.WSAECONNREFUSED) }
