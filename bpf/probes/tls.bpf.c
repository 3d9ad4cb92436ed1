// SPDX-License-Identifier: GPL-2.0
/*
 * TLS libraries: the plaintext at the library boundary, as the agent hands it over.
 * Uprobes on OpenSSL (SSL_write, SSL_write_ex, SSL_read, SSL_read_ex, SSL_set_fd,
 * SSL_do_handshake, SSL_connect) and GnuTLS (gnutls_record_send, gnutls_record_recv, gnutls_transport_set_int2), attached to
 * each library file for every process, so that a process is observed from its first
 * call; the traced-task filter runs first, so an untraced process pays the trap and one
 * map lookup.
 *
 * Writes are scanned at entry, where the buffer is the agent's own and complete (OpenSSL
 * writes all of it or nothing), with one trap per call; a retry of a failed write (the same
 * bytes, by content hash) is not scanned twice. Reads need the return value, and only
 * Vault sessions' reads are copied out.
 */
#include "maps.bpf.h"
#include "targets/filter.bpf.h"
#include "enrich/fdinfo.bpf.h"
#include "detect/stream.bpf.h"
#include "targets/reach.bpf.h"

/* A session's carry lives beside the sockets' ones, under a key no fd has. */
static __always_inline int st_tls_carry_fd(__u64 ssl)
{
	return (int)(0x80000000u | (__u32)(ssl >> 4));
}

static __always_inline struct st_tls_key st_tls_key_of(__u64 ssl)
{
	struct st_tls_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .ssl = ssl };

	return k;
}

/* The socket under the session, if known; otherwise the next socket call of this thread
 * tells (the library's own read or write, or the event loop's for a memory BIO). */
static __always_inline int st_tls_fd(__u64 ssl)
{
	struct st_tls_key k = st_tls_key_of(ssl);
	__u64 id = bpf_get_current_pid_tgid();
	__s32 *fd = bpf_map_lookup_elem(&tls_fd, &k);
	long err;

	if (fd)
		return *fd;
	/* counted when new, so that the count is never below the entries */
	err = bpf_map_update_elem(&tls_pending, &id, &ssl, BPF_NOEXIST);
	if (!err)
		__sync_fetch_and_add(&tls_waiting, 1);
	else if (err == -EEXIST)
		bpf_map_update_elem(&tls_pending, &id, &ssl, BPF_ANY);
	return -1;
}

static __always_inline void st_tls_set_fd(__u64 ssl, __s32 fd)
{
	struct st_tls_key k = st_tls_key_of(ssl);

	bpf_map_update_elem(&tls_fd, &k, &fd, BPF_ANY);
}

/* A retry of the last write on this session: the same bytes (node retries from a copy)? */
static __always_inline bool st_tls_retry(__u64 ssl, __u64 buf, __u64 len)
{
	struct st_tls_key k = st_tls_key_of(ssl);
	struct st_tls_last now = { .len = len, .hash = st_content_hash(buf, len) };
	struct st_tls_last *last = bpf_map_lookup_elem(&tls_last, &k);

	if (last && last->len == len && last->hash == now.hash)
		return true;
	bpf_map_update_elem(&tls_last, &k, &now, BPF_ANY);
	return false;
}

static __always_inline int st_tls_write(__u64 ssl, __u64 buf, __u64 len, __u32 hook)
{
	struct st_carry *cy = NULL;
	struct st_tls_key k;
	struct st_conn *c;
	struct st_scan *s;
	bool first = false;
	int carry_fd;

	if (!st_is_traced() || !ssl || !buf || !len || (__s64)len < 0)
		return 0;
	if (!st_scans()) {
		/* outside the reach set (node modes): only a request to Vault matters */
		if (!st_user_vault_request(buf, len))
			return 0;
		st_join_reach(ST_REACH_VAULT);
	}
	if (st_tls_retry(ssl, buf, len))
		return 0;
	s = st_call_begin(hook, st_tls_fd(ssl), ST_SINK_UNKNOWN);
	if (!s)
		return 0;
	s->ssl = ssl;
	k = st_tls_key_of(ssl);
	c = bpf_map_lookup_elem(&tls_conns, &k);
	carry_fd = st_tls_carry_fd(ssl);
	if (!c)
		first = !(cy = st_add_carry(s, carry_fd));
	st_seg_add(s, buf, len, 0, 0);
	if (first && s->fd >= 0)	/* the session's first request names its Host: before uses */
		st_peek();
	st_scan_stream();
	st_join_if_found(s);
	st_finish_call();
	if (c) {
		s->conn_id = c->id;
	} else if (s->flags & ST_SCAN_VAULT_REQ) {
		struct st_conn n = { .id = __sync_fetch_and_add(&conn_ids, 1) + 1,
				     .flags = ST_CONN_VAULT };

		bpf_map_update_elem(&tls_conns, &k, &n, BPF_NOEXIST);
		s->conn_id = n.id;
	} else {
		st_save_carry(s, cy, carry_fd);
	}
	/* where a secret went, or may have gone: a secret being learned right now is found
	 * only by the rescan of the held copy, after its reader may have read it */
	if (s->found_any || in_seq != learned_seq)
		st_taint_fd(s->fd, s->found_any ? s->found_any - 1 : ~0u);
	if (s->conn_id)
		st_copy_stream(ST_DATA_VAULT_OUT);
	if (in_seq != learned_seq)
		st_copy_stream(ST_DATA_HELD);
	return 0;
}

/* ---- reads: only Vault sessions' are copied, after the call ---- */

#define ST_TLS_READ_EX (1u << 1)

static __always_inline int st_tls_read_enter(__u64 ssl, __u64 buf, __u64 len, __u64 readbytes,
					     __u32 hook, __u32 flags)
{
	struct st_tls_key k = st_tls_key_of(ssl);
	__u64 id = bpf_get_current_pid_tgid();
	struct st_stash a = { .hook = hook, .flags = flags };
	struct st_conn *c;

	if (!st_is_traced())
		return 0;
	st_tls_fd(ssl);	/* learn the socket from this read if not known yet */
	c = bpf_map_lookup_elem(&tls_conns, &k);
	if (!c)
		return 0;
	a.arg[0] = ssl;
	a.arg[1] = buf;
	a.arg[2] = len;
	a.arg[3] = readbytes;
	a.arg[5] = c->id;
	if (bpf_map_update_elem(&tls_stash, &id, &a, BPF_ANY))
		st_count(ST_STAT_STASH_FULL, 1);
	return 0;
}

static __always_inline int st_tls_read_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid(), n = 0;
	struct st_stash *p = bpf_map_lookup_elem(&tls_stash, &id);
	struct st_tls_key k;
	struct st_stash a;
	struct st_scan *s;
	__s32 *fd;

	if (!p)
		return 0;
	a = *p;
	bpf_map_delete_elem(&tls_stash, &id);
	if (a.flags & ST_TLS_READ_EX) {
		if (ret != 1 || bpf_probe_read_user(&n, sizeof(n), (void *)a.arg[3]))
			return 0;
	} else if (ret > 0) {
		n = ret;
	}
	if (!n || n > a.arg[2])
		return 0;
	k = st_tls_key_of(a.arg[0]);
	fd = bpf_map_lookup_elem(&tls_fd, &k);
	s = st_call_begin(a.hook, fd ? *fd : -1, ST_SINK_SOCKET);
	if (!s)
		return 0;
	/* as for a plain read: writes are held until these bytes are learned */
	st_join_reach(ST_REACH_VAULT);
	s->seq = __sync_fetch_and_add(&in_seq, 1) + 1;
	s->conn_id = a.arg[5];
	s->ssl = a.arg[0];
	st_seg_add(s, a.arg[1], n, 0, 0);
	st_copy_stream(ST_DATA_VAULT_IN);
	return 0;
}

/* ---- one entry program and one return program for every function of every file: the
 * attach cookie says which function fired (one uprobe_multi link per file and kind) ---- */

SEC("uprobe")
int handle_tls_enter(struct pt_regs *ctx)
{
	__u64 a1 = PT_REGS_PARM1(ctx), a2 = PT_REGS_PARM2(ctx), a3 = PT_REGS_PARM3(ctx);

	switch (bpf_get_attach_cookie(ctx)) {
	case ST_TLS_SSL_WRITE:	/* int num */
		return st_tls_write(a1, a2, (int)a3 > 0 ? (int)a3 : 0, ST_HOOK_SSL_WRITE);
	case ST_TLS_SSL_WRITE_EX:
		return st_tls_write(a1, a2, a3, ST_HOOK_SSL_WRITE);
	case ST_TLS_GNUTLS_SEND:
		return st_tls_write(a1, a2, a3, ST_HOOK_GNUTLS_SEND);
	case ST_TLS_SSL_READ:
		return st_tls_read_enter(a1, a2, (int)a3 > 0 ? (int)a3 : 0, 0, ST_HOOK_SSL_READ, 0);
	case ST_TLS_SSL_READ_EX:
		return st_tls_read_enter(a1, a2, a3, PT_REGS_PARM4(ctx), ST_HOOK_SSL_READ,
					 ST_TLS_READ_EX);
	case ST_TLS_GNUTLS_RECV:
		return st_tls_read_enter(a1, a2, a3, 0, ST_HOOK_GNUTLS_RECV, 0);
	case ST_TLS_SSL_SET_FD:
		if (st_is_traced())
			st_tls_set_fd(a1, (int)a2);
		return 0;
	case ST_TLS_GNUTLS_SET_INT2:	/* (session, recv_fd, send_fd) */
		if (st_is_traced())
			st_tls_set_fd(a1, (int)a3);
		return 0;
	case ST_TLS_HANDSHAKE:	/* its socket calls tell which socket, before any data */
		if (st_is_traced())
			st_tls_fd(a1);
		return 0;
	}
	return 0;
}

SEC("uretprobe")
int handle_tls_return(struct pt_regs *ctx)
{
	return st_tls_read_exit(PT_REGS_RC(ctx));
}
