/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS sessions, whatever the library: what tls.bpf.c (OpenSSL, GnuTLS) and go_tls.bpf.c
 * (Go's crypto/tls) share. A session is keyed by the library's own pointer (SSL *,
 * gnutls_session_t, *tls.Conn) within its process. Writes are scanned at entry, where the
 * buffer is the agent's own and complete; a retry of the same bytes (by content hash) is
 * not scanned twice. Reads of Vault sessions are copied to the learner once their return
 * says how many bytes came.
 */
#ifndef SECRETRACE_TLS_COMMON_BPF_H
#define SECRETRACE_TLS_COMMON_BPF_H

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

/* The socket under the session as recorded, or -1: no guess from the thread's next call. */
static __always_inline int st_tls_known_fd(__u64 ssl)
{
	struct st_tls_key k = st_tls_key_of(ssl);
	__s32 *fd = bpf_map_lookup_elem(&tls_fd, &k);

	return fd ? *fd : -1;
}

/* ---- HTTP/2 sessions: the frames a write carries ---- */

/* frames told apart in one write; past them all is copied (fewer with bounded loops) */
#ifdef ST_BOUNDED_LOOPS
#define ST_H2_FRAMES_MAX 64
#else
#define ST_H2_FRAMES_MAX 512
#endif
#define ST_H2_PREFACE_LEN 24

struct st_h2_walk {
	struct st_h2_frames *f;
};

static long st_h2_step(__u32 i, struct st_h2_walk *w)
{
	struct st_h2_frames *f = w->f;
	struct st_scan *s = st_scan_state();
	__u8 h[9];
	__u64 end;
	__u32 copy;

	if (!s || f->pos >= f->len)
		return 1;
	if (f->pos + 9 > f->len || bpf_probe_read_user(h, 9, (void *)(f->buf + f->pos))) {
		/* a frame header cut by the write's end: from here on everything is copied (the
		 * frames skipped so far were whole, so the copy still parses) */
		f->flags |= ST_H2_ALL;
		return 1;
	}
	end = f->pos + 9 + ((__u32)h[0] << 16 | (__u32)h[1] << 8 | h[2]);
	copy = !f->filter || h[3] == 1 || h[3] == 9;	/* HEADERS, CONTINUATION */
	if (copy)
		st_seg_add(s, f->buf + f->pos, (end < f->len ? end : f->len) - f->pos, 0, 0);
	if (end > f->len) {
		f->left = end - f->len;
		f->flags = copy ? f->flags | ST_H2_COPY : f->flags & ~ST_H2_COPY;
	}
	f->pos = end;
	return 0;
}

/* Copy a write of an HTTP/2 session to userspace: all of it while the session may be
 * Vault's, only its header frames once it is not (ST_CONN_H2: for the HPACK table). The
 * call's stream is rebuilt from the frames kept: after every other use of it. */
static __always_inline void st_tls_h2_copy(struct st_scan *s, const struct st_conn *c,
					   struct st_h2_frames *f, __u64 buf, __u64 len)
{
	struct st_h2_walk w = { .f = f };
	__u64 n = f->left < len ? f->left : len;

	f->filter = (c->flags & ST_CONN_H2) && !(f->flags & ST_H2_ALL);
	f->buf = buf;
	f->len = len;
	s->nsegs = 0;
	s->total = 0;
	if (n && (!f->filter || (f->flags & ST_H2_COPY)))
		st_seg_add(s, buf, n, 0, 0);
	f->left -= n;
	f->pos = n;
	if (f->pos < len && !(f->flags & ST_H2_ALL))
		st_loop(ST_H2_FRAMES_MAX, st_h2_step, &w);
	if (f->pos < len) {	/* frames past the walk's reach, or no longer told apart */
		f->flags |= ST_H2_ALL;
		st_seg_add(s, buf + f->pos, len - f->pos, 0, 0);
	}
	if (s->total)
		st_copy_stream(ST_DATA_VAULT_OUT);
}

/* A write that opens with the HTTP/2 preface: a new connection (perhaps under a session
 * pointer reused), its frames counted from the preface on, maybe Vault's again. */
static const struct st_h2_frames st_h2_new = { .left = ST_H2_PREFACE_LEN, .flags = ST_H2_COPY };

static __always_inline void st_h2_start(struct st_conn *c, const struct st_tls_key *k, __u64 buf,
					__u64 len)
{
	__u64 w[2];

	if (len >= 16 && !bpf_probe_read_user(w, sizeof(w), (void *)buf) &&
	    w[0] == 0x5448202a20495250ULL && (w[1] & 0xffffffff) == 0x322f5054) {
		bpf_map_update_elem(&tls_h2, k, &st_h2_new, BPF_ANY);
		c->flags = (c->flags & ~ST_CONN_H2) | ST_CONN_VAULT;
	}
}

/* A write is handled in three parts, as in send.bpf.c (the begin and the end in frames of
 * their own, off the scan's chain of calls, for 6.1's stack limit). What the end needs of
 * the begin: */
struct st_tls_call {
	struct st_conn *c;	/* the session's Vault state, if any */
	struct st_carry *cy;	/* its carry, if any */
};

/* The write's stream in the scan state, or NULL when it is not scanned. An unknown socket is
 * taken from the thread's next socket call for the C libraries (the thread that writes is
 * the one that sends: pend); a Go session's stays unknown. */
static __noinline struct st_scan *st_tls_write_begin(__u64 ssl, __u64 buf, __u64 len, __u32 hook,
						     struct st_tls_call *t)
{
	bool pend = hook != ST_HOOK_GO_TLS_WRITE, first = false;
	struct st_tls_key k;
	struct st_scan *s;

	if (!st_is_traced() || !ssl || !buf || !len || (__s64)len < 0)
		return NULL;
	if (!st_scans()) {
		/* outside the reach set (node modes): only a request to Vault matters */
		if (!st_user_vault_request(buf, len))
			return NULL;
		st_join_reach(ST_REACH_VAULT);
	}
	if (st_tls_retry(ssl, buf, len))
		return NULL;
	s = st_call_begin(hook, pend ? st_tls_fd(ssl) : st_tls_known_fd(ssl), ST_SINK_UNKNOWN);
	if (!s)
		return NULL;
	s->ssl = ssl;
	k = st_tls_key_of(ssl);
	t->c = bpf_map_lookup_elem(&tls_conns, &k);
	t->cy = NULL;
	if (!t->c)
		first = !(t->cy = st_add_carry(s, st_tls_carry_fd(ssl)));
	st_seg_add(s, buf, len, 0, 0);
	if (first && s->fd >= 0)	/* the session's first request names its Host: before uses */
		st_peek();
	return s;
}

/* After the scan: the session's state, the carry, the taint, the copies out. */
static __noinline void st_tls_write_end(struct st_scan *s, struct st_tls_call *t, __u64 buf,
					__u64 len)
{
	struct st_tls_key k = st_tls_key_of(s->ssl);
	struct st_h2_frames *h2;
	struct st_conn *c = t->c;

	if (c) {
		s->conn_id = c->id;
	} else if (s->flags & ST_SCAN_VAULT_REQ) {
		struct st_conn n = { .id = __sync_fetch_and_add(&conn_ids, 1) + 1,
				     .flags = ST_CONN_VAULT };

		bpf_map_update_elem(&tls_conns, &k, &n, BPF_NOEXIST);
		s->conn_id = n.id;
		c = bpf_map_lookup_elem(&tls_conns, &k);
	} else {
		st_save_carry(s, t->cy, st_tls_carry_fd(s->ssl));
	}
	if (c)
		st_h2_start(c, &k, buf, len);
	/* where a secret went, or may have gone: a secret being learned right now is found
	 * only by the rescan of the held copy, after its reader may have read it */
	if (s->found_any || in_seq != learned_seq)
		st_taint_fd(s->fd, s->found_any ? s->found_any - 1 : ~0u);
	h2 = c ? bpf_map_lookup_elem(&tls_h2, &k) : NULL;
	if (s->conn_id && !h2)
		st_copy_stream(ST_DATA_VAULT_OUT);
	if (in_seq != learned_seq)
		st_copy_stream(ST_DATA_HELD);
	if (h2)		/* Vault's for the learner, HTTP/2 sessions' for their HPACK tables */
		st_tls_h2_copy(s, c, h2, buf, len);
}

static __always_inline int st_tls_write(__u64 ssl, __u64 buf, __u64 len, __u32 hook)
{
	struct st_tls_call t;
	struct st_scan *s = st_tls_write_begin(ssl, buf, len, hook, &t);

	if (!s)
		return 0;
	st_scan_stream();
	st_join_if_found(s);
	st_finish_call();
	st_tls_write_end(s, &t, buf, len);
	return 0;
}

/* ---- reads: only Vault sessions' are copied, after the call ---- */

/* A read's bytes, once its return says how many: to the learner, as for a plain read. */
static __always_inline int st_tls_read_done(const struct st_stash *a, __u64 n)
{
	struct st_tls_key k;
	struct st_scan *s;
	__s32 *fd;

	if (!n || n > a->arg[2])
		return 0;
	k = st_tls_key_of(a->arg[0]);
	fd = bpf_map_lookup_elem(&tls_fd, &k);
	s = st_call_begin(a->hook, fd ? *fd : -1, ST_SINK_SOCKET);
	if (!s)
		return 0;
	/* as for a plain read: writes are held until these bytes are learned */
	st_join_reach(ST_REACH_VAULT);
	s->seq = __sync_fetch_and_add(&in_seq, 1) + 1;
	s->conn_id = a->arg[5];
	s->ssl = a->arg[0];
	st_seg_add(s, a->arg[1], n, 0, 0);
	st_copy_stream(ST_DATA_VAULT_IN);
	return 0;
}

#endif
