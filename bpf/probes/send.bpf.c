// SPDX-License-Identifier: GPL-2.0
/*
 * Outgoing buffers: write, pwrite64, writev, pwritev(2), sendto, sendmsg, sendmmsg
 * (include/syscalls.h). One program on their exit tracepoints: the arguments are read
 * from the saved registers, and the bytes actually transferred (the return value, each
 * message's msg_len) are scanned as one stream. Writes on a Vault connection also go to
 * the learner; while a Vault response is being learned, every
 * outgoing stream is also held for a rescan (see user/detect/hold.c). In the node modes'
 * reach scope, a process outside the reach set costs the filter and, at most, a look at
 * the first bytes of its write.
 */
#include "maps.bpf.h"
#include "targets/filter.bpf.h"
#include "enrich/fdinfo.bpf.h"
#include "detect/stream.bpf.h"
#include "probes/syscall.bpf.h"
#include "targets/reach.bpf.h"

#ifdef ST_BOUNDED_LOOPS
/* a message of a sendmmsg or recvmmsg (stream.bpf.h) */
__noinline int st_mmsg_once(__u32 i, __u64 vec, __u32 n)
{
	struct st_mmsgwalk w = { .s = st_scan_state(), .vec = vec, .n = n };

	return w.s ? st_mmsg_step(i, &w) : 1;
}
#endif

/* The Vault connection this fd is, if any. Only for an fd without a carry: a write to a
 * Vault connection saves none, and making an fd one deletes its carry (here and at connect),
 * so most writes skip this lookup. */
static __always_inline __u64 st_vault_conn_of(int fd)
{
	struct st_conn_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };
	struct st_conn *c = bpf_map_lookup_elem(&vault_conns, &k);

	return c ? c->id : 0;
}

/* A first request ("GET /v1/...", an X-Vault-Token header) makes fd a Vault connection. */
static __always_inline __u64 st_new_vault_conn(struct st_scan *s)
{
	struct st_conn_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = s->fd };
	struct st_conn n = {};

	if (!(s->flags & ST_SCAN_VAULT_REQ) || !st_fd_is_socket(s->fd))
		return 0;
	n.id = __sync_fetch_and_add(&conn_ids, 1) + 1;
	n.flags = ST_CONN_VAULT;
	bpf_map_update_elem(&vault_conns, &k, &n, BPF_NOEXIST);
	bpf_map_delete_elem(&carry, &k);
	return n.id;
}

/* A TLS record (handshake, alert or data; TLS 1.0-1.3) starts this call's bytes: to a
 * Vault server's address, but through a TLS library, whose probes learn from it. */
static __always_inline bool st_tls_record(struct st_scan *s)
{
	__u8 type = s->buf[0], major = s->buf[1];

	return s->limit >= 5 && major == 3 && type >= 20 && type <= 23;
}

static __always_inline __u64 st_drop_vault_conn(int fd)
{
	struct st_conn_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };

	bpf_map_delete_elem(&vault_conns, &k);
	return 0;
}

/* The first bytes of a call whose writes are not scanned (node modes, reach scope): a buffer,
 * or the first iovec of writev and sendmsg. */
static __always_inline bool st_send_is_vault_request(const struct st_stash *a, long ret)
{
	struct user_msghdr m;
	struct iovec v;

	switch (a->hook) {
	case ST_HOOK_WRITE:
	case ST_HOOK_SENDTO:
		return st_user_vault_request(a->arg[1], ret);
	case ST_HOOK_WRITEV:
		break;
	case ST_HOOK_SENDMSG:
		if (bpf_probe_read_user(&m, sizeof(m), (void *)a->arg[1]) || !m.msg_iovlen)
			return false;
		if (bpf_probe_read_user(&v, sizeof(v), m.msg_iov))
			return false;
		return st_user_vault_request((__u64)v.iov_base, v.iov_len);
	default:
		return false;
	}
	if (!a->arg[2] || bpf_probe_read_user(&v, sizeof(v), (void *)a->arg[1]))
		return false;
	return st_user_vault_request((__u64)v.iov_base, v.iov_len);
}

/*
 * A write is handled in three parts: st_send_begin builds its stream, the program scans it,
 * st_send_end does what follows. The two parts hold their locals in frames of their own, off
 * the scan's chain of calls: 6.1's verifier counts every frame of that chain, each rounded up
 * to 32 bytes, against 512 bytes in all (docs/kernels.md).
 */

/* The call's stream in the scan state, or NULL when it is not scanned; *cp: its fd's carry,
 * NULL without one. A Vault connection's id is left in s->conn_id. */
static __noinline struct st_scan *st_send_begin(long ret, __u32 hook, struct st_carry **cp)
{
	struct st_carry *c;
	struct st_stash a;
	struct st_scan *s;
	bool first = false;
	__u64 conn;

	if (ret <= 0 || !st_is_traced())
		return NULL;
	st_exit_args(&a, hook);
	st_tls_associate((int)a.arg[0]);
	if (!st_scans()) {
		/* outside the reach set: a request to Vault is all that matters, and its sender
		 * holds a credential from then on */
		if (!st_send_is_vault_request(&a, ret))
			return NULL;
		st_join_reach(ST_REACH_VAULT);
	}
	s = st_call_begin(a.hook, (int)a.arg[0], ST_SINK_UNKNOWN);
	if (!s)
		return NULL;
	/* Vault traffic goes to the learner whole: no carry of earlier bytes there */
	c = st_carry_of(s->fd);
	conn = c ? 0 : st_vault_conn_of(s->fd);
	if (c)
		st_add_carry_seg(s, c);
	else if (!conn)
		first = true;
	if (!st_add_call(s, &a, ret))
		return NULL;
	/* a connection's first bytes name its host (TLS SNI, HTTP Host): before any use, and
	 * the scan may send some (a call naming many secrets) */
	if (first && st_fd_is_socket(s->fd))
		st_peek();
	s->conn_id = conn;
	*cp = c;
	return s;
}

/* After the scan: the connection's state, the carry, the taint, the copies out. */
static __noinline void st_send_end(struct st_scan *s, struct st_carry *c)
{
	__u64 conn = s->conn_id;

	if (conn && st_tls_record(s))
		conn = st_drop_vault_conn(s->fd);
	if (!conn)
		conn = st_new_vault_conn(s);
	if (!conn)
		st_save_carry(s, c, s->fd);
	/* where a secret went, or may have gone: a secret being learned right now is found
	 * only by the rescan of the held copy, after its reader may have read it */
	if (s->found_any || in_seq != learned_seq)
		st_taint_fd(s->fd, s->found_any ? s->found_any - 1 : ~0u);
	s->conn_id = conn;
	if (conn)
		st_copy_stream(ST_DATA_VAULT_OUT);
	if (in_seq != learned_seq)
		st_copy_stream(ST_DATA_HELD);
}

static __always_inline int st_send_exit(long ret, __u32 hook)
{
	struct st_carry *c = NULL;
	struct st_scan *s = st_send_begin(ret, hook, &c);

	if (!s)
		return 0;
	st_scan_stream();
	st_join_if_found(s);
	st_finish_call();
	st_send_end(s, c);
	return 0;
}

ST_SYSCALL_FAMILY(handle_send_exit, ST_SEND_SYSCALLS, st_send_exit)
