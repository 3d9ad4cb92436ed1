// SPDX-License-Identifier: GPL-2.0
/*
 * TLS libraries: the plaintext at the library boundary, as the agent hands it over.
 * Uprobes on OpenSSL (SSL_write, SSL_write_ex, SSL_read, SSL_read_ex, SSL_set_fd,
 * SSL_do_handshake, SSL_connect) and GnuTLS (gnutls_record_send, gnutls_record_recv,
 * gnutls_transport_set_int2), attached to each library file for every process, so that a
 * process is observed from its first call; the traced-task filter runs first, so an
 * untraced process pays the trap and one map lookup.
 *
 * Writes are scanned at entry, where the buffer is the agent's own and complete (OpenSSL
 * writes all of it or nothing), with one trap per call; a retry of a failed write (same
 * buffer, length and ends) is not scanned twice. Reads need the return value, and only
 * Vault sessions' reads are copied out.
 */
#include "maps.bpf.h"
#include "filter.bpf.h"
#include "fdinfo.bpf.h"
#include "stream.bpf.h"

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

	if (fd)
		return *fd;
	bpf_map_update_elem(&tls_pending, &id, &ssl, BPF_ANY);
	return -1;
}

static __always_inline void st_tls_set_fd(__u64 ssl, __s32 fd)
{
	struct st_tls_key k = st_tls_key_of(ssl);

	bpf_map_update_elem(&tls_fd, &k, &fd, BPF_ANY);
}

/* A retry of the last write on this session (same buffer, length and ends)? */
static __always_inline bool st_tls_retry(__u64 ssl, __u64 buf, __u64 len)
{
	struct st_tls_key k = st_tls_key_of(ssl);
	struct st_tls_last now = { .buf = buf, .len = len };
	struct st_tls_last *last;

	bpf_probe_read_user(&now.head, 8, (void *)buf);
	bpf_probe_read_user(&now.tail, 8, (void *)(buf + len - 8));
	last = bpf_map_lookup_elem(&tls_last, &k);
	if (last && last->buf == buf && last->len == len && last->head == now.head &&
	    last->tail == now.tail)
		return true;
	bpf_map_update_elem(&tls_last, &k, &now, BPF_ANY);
	return false;
}

static __always_inline int st_tls_write(__u64 ssl, __u64 buf, __u64 len, __u32 hook)
{
	struct st_tls_key k;
	struct st_conn *c;
	struct st_scan *s;
	int carry_fd;

	if (!st_is_traced() || !ssl || !buf || !len || (__s64)len < 0)
		return 0;
	if (len >= 8 && st_tls_retry(ssl, buf, len))
		return 0;
	s = st_call_begin(hook, st_tls_fd(ssl), ST_SINK_UNKNOWN);
	if (!s)
		return 0;
	s->ssl = ssl;
	k = st_tls_key_of(ssl);
	c = bpf_map_lookup_elem(&tls_conns, &k);
	carry_fd = st_tls_carry_fd(ssl);
	if (!c)
		st_add_carry(s, carry_fd);
	st_seg_add(s, buf, len, 0, 0);
	st_scan_stream();
	st_finish_call();
	if (c) {
		s->conn_id = c->id;
	} else if (s->flags & ST_SCAN_VAULT_REQ) {
		struct st_conn n = { .id = __sync_fetch_and_add(&conn_ids, 1) + 1,
				     .flags = ST_CONN_VAULT };

		bpf_map_update_elem(&tls_conns, &k, &n, BPF_NOEXIST);
		s->conn_id = n.id;
	} else {
		st_save_carry(carry_fd);
	}
	if (s->conn_id)
		st_copy_stream(ST_DATA_VAULT_OUT);
	if (in_seq != learned_seq)
		st_copy_stream(ST_DATA_HELD);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(handle_ssl_write, void *ssl, const void *buf, int num)
{
	return st_tls_write((__u64)ssl, (__u64)buf, num > 0 ? num : 0, ST_HOOK_SSL_WRITE);
}

SEC("uprobe")
int BPF_KPROBE(handle_ssl_write_ex, void *ssl, const void *buf, __u64 num)
{
	return st_tls_write((__u64)ssl, (__u64)buf, num, ST_HOOK_SSL_WRITE);
}

SEC("uprobe")
int BPF_KPROBE(handle_gnutls_record_send, void *session, const void *data, __u64 size)
{
	return st_tls_write((__u64)session, (__u64)data, size, ST_HOOK_GNUTLS_SEND);
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
	s->seq = __sync_fetch_and_add(&in_seq, 1) + 1;
	s->conn_id = a.arg[5];
	s->ssl = a.arg[0];
	st_seg_add(s, a.arg[1], n, 0, 0);
	st_copy_stream(ST_DATA_VAULT_IN);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(handle_ssl_read, void *ssl, void *buf, int num)
{
	return st_tls_read_enter((__u64)ssl, (__u64)buf, num > 0 ? num : 0, 0, ST_HOOK_SSL_READ, 0);
}

SEC("uprobe")
int BPF_KPROBE(handle_ssl_read_ex, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	return st_tls_read_enter((__u64)ssl, (__u64)buf, num, (__u64)readbytes, ST_HOOK_SSL_READ,
				 ST_TLS_READ_EX);
}

SEC("uprobe")
int BPF_KPROBE(handle_gnutls_record_recv, void *session, void *data, __u64 size)
{
	return st_tls_read_enter((__u64)session, (__u64)data, size, 0, ST_HOOK_GNUTLS_RECV, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_tls_read_ret, long ret)
{
	return st_tls_read_exit(ret);
}

/* ---- which socket a session runs over ---- */

SEC("uprobe")
int BPF_KPROBE(handle_ssl_set_fd, void *ssl, int fd)
{
	if (st_is_traced())
		st_tls_set_fd((__u64)ssl, fd);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(handle_gnutls_transport_set_int2, void *session, int recv_fd, int send_fd)
{
	if (st_is_traced())
		st_tls_set_fd((__u64)session, send_fd);
	return 0;
}

/* A handshake on a session whose socket is not known: its next socket call tells. */
SEC("uprobe")
int BPF_KPROBE(handle_ssl_handshake, void *ssl)
{
	if (st_is_traced())
		st_tls_fd((__u64)ssl);
	return 0;
}
