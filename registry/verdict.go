package registry

import (
	"fmt"
	"net/netip"
	"slices"
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
	Expected   Verdict = "expected"    // a well-known legitimate owner (the built-in table)
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
	LocalAddr   netip.Addr
	RemoteAddr  netip.Addr
	PID         int32 // -1 (or 0) when unknown
	ProcessName string
	ProcessPath string
	Username    string
	// RPCPrograms are the Sun RPC programs that rpcbind maps to the port,
	// when it was asked.
	RPCPrograms []string
}

// portAddr is the address on the registry port's side of the socket: the
// local one, or the remote one for an outbound connection.
func (o Observation) portAddr() netip.Addr {
	if o.Direction == Outbound {
		return o.RemoteAddr
	}
	return o.LocalAddr
}

// MayBeRPC reports whether rpcbind's view could change the verdict: a local
// port that an rpcbind mapping would explain, whose process no expected
// owner already explains.
func MayBeRPC(o Observation) bool {
	if o.Direction == Outbound {
		return false
	}
	if _, ok := expectedOwner(o); ok {
		return false
	}
	return slices.ContainsFunc(expectedOwners, func(x ExpectedOwner) bool {
		return x.RPCMapped && x.coversPort(o.Port) && slices.Contains(x.Transports, o.Proto)
	})
}

// Judge gives the verdict on an observation of entry e, and the reason in
// words. The rules, in order: an admin allow rule wins; then the first
// matching expected owner of the built-in table gives its verdict (expected,
// rpc-dynamic, or insecure with the owner named); an insecure-legacy entry
// is insecure; everything else is a ghost.
func (r *Registry) Judge(e *Entry, o Observation) (Verdict, string) {
	where := strconv.Itoa(int(o.Port)) + "/" + TransportName(o.Proto)
	if rule, ok := r.allowed(o); ok {
		return Allowed, fmt.Sprintf("%s on %s is allowed by %s:%d: %s", who(o), where, rule.File, rule.Line, rule.Comment)
	}
	if x, ok := expectedOwner(o); ok {
		return x.Verdict, expectedReason(x, e, o, where)
	}
	if e.Category == InsecureLegacy {
		return Insecure, fmt.Sprintf("%s %s: %s is an insecure legacy service%s",
			who(o), action(o.Direction, where), e.Service, replacement(e))
	}
	return Ghost, fmt.Sprintf("%s %s, registered to %s (%s%s), whose protocol is dead; %s",
		who(o), action(o.Direction, where), e.Service, e.Category, retiredText(e), advice(o.Direction))
}

// expectedReason names the owner, the registration it is not, and the rule,
// so that a user can look the rule up in the README.
func expectedReason(x *ExpectedOwner, e *Entry, o Observation, where string) string {
	owner := who(o)
	if x.RPCMapped {
		owner = "RPC program " + strings.Join(o.RPCPrograms, ", ")
	}
	return fmt.Sprintf("%s %s (registered to %s): %s [expected owner %s]",
		owner, action(o.Direction, where), e.Service, x.Reason, x.ID)
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
