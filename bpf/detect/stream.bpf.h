/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A call's transferred bytes as one stream of segments (a buffer, the iovecs of writev,
 * the messages of sendmmsg, the carry of an fd's earlier writes), in the per-CPU scan
 * state, from the call's arguments. Every hook builds the stream here, then hands it to
 * the scanner (scan.bpf.h), which never reaches back.
 */
#ifndef SECRETRACE_STREAM_BPF_H
#define SECRETRACE_STREAM_BPF_H

#include "maps.bpf.h"
#include "detect/scan.bpf.h"

static __always_inline struct st_scan *st_call_begin(__u32 hook, int fd, __u32 sink)
{
	struct st_scan *s = st_scan_state();

	if (!s)
		return NULL;
	s->calls++;
	s->call_id = (s->calls << 16) | (bpf_get_smp_processor_id() & 0xffff);
	s->nsegs = 0;
	s->total = 0;
	s->limit = 0;
	s->nfound = 0;
	s->found_any = 0;
	s->flags = 0;
	s->hook = hook;
	s->fd = fd;
	s->sink = sink;
	s->conn_id = 0;
	s->seq = 0;
	s->ssl = 0;
	s->carry_len = 0;
	s->gen = dict_gen;
	return s;
}

static __always_inline void st_seg_add(struct st_scan *s, __u64 base, __u64 len, __u64 name,
				       __u32 namelen)
{
	__u32 i = s->nsegs;
	struct st_seg *g;

	if (!len)
		return;
	if (i >= ST_MAX_SEGS) {
		st_count(ST_STAT_BYTES_NOT_SCANNED, len);
		return;
	}
	g = &s->segs[i & (ST_MAX_SEGS - 1)];
	g->base = base;
	g->len = len;
	g->start = s->total;
	g->name = name;
	g->namelen = namelen;
	g->kernel = 0;
	s->total += len;
	s->nsegs = i + 1;
}

static __always_inline struct st_carry *st_carry_of(int fd)
{
	struct st_conn_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };

	return bpf_map_lookup_elem(&carry, &k);
}

/*
 * The tail of fd's earlier writes (its carry c), as the stream's first segment (kernel
 * memory): only as much as can hold the start of a secret that ends in this call, the
 * longest indexed form less one (carry_want, read now, so a secret learned after its first
 * part was written is still found whole); all ST_CARRY bytes while a Vault response is being
 * learned, when the forms about to be indexed are not known.
 */
static __always_inline void st_add_carry_seg(struct st_scan *s, struct st_carry *c)
{
	__u32 len = c->len, n;

	n = in_seq != learned_seq ? ST_CARRY : carry_want;
	if (n > ST_CARRY)
		n = ST_CARRY;
	if (n > len)
		n = len;
	if (!n || len > 2 * ST_CARRY)
		return;
	st_seg_add(s, (__u64)c->bytes + ((len - n) & (2 * ST_CARRY - 1)), n, 0, 0);
	s->segs[0].kernel = 1;
	s->carry_len = n;
}

/* fd's carry, added to the stream; NULL if fd has none (its first write). */
static __always_inline struct st_carry *st_add_carry(struct st_scan *s, int fd)
{
	struct st_carry *c = st_carry_of(fd);

	if (c)
		st_add_carry_seg(s, c);
	return c;
}

/* Append the call's last bytes (at most ST_CARRY) to fd's carry c (the one st_add_carry
 * found, or NULL for a new one). */
static __always_inline void st_save_carry(struct st_scan *s, struct st_carry *c, int fd)
{
	struct st_conn_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };
	__u64 n, len;

	st_carry_tail();
	n = s->span_len;
	if (!n || n > ST_CARRY)
		return;
	if (c && (c->tgid != k.tgid || c->fd != k.fd))	/* evicted and reused meanwhile */
		c = st_carry_of(fd);
	if (!c) {
		s->carry_new.len = n;
		s->carry_new.fd = fd;
		s->carry_new.tgid = k.tgid;
		bpf_probe_read_kernel(s->carry_new.bytes, n, s->span);
		bpf_map_update_elem(&carry, &k, &s->carry_new, BPF_ANY);
		return;
	}
	len = c->len;
	if (len > 2 * ST_CARRY)
		len = 0;	/* never so; a corrupt value starts over */
	if (len + n > 2 * ST_CARRY) {
		/* the old bytes still among the last ST_CARRY to the front, through the scratch
		 * (they may overlap); none for a call of ST_CARRY bytes or more */
		__u64 keep = (ST_CARRY - n) & (ST_CARRY - 1);

		bpf_probe_read_kernel(s->span + ST_MAX_SECRET_LEN, keep,
				      c->bytes + ((len - keep) & (2 * ST_CARRY - 1)));
		bpf_probe_read_kernel(c->bytes, keep, s->span + ST_MAX_SECRET_LEN);
		len = keep;
	}
	bpf_probe_read_kernel(c->bytes + (len & (2 * ST_CARRY - 1)), n, s->span);
	c->len = len + n;
}

struct st_iovwalk {
	struct st_scan *s;
	__u64 iov;		/* user address of struct iovec[] */
	__u64 left;		/* bytes transferred not yet assigned to a segment */
	__u64 name;
	__u32 namelen;
	__u32 n;
};

static long st_iov_step(__u32 i, struct st_iovwalk *w)
{
	struct iovec v;
	__u64 len;

	st_loop_forget(w->left);
	if (i >= w->n || !w->left)
		return 1;
	if (bpf_probe_read_user(&v, sizeof(v), (void *)(w->iov + (__u64)i * sizeof(v)))) {
		st_count(ST_STAT_BYTES_NOT_SCANNED, w->left);
		return 1;
	}
	len = v.iov_len < w->left ? v.iov_len : w->left;
	st_seg_add(w->s, (__u64)v.iov_base, len, w->name, w->namelen);
	w->left -= len;
	return 0;
}

/* The first `bytes` bytes of an iovec array, which is what the call transferred. */
static __always_inline void st_add_iovs(struct st_scan *s, __u64 iov, __u64 iovcnt, __u64 bytes,
					__u64 name, __u32 namelen)
{
	struct st_iovwalk w = {
		.s = s, .iov = iov, .left = bytes, .name = name, .namelen = namelen,
		.n = iovcnt > ST_MAX_SEGS ? ST_MAX_SEGS : iovcnt,
	};

	st_loop(ST_MAX_SEGS, st_iov_step, &w);
	if (w.left && w.n == ST_MAX_SEGS)
		st_count(ST_STAT_BYTES_NOT_SCANNED, w.left);
}

static __always_inline void st_add_msghdr(struct st_scan *s, __u64 umsg, __u64 bytes)
{
	struct user_msghdr m;

	if (bpf_probe_read_user(&m, sizeof(m), (void *)umsg)) {
		st_count(ST_STAT_BYTES_NOT_SCANNED, bytes);
		return;
	}
	st_add_iovs(s, (__u64)m.msg_iov, m.msg_iovlen, bytes, (__u64)m.msg_name, m.msg_namelen);
}

struct st_mmsgwalk {
	struct st_scan *s;
	__u64 vec;		/* user address of struct mmsghdr[] */
	__u32 n;
};

/* unused but in send.bpf.c with bounded loops */
static __attribute__((unused)) long st_mmsg_step(__u32 i, struct st_mmsgwalk *w)
{
	__u64 um = w->vec + (__u64)i * sizeof(struct mmsghdr);
	__u32 sent = 0;

	if (i >= w->n)
		return 1;
	/* the kernel stores each message's byte count in msg_len */
	bpf_probe_read_user(&sent, sizeof(sent), (void *)(um + offsetof(struct mmsghdr, msg_len)));
	st_add_msghdr(w->s, um, sent);
	return 0;
}

#ifdef ST_BOUNDED_LOOPS
/* In the bounded-loop object a message is a global function (send.bpf.c), which the verifier
 * walks once, not once per message. */
int st_mmsg_once(__u32 i, __u64 vec, __u32 n);

static long st_mmsg_global(__u32 i, struct st_mmsgwalk *w)
{
	return st_mmsg_once(i, w->vec, w->n);
}
#define ST_MMSG_STEP st_mmsg_global
#else
#define ST_MMSG_STEP st_mmsg_step
#endif

/* The most messages of one call: the kernel's UIO_MAXIOV. Each is walked even past
 * ST_MAX_SEGS segments (fewer with bounded loops), so that their bytes are counted. */
#define ST_MAX_MSGS 1024

/* sendmmsg/recvmmsg: `n` messages went through; their bytes form one stream. */
static __always_inline void st_add_mmsgs(struct st_scan *s, __u64 vec, __u32 n)
{
	struct st_mmsgwalk w = { .s = s, .vec = vec, .n = n > ST_MAX_MSGS ? ST_MAX_MSGS : n };

	st_loop(ST_MAX_MSGS, ST_MMSG_STEP, &w);
}

/* The bytes a call transferred (ret), as segments, by the shape of its arguments.
 * Returns false for a hook that carries no buffer. */
static __always_inline bool st_add_call(struct st_scan *s, const struct st_stash *a, long ret)
{
	switch (a->hook) {
	case ST_HOOK_WRITE:
	case ST_HOOK_PWRITE64:
	case ST_HOOK_READ:
	case ST_HOOK_RECVFROM:	/* its sockaddr is where the bytes came from: not kept */
		st_seg_add(s, a->arg[1], ret, 0, 0);
		return true;
	case ST_HOOK_SENDTO:
		st_seg_add(s, a->arg[1], ret, a->arg[4], a->arg[5]);
		return true;
	case ST_HOOK_WRITEV:
	case ST_HOOK_PWRITEV:
	case ST_HOOK_PWRITEV2:
	case ST_HOOK_READV:
		st_add_iovs(s, a->arg[1], a->arg[2], ret, 0, 0);
		return true;
	case ST_HOOK_SENDMSG:
	case ST_HOOK_RECVMSG:
		st_add_msghdr(s, a->arg[1], ret);
		return true;
	case ST_HOOK_SENDMMSG:
	case ST_HOOK_RECVMMSG:
		st_add_mmsgs(s, a->arg[1], ret);
		return true;
	}
	return false;
}

#endif /* SECRETRACE_STREAM_BPF_H */
