package rpcbind

import (
	"slices"
	"strconv"
)

// programNames holds the programs rpcinfo names on common systems
// (/etc/rpc).
var programNames = map[uint32]string{
	100000: "portmapper",
	100001: "rstatd",
	100002: "rusersd",
	100003: "nfs",
	100004: "ypserv",
	100005: "mountd",
	100007: "ypbind",
	100008: "walld",
	100009: "yppasswdd",
	100011: "rquotad",
	100012: "sprayd",
	100021: "nlockmgr",
	100024: "status",
	100026: "bootparam",
	100069: "ypxfrd",
	100227: "nfs_acl",
	150001: "pcnfsd",
}

// ProgramName names a well-known RPC program, or gives its number.
func ProgramName(prog uint32) string {
	if name, ok := programNames[prog]; ok {
		return name
	}
	return strconv.FormatUint(uint64(prog), 10)
}

// Key is a port as a socket has it: number and IPPROTO protocol.
type Key struct {
	Port     uint16
	Protocol uint8
}

// PortPrograms maps each port to the sorted names of the programs on it,
// once each, however many versions a program registered there.
func PortPrograms(ms []Mapping) map[Key][]string {
	out := make(map[Key][]string)
	for _, m := range ms {
		k := Key{Port: m.Port, Protocol: m.Protocol}
		out[k] = append(out[k], ProgramName(m.Program))
	}
	for k, names := range out {
		slices.Sort(names)
		out[k] = slices.Compact(names)
	}
	return out
}
