// SPDX-License-Identifier: GPL-2.0
/*
 * Learning and connection tracking: connect (Vault addresses, network.connect), the read
 * family (include/syscalls.h) on Vault connections only (their bytes go to the learner),
 * close. Exit tracepoints read the arguments from the saved registers (syscall.bpf.h).
 */
#include "maps.bpf.h"
#include "targets/filter.bpf.h"
#include "enrich/fdinfo.bpf.h"
#include "detect/stream.bpf.h"
#include "probes/syscall.bpf.h"
#include "targets/reach.bpf.h"

#define ST_EINPROGRESS 115

static __always_inline struct st_conn *st_conn_of(int fd)
{
	struct st_conn_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };

	return bpf_map_lookup_elem(&vault_conns, &k);
}

/* Reads: only a Vault connection's bytes go anywhere; other reads cost a lookup (and, in the
 * node modes once a secret was written somewhere, a second one: is it read from there?). */
static __always_inline int st_recv_exit(long ret, __u32 hook)
{
	struct st_stash a;
	struct st_conn *c;
	struct st_scan *s;

	if (ret <= 0 || !st_is_traced())
		return 0;
	st_exit_args(&a, hook);
	st_tls_associate((int)a.arg[0]);
	c = st_conn_of((int)a.arg[0]);
	if (!c) {
		st_reach_by_taint((int)a.arg[0]);
		return 0;
	}
	st_join_reach(ST_REACH_VAULT);
	s = st_call_begin(a.hook, (int)a.arg[0], ST_SINK_SOCKET);
	if (!s)
		return 0;
	/* Before the bytes reach the process: from here on, its writes are held until
	 * userspace has learned what these bytes teach. */
	s->seq = __sync_fetch_and_add(&in_seq, 1) + 1;
	s->conn_id = c->id;
	if (st_add_call(s, &a, ret))
		st_copy_stream(ST_DATA_VAULT_IN);
	return 0;
}

ST_SYSCALL_FAMILY(handle_recv_exit, ST_RECV_SYSCALLS, st_recv_exit)

SEC("tracepoint/syscalls/sys_exit_connect")
int handle_sys_exit_connect(struct st_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct st_rec_connect *r;
	struct st_addr dst;
	struct file *f;
	struct st_stash a;
	__u32 vault;

	if ((ctx->ret != 0 && ctx->ret != -ST_EINPROGRESS) || !st_is_traced())
		return 0;
	st_exit_args(&a, ST_HOOK_CONNECT);
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		st_count(ST_STAT_LOST_PROC, 1);
		return 0;
	}
	__builtin_memset(&r->dst, 0, sizeof(r->dst));
	st_fill_hdr(&r->hdr, ST_REC_CONNECT);
	r->fd = (int)a.arg[0];
	r->ret = ctx->ret;
	r->vault = 0;
	r->transport = ST_TRANSPORT_OTHER;
	__builtin_memset(r->path, 0, sizeof(r->path));
	st_read_sockaddr(&r->dst, a.arg[1], a.arg[2]);
	f = st_fd_file(r->fd);
	r->ino = 0;
	if (f) {
		r->transport = st_transport(BPF_CORE_READ(f, private_data), r->dst.family);
		r->ino = BPF_CORE_READ(f, f_inode, i_ino);
	}
	if (r->dst.family == ST_AF_UNIX && a.arg[2] > 2) {
		__u32 n = a.arg[2] - 2;

		if (n > sizeof(r->path) - 1)
			n = sizeof(r->path) - 1;
		barrier_var(n);
		bpf_probe_read_user(r->path, n & 0x7f, (void *)(a.arg[1] + 2));
	}
	/* the key from the stack: 6.1's verifier takes no ring buffer memory as a map key */
	dst = r->dst;
	if (bpf_map_lookup_elem(&vault_addrs, &dst)) {
		struct st_conn_key k = { .tgid = id >> 32, .fd = r->fd };
		struct st_conn c = { .id = __sync_fetch_and_add(&conn_ids, 1) + 1,
				     .flags = ST_CONN_VAULT };

		r->vault = 1;
		bpf_map_update_elem(&vault_conns, &k, &c, BPF_ANY);
		bpf_map_delete_elem(&carry, &k);	/* see st_vault_conn_of */
	}
	vault = r->vault;
	bpf_ringbuf_submit(r, 0);
	/* a process of the reach set opening a connection: whoever it reaches may read what it
	 * sends before that write's exit hook could taint the place */
	if (!vault && st_scans())
		st_taint_fd(a.arg[0], ~0u);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int handle_sys_enter_close(struct st_sys_enter *ctx)
{
	struct st_conn_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = ctx->args[0] };
	struct st_rec_close *r;
	struct st_conn *c;

	if (!st_is_traced())
		return 0;
	bpf_map_delete_elem(&carry, &k);
	c = bpf_map_lookup_elem(&vault_conns, &k);
	if (!c)
		return 0;
	/* in the Vault ring, after the connection's last bytes: read before them (the other
	 * ring), it cut the response the learner had not read yet */
	r = bpf_ringbuf_reserve(&vault_events, sizeof(*r), 0);
	if (r) {
		st_fill_hdr(&r->hdr, ST_REC_CLOSE);
		r->conn_id = c->id;
		r->fd = k.fd;
		bpf_ringbuf_submit(r, 0);
	} else {
		st_count(ST_STAT_LOST_VAULT, 1);
	}
	bpf_map_delete_elem(&vault_conns, &k);
	return 0;
}
