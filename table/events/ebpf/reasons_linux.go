//go:build linux

package ebpf

import (
	"errors"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// Where the kernel says what it offers; variables so tests can point them at
// fixtures.
var (
	btfPath      = "/sys/kernel/btf/vmlinux"
	lockdownPath = "/sys/kernel/security/lockdown"
)

const privileges = "root, or CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_SYS_ADMIN"

// preflight finds, before anything is loaded, the reasons that would
// otherwise come back from the kernel as a bare EPERM or a verifier log.
func preflight() error {
	if _, err := os.Stat(btfPath); err != nil {
		return unavailable("the kernel has no BTF ("+btfPath+" is missing; it needs CONFIG_DEBUG_INFO_BTF)", nil)
	}
	if mode := lockdownMode(lockdownPath); mode == "confidentiality" {
		return unavailable("kernel lockdown is in confidentiality mode, which forbids eBPF from reading kernel memory", nil)
	}
	// Before 5.11 the kernel charged BPF memory to RLIMIT_MEMLOCK: lift it
	// where we may. Where we may not (no CAP_SYS_RESOURCE), a newer kernel
	// does not care and an older one refuses the load, which diagnose
	// explains. This replaces cilium/ebpf/rlimit, whose package initialiser
	// probes the kernel at every start of every binary that links it.
	_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY})
	for _, f := range []struct {
		probe func() error
		what  string
	}{
		{func() error { return features.HaveProgramType(ebpf.RawTracepoint) }, "raw tracepoint programs (Linux 4.17)"},
		{func() error { return features.HaveProgramType(ebpf.CGroupSockAddr) }, "cgroup socket-address programs (Linux 4.17)"},
		{func() error { return features.HaveMapType(ebpf.RingBuf) }, "the BPF ring buffer (Linux 5.8)"},
	} {
		if err := f.probe(); err != nil {
			return diagnose("probing for "+f.what, err)
		}
	}
	return nil
}

// lockdownMode returns the active mode of /sys/kernel/security/lockdown
// ("none", "integrity" or "confidentiality"), or "" when it cannot be read.
func lockdownMode(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for f := range strings.FieldsSeq(string(b)) {
		if strings.HasPrefix(f, "[") && strings.HasSuffix(f, "]") {
			return strings.Trim(f, "[]")
		}
	}
	return ""
}

// diagnose turns an error from the loader or the kernel into the reason a
// user reads: what we were doing, why it failed, and what would fix it.
func diagnose(doing string, err error) error {
	var verr *ebpf.VerifierError
	switch {
	case errors.Is(err, ebpf.ErrNotSupported):
		return unavailable("kernel too old: "+doing+" is not supported (needs Linux 5.8 or later with BPF, BTF and cgroup v2)", err)
	case errors.As(err, &verr):
		return unavailable("the kernel's verifier rejected the programs while "+doing+" (a kernel older than 5.8 or built without a needed helper)", lastLine(verr))
	case errors.Is(err, unix.ENOSYS):
		return unavailable("BPF is disabled: the kernel has no bpf() system call (CONFIG_BPF_SYSCALL is off)", err)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		if os.Geteuid() != 0 {
			return unavailable("not root: eBPF needs "+privileges, err)
		}
		return unavailable("permission denied while "+doing+" although running as root: a seccomp profile, a missing capability ("+privileges+") or a security module forbids BPF", err)
	}
	return unavailable("eBPF failed while "+doing, err)
}

// lastLine keeps the verifier's conclusion: its log can run to thousands of
// lines.
func lastLine(verr *ebpf.VerifierError) error {
	for i := len(verr.Log) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(verr.Log[i]); l != "" {
			return errors.New(l)
		}
	}
	return verr.Cause
}
