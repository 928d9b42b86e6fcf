package registry

import (
	"fmt"
	"strconv"
	"strings"
)

// Verdict is how worried an analyst should be about a socket on a registry port.
type Verdict string

// The verdicts, from the most to the least alarming.
const (
	Ghost      Verdict = "ghost"       // something uses a port whose protocol is dead
	Insecure   Verdict = "insecure"    // an insecure legacy service is alive
	RPCDynamic Verdict = "rpc-dynamic" // a Sun RPC daemon landed on the port by chance
	Allowed    Verdict = "allowed"     // the admin allowed this process on this port
)

// Directions of a socket relative to the registry port it touches.
const (
	Listen   = "listen"
	Inbound  = "inbound"
	Outbound = "outbound"
)

// Observation is what was seen on the host: a socket on a registry port and,
// when known, the process behind it.
type Observation struct {
	Port        uint16
	Proto       uint8
	Direction   string
	ProcessName string
	ProcessPath string
	Username    string
	// RPCPrograms are the Sun RPC programs that rpcbind maps to the port,
	// when it was asked.
	RPCPrograms []string
}

// bindresvport() hands out privileged ports from 600 to 1023, so RPC daemons
// land on registered ports in this range by chance.
const (
	rpcLow  = 600
	rpcHigh = 1023
)

// rpcDaemons are process names of Sun RPC services that take a port from
// bindresvport() (Linux, the BSDs and macOS spellings).
var rpcDaemons = map[string]bool{
	"rpcbind": true, "portmap": true, "rpc.portmap": true,
	"rpc.statd": true, "statd": true, "rpc.lockd": true, "lockd": true,
	"rpc.mountd": true, "mountd": true, "rpc.nfsd": true, "nfsd": true,
	"rpc.rquotad": true, "rquotad": true, "rpc.idmapd": true, "rpc.gssd": true, "rpc.svcgssd": true,
	"ypbind": true, "ypserv": true, "rpc.ypxfrd": true, "ypxfrd": true,
	"rpc.yppasswdd": true, "yppasswdd": true, "rpc.ypupdated": true,
	"rpc.bootparamd": true, "rpc.rstatd": true, "rpc.rusersd": true, "rpc.sprayd": true, "rpc.walld": true,
	"amd": true, "automount": true, "automountd": true,
}

// IsRPCDaemon reports whether a process name or executable path belongs to
// a Sun RPC service.
func IsRPCDaemon(name, exe string) bool {
	return rpcDaemons[name] || (exe != "" && rpcDaemons[BaseName(exe)])
}

// MayBeRPC reports whether rpcbind's view could change the verdict: a local
// port in 600-1023 whose process does not already say it is an RPC daemon.
func MayBeRPC(o Observation) bool {
	return o.Direction != Outbound && o.Port >= rpcLow && o.Port <= rpcHigh && !IsRPCDaemon(o.ProcessName, o.ProcessPath)
}

// Judge gives the verdict on an observation of entry e, and the reason in
// words. The rules, in order: an admin allow rule wins; in 600-1023 a port
// held by a Sun RPC daemon, or mapped by rpcbind, is rpc-dynamic; an
// insecure-legacy entry is insecure; everything else is a ghost.
func (r *Registry) Judge(e *Entry, o Observation) (Verdict, string) {
	where := strconv.Itoa(int(o.Port)) + "/" + TransportName(o.Proto)
	if rule, ok := r.allowed(o); ok {
		return Allowed, fmt.Sprintf("%s on %s is allowed by %s:%d: %s", who(o), where, rule.File, rule.Line, rule.Comment)
	}
	local := o.Direction != Outbound
	if local && o.Port >= rpcLow && o.Port <= rpcHigh {
		switch {
		case IsRPCDaemon(o.ProcessName, o.ProcessPath):
			return RPCDynamic, fmt.Sprintf("%s is a Sun RPC daemon; these take a random port in 600-1023 (bindresvport), so the registered name %s on %s is a coincidence",
				o.ProcessName, e.Service, where)
		case len(o.RPCPrograms) > 0:
			return RPCDynamic, fmt.Sprintf("rpcbind maps %s to RPC program %s, which took the port at random (bindresvport); the registered name %s is a coincidence",
				where, strings.Join(o.RPCPrograms, ", "), e.Service)
		}
	}
	if e.Category == InsecureLegacy {
		return Insecure, fmt.Sprintf("%s %s: %s is an insecure legacy service%s",
			who(o), action(o.Direction, where), e.Service, replacement(e))
	}
	return Ghost, fmt.Sprintf("%s %s, registered to %s (%s%s), whose protocol is dead; %s",
		who(o), action(o.Direction, where), e.Service, e.Category, retiredText(e), advice(o.Direction))
}

func who(o Observation) string {
	if o.ProcessName != "" {
		return o.ProcessName
	}
	return "an unidentified process"
}

func action(direction, where string) string {
	switch direction {
	case Inbound:
		return "accepted a connection on " + where
	case Outbound:
		return "connects to a remote " + where
	}
	return "listens on " + where
}

func advice(direction string) string {
	if direction == Outbound {
		return "find out what it is talking to"
	}
	return "nothing legitimate should use it today"
}

func retiredText(e *Entry) string {
	if e.Retired == 0 {
		return ""
	}
	return ", dead since " + strconv.Itoa(e.Retired)
}

func replacement(e *Entry) string {
	if e.ReplacedBy == "" || strings.EqualFold(e.ReplacedBy, "none") {
		return ""
	}
	return "; replace it with " + strings.TrimSuffix(e.ReplacedBy, ".")
}
