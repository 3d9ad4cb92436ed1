// SPDX-License-Identifier: GPL-2.0
/*
 * Go's crypto/tls: the plaintext at crypto/tls.(*Conn).Write and .Read of each Go binary
 * (user/probes/go.c attaches them per file, for every process; docs/go.md).
 *
 * Go's register ABI (amd64, Go 1.17+): at an entry the receiver *Conn is in RAX and the
 * buffer in RBX (pointer), RCX (length), RDI (capacity); at a RET, RAX holds n; R14 always
 * holds the current goroutine (g). No uretprobes: Go moves goroutine stacks, and a
 * rewritten return address there crashes the program; each RET of Read has its own uprobe.
 *
 * Write is scanned at entry like SSL_write (tls_common.bpf.h), the session keyed by the
 * *tls.Conn. An entry can fire twice for one call (runtime.morestack jumps back to the
 * function's first instruction): for Write the repeat has the same bytes on the same
 * session and st_tls_retry drops it; for Read it rewrites the same stash.
 *
 * Unlike SSL_read, every Read of a traced process is stashed (a map update), and only Vault
 * sessions' bytes are copied at the return.
 */
#include "probes/tls_common.bpf.h"

/* The socket under a *tls.Conn: conn iface -> net.conn.fd -> netFD.pfd.Sysfd, by the
 * binary's offsets. The interface may hold something else than a net.conn (a wrapper of
 * the program's own): what is read is then not trusted unless it names a socket. */
static __always_inline int st_go_fd(__u64 conn, __u32 bin)
{
	struct st_go_offsets *o = bpf_map_lookup_elem(&go_offsets, &bin);
	__u64 iface[2], netfd = 0;
	__s64 sysfd = -1;

	if (!o)
		return -1;
	if (bpf_probe_read_user(iface, sizeof(iface), (void *)(conn + o->conn_iface)) ||
	    !iface[0] || !iface[1])
		return -1;
	if (bpf_probe_read_user(&netfd, sizeof(netfd), (void *)(iface[1] + o->netconn_fd)) ||
	    !netfd)
		return -1;
	if (bpf_probe_read_user(&sysfd, sizeof(sysfd),
				(void *)(netfd + o->netfd_pfd + o->pfd_sysfd)))
		return -1;
	if (sysfd < 0 || sysfd > 0x7fffffff || !st_fd_is_socket((int)sysfd))
		return -1;
	return (int)sysfd;
}

/* The session's descriptor, read again at each call: the garbage collector hands a freed
 * *tls.Conn's address to a new one, and a new socket under a known address means a new
 * session, whose Vault state and last write must not be the old one's. */
static __noinline void st_go_learn_fd(__u64 conn, __u32 bin)
{
	struct st_tls_key k = st_tls_key_of(conn);
	__s32 *known = bpf_map_lookup_elem(&tls_fd, &k);
	int fd = st_go_fd(conn, bin);

	if (fd < 0 || (known && *known == fd))
		return;
	if (known) {
		bpf_map_delete_elem(&tls_conns, &k);
		bpf_map_delete_elem(&tls_last, &k);
	}
	st_tls_set_fd(conn, fd);
}

static __always_inline int st_go_write(__u64 conn, __u64 buf, __u64 len, __u32 bin)
{
	if (!st_is_traced() || !conn)
		return 0;
	st_go_learn_fd(conn, bin);
	return st_tls_write(conn, buf, len, ST_HOOK_GO_TLS_WRITE);
}

/* Every read is stashed, by goroutine: Read may block, and the goroutine then resumes on
 * whatever thread the scheduler picks. Whether the session is a Vault one is asked at the
 * return: net/http's reader goroutine enters Read (and blocks) before the request is
 * written, so at the entry the session is not known to be Vault's yet. */
static __noinline int st_go_read_enter(__u64 conn, __u64 buf, __u64 len, __u64 g, __u32 bin)
{
	struct st_tls_key gk = st_tls_key_of(g);
	struct st_stash a = { .hook = ST_HOOK_GO_TLS_READ };

	if (!st_is_traced() || !conn || !g || !buf || (__s64)len <= 0)
		return 0;
	st_go_learn_fd(conn, bin);
	a.arg[0] = conn;
	a.arg[1] = buf;
	a.arg[2] = len;
	if (bpf_map_update_elem(&go_stash, &gk, &a, BPF_ANY))
		st_count(ST_STAT_STASH_FULL, 1);
	return 0;
}

static __noinline int st_go_read_ret(__u64 g, __s64 n)
{
	struct st_tls_key gk = st_tls_key_of(g), k;
	struct st_stash *p = bpf_map_lookup_elem(&go_stash, &gk);
	struct st_stash a;
	struct st_conn *c;

	if (!p)
		return 0;
	a = *p;
	bpf_map_delete_elem(&go_stash, &gk);
	k = st_tls_key_of(a.arg[0]);
	c = bpf_map_lookup_elem(&tls_conns, &k);
	if (!c || !(c->flags & ST_CONN_VAULT) || n <= 0)
		return 0;
	a.arg[5] = c->id;
	return st_tls_read_done(&a, n);
}

/* One program for every Go probe of every binary: the cookie says which binary and which
 * probe (one uprobe_multi link per file). */
SEC("uprobe")
int handle_go_tls(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 bin = cookie >> 8;

	switch (cookie & 0xff) {
	case ST_GO_WRITE:
		return st_go_write(ctx->ax, ctx->bx, ctx->cx, bin);
	case ST_GO_READ:
		return st_go_read_enter(ctx->ax, ctx->bx, ctx->cx, ctx->r14, bin);
	case ST_GO_READ_RET:
		return st_go_read_ret(ctx->r14, (__s64)ctx->ax);
	}
	return 0;
}
