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
#include "probes/tls_common.bpf.h"

/* ---- reads: only Vault sessions' are copied, after the call ---- */

#define ST_TLS_READ_EX (1u << 1)

/* readbytes: SSL_read_ex's count pointer (which OpenSSL always writes, so never NULL in a
 * call that returns), 0 for the others. Out of line, as the reads' exit: its locals stay off
 * handle_tls_enter's frame, which the scan's chain of calls adds to (docs/kernels.md). */
static __noinline int st_tls_read_enter(__u64 ssl, __u64 buf, __u64 len, __u64 readbytes,
					__u32 hook)
{
	struct st_tls_key k = st_tls_key_of(ssl);
	__u64 id = bpf_get_current_pid_tgid();
	struct st_stash a = { .hook = hook, .flags = readbytes ? ST_TLS_READ_EX : 0 };
	struct st_conn *c;

	if (!st_is_traced())
		return 0;
	st_tls_fd(ssl);	/* learn the socket from this read if not known yet */
	c = bpf_map_lookup_elem(&tls_conns, &k);
	if (!c || !(c->flags & ST_CONN_VAULT))
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

static __noinline int st_tls_read_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid(), n = 0;
	struct st_stash *p = bpf_map_lookup_elem(&tls_stash, &id);
	struct st_stash a;

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
	return st_tls_read_done(&a, n);
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
		return st_tls_read_enter(a1, a2, (int)a3 > 0 ? (int)a3 : 0, 0, ST_HOOK_SSL_READ);
	case ST_TLS_SSL_READ_EX:
		return st_tls_read_enter(a1, a2, a3, PT_REGS_PARM4(ctx), ST_HOOK_SSL_READ);
	case ST_TLS_GNUTLS_RECV:
		return st_tls_read_enter(a1, a2, a3, 0, ST_HOOK_GNUTLS_RECV);
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
