// Package ebpf captures socket events on registry ports in the Linux kernel:
// a raw tracepoint on sock:inet_sock_set_state for TCP listen, accept and
// close, and cgroup v2 socket-address hooks for bind, connect and UDP
// sendmsg. The programs filter on a bitmap of the watched ports, so nothing
// else reaches user space, and send events through a ring buffer whose
// overflows are counted.
//
// The C sources are in bpf/; `make generate-bpf` compiles them with clang
// through cilium/ebpf's bpf2go into the committed capture_bpfe[lb].{o,go},
// so that building and testing need no clang.
package ebpf
