// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
// Socket events on registry ports, for legacy_port_events. Every program only
// observes: the cgroup hooks always return 1 (allow). Nothing leaves the
// kernel unless its port is in the ports bitmap.
#include "kernel.h"

char __license[] SEC("license") = "Dual MIT/GPL";

// Actions, in the order of events.Action's constants in capture_linux.go.
enum action {
	ACTION_BIND = 1,
	ACTION_LISTEN = 2,
	ACTION_CONNECT = 3,
	ACTION_ACCEPT = 4,
	ACTION_SEND = 5,
	ACTION_CLOSE = 6,
	ACTION_CONNECTED = 7, // internal: an active open completed
};

// FLAG_NO_OWNER: the event ran in softirq for a socket whose owner we never
// saw (it existed before the capture started); pid, uid, comm and cgroup are
// then not the owner's and user space reports them as unknown.
#define FLAG_NO_OWNER 1

struct event {
	__u64 time_ns; // CLOCK_MONOTONIC
	__u64 cgroup;
	__u32 netns;
	__u32 pid;
	__u32 uid;
	__u16 lport;
	__u16 rport;
	__u8 action;
	__u8 family;
	__u8 protocol;
	__u8 flags;
	__u8 laddr[16];
	__u8 raddr[16];
	char comm[16];
};

struct owner {
	__u64 cgroup;
	__u32 pid;
	__u32 uid;
	char comm[16];
	__u16 lport; // the socket's local port, for its close
	__u16 pad[3];
};

struct listener_key {
	__u32 netns;
	__u16 port;
	__u16 pad;
};

// Registry ports as a bitmap: words 0-1023 for TCP, 1024-2047 for UDP. One
// lookup per event whatever the number of ports or ranges, and 16 KiB fixed.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2048);
	__type(key, __u32);
	__type(value, __u64);
} lp_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} lp_events SEC(".maps");

// Events the ring could not take, per CPU, summed by user space.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lp_dropped SEC(".maps");

// Who listens on (netns, port): an accept completes in softirq, where the
// current task is whoever was running, so it is credited to the listener.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct listener_key);
	__type(value, struct owner);
} lp_listeners SEC(".maps");

// Who owns a TCP socket on a registry port, by its address, so that a close
// that runs in softirq is credited to the owner. LRU: a socket whose close we
// miss cannot fill it.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct owner);
} lp_sockets SEC(".maps");

static __always_inline int watched(__u16 port, __u8 protocol)
{
	__u32 key = port >> 6;
	if (protocol == IPPROTO_UDP)
		key += 1024;
	else if (protocol != IPPROTO_TCP)
		return 0;
	__u64 *word = bpf_map_lookup_elem(&lp_ports, &key);
	return word && (*word >> (port & 63)) & 1;
}

static __always_inline void current_owner(struct owner *o, __u16 lport)
{
	o->lport = lport;
	o->pid = bpf_get_current_pid_tgid() >> 32;
	o->uid = (__u32)bpf_get_current_uid_gid();
	o->cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

static __always_inline struct event *reserve(void)
{
	struct event *e = bpf_ringbuf_reserve(&lp_events, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *n = bpf_map_lookup_elem(&lp_dropped, &zero);
		// Atomic even per CPU: softirq can interrupt a program that
		// runs in process context on the same CPU.
		if (n)
			__sync_fetch_and_add(n, 1);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->time_ns = bpf_ktime_get_ns();
	return e;
}

static __always_inline void set_owner(struct event *e, const struct owner *o)
{
	e->pid = o->pid;
	e->uid = o->uid;
	e->cgroup = o->cgroup;
	__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
}

// Socket-address hooks: bind, connect and sendmsg, in the calling process.

static __always_inline void sock_addr_event(struct bpf_sock_addr *ctx, __u8 action, __u8 family)
{
	__u8 protocol = ctx->protocol;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	if (!watched(port, protocol))
		return;
	struct event *e = reserve();
	if (!e)
		return;
	struct owner o;
	current_owner(&o, 0);
	set_owner(e, &o);
	struct task_struct *task = (void *)bpf_get_current_task();
	e->netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	e->action = action;
	e->family = family;
	e->protocol = protocol;
	__u8 *addr = action == ACTION_BIND ? e->laddr : e->raddr;
	if (action == ACTION_BIND)
		e->lport = port;
	else
		e->rport = port;
	if (family == AF_INET) {
		__u32 ip4 = ctx->user_ip4;
		__builtin_memcpy(addr, &ip4, 4);
	} else {
		__u32 ip6[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
		__builtin_memcpy(addr, ip6, 16);
	}
	bpf_ringbuf_submit(e, 0);
}

// One program per attach point; all share sock_addr_event.
#define SOCK_ADDR_HOOK(name, action, family)          \
	SEC("cgroup/" #name)                          \
	int lp_##name(struct bpf_sock_addr *ctx)      \
	{                                             \
		sock_addr_event(ctx, action, family); \
		return 1;                             \
	}

SOCK_ADDR_HOOK(bind4, ACTION_BIND, AF_INET)
SOCK_ADDR_HOOK(bind6, ACTION_BIND, AF_INET6)
SOCK_ADDR_HOOK(connect4, ACTION_CONNECT, AF_INET)
SOCK_ADDR_HOOK(connect6, ACTION_CONNECT, AF_INET6)
SOCK_ADDR_HOOK(sendmsg4, ACTION_SEND, AF_INET)
SOCK_ADDR_HOOK(sendmsg6, ACTION_SEND, AF_INET6)

// TCP state changes: the sock:inet_sock_set_state tracepoint, attached raw
// (no tracefs needed), with args (struct sock *sk, int oldstate, int newstate).
SEC("raw_tracepoint/inet_sock_set_state")
int lp_tcp_state(struct bpf_raw_tracepoint_args *ctx)
{
	struct sock *sk = (void *)ctx->args[0];
	int oldstate = ctx->args[1];
	int newstate = ctx->args[2];
	__u8 action;

	if (newstate == TCP_LISTEN)
		action = ACTION_LISTEN;
	else if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED)
		action = ACTION_ACCEPT;
	else if (newstate == TCP_CLOSE)
		action = ACTION_CLOSE;
	else if (newstate == TCP_SYN_SENT)
		action = 0; // remember the owner; the cgroup hook reported the connect
	else if (oldstate == TCP_SYN_SENT && newstate == TCP_ESTABLISHED)
		action = ACTION_CONNECTED;
	else
		return 0;
	// This runs for every TCP state change on the host: decide on the
	// ports, read with one helper call, before anything else.
	struct {
		__be16 dport;
		__u16 num;
	} pp;
	if (bpf_core_read(&pp, sizeof(pp), &sk->__sk_common.skc_dport))
		return 0;
	__u16 lport = pp.num;
	__u16 rport = bpf_ntohs(pp.dport);
	__u64 skaddr = (__u64)sk;
	struct owner o = {};
	__u8 flags = 0;

	if (action == ACTION_CONNECTED) {
		// Sockets in lp_sockets from SYN_SENT have a watched remote port.
		// The local port, chosen after SYN_SENT, is known now.
		if (!watched(rport, IPPROTO_TCP))
			return 0;
		struct owner *s = bpf_map_lookup_elem(&lp_sockets, &skaddr);
		if (s)
			s->lport = lport;
		return 0;
	}
	if (action == ACTION_CLOSE) {
		// Recent kernels release the local port before this tracepoint
		// fires on a close, so the port comes from what we recorded.
		struct owner *s = bpf_map_lookup_elem(&lp_sockets, &skaddr);
		if (s) {
			o = *s;
			bpf_map_delete_elem(&lp_sockets, &skaddr);
			lport = o.lport;
		} else if (watched(lport, IPPROTO_TCP) || watched(rport, IPPROTO_TCP)) {
			flags = FLAG_NO_OWNER; // opened before the capture started
		} else {
			return 0;
		}
	} else if (action == 0) {
		if (!watched(rport, IPPROTO_TCP))
			return 0;
	} else if (!watched(lport, IPPROTO_TCP)) {
		return 0;
	}
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0; // MPTCP's own sockets go through here too
	__u32 netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	struct listener_key lkey = {.netns = netns, .port = lport};

	switch (action) {
	case 0:
		current_owner(&o, lport);
		bpf_map_update_elem(&lp_sockets, &skaddr, &o, BPF_ANY);
		return 0;
	case ACTION_LISTEN:
		current_owner(&o, lport);
		bpf_map_update_elem(&lp_listeners, &lkey, &o, BPF_ANY);
		bpf_map_update_elem(&lp_sockets, &skaddr, &o, BPF_ANY);
		break;
	case ACTION_ACCEPT: {
		struct owner *l = bpf_map_lookup_elem(&lp_listeners, &lkey);
		if (l) {
			o = *l;
			bpf_map_update_elem(&lp_sockets, &skaddr, &o, BPF_ANY);
		} else {
			flags = FLAG_NO_OWNER;
		}
		break;
	}
	case ACTION_CLOSE:
		if (oldstate == TCP_LISTEN)
			bpf_map_delete_elem(&lp_listeners, &lkey);
		break;
	}

	struct event *e = reserve();
	if (!e)
		return 0;
	set_owner(e, &o);
	e->action = action;
	e->flags = flags;
	e->netns = netns;
	e->protocol = IPPROTO_TCP;
	e->lport = lport;
	e->rport = rport;
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (e->family == AF_INET) {
		__be32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__builtin_memcpy(e->laddr, &a, 4);
		a = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(e->raddr, &a, 4);
	} else {
		BPF_CORE_READ_INTO(&e->laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e->raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}
