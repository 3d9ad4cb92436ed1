/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one scanning routine (scan.bpf.c), as every hook calls it: a hook puts its call's
 * bytes into the per-CPU scan state as a stream of segments (stream.bpf.h), then scans it,
 * reports what was found, and copies it out where the learner or the rescan needs it.
 */
#ifndef SECRETRACE_SCAN_BPF_H
#define SECRETRACE_SCAN_BPF_H

#include "maps.bpf.h"

/* Scan the stream up to the scan limit, noting the secrets found. */
extern int st_scan_stream(void);
/* Report what the scan found (ring buffer records). */
extern int st_finish_call(void);
/* Copy the stream out as data records of this kind (enum st_data_kind). */
extern int st_copy_stream(__u32 kind);
/* The call's own last bytes, for its fd's carry: into s->span, s->span_len of them. */
extern int st_carry_tail(void);
/* A keyed hash of a user buffer's first scan_limit bytes. */
extern __u64 st_content_hash(__u64 buf, __u64 len);
/* A connection's first bytes (TLS ClientHello, HTTP request), for destination.domain. */
extern int st_peek(void);

/* Read n bytes of a segment: user memory, or kernel memory for a carry. */
static __always_inline long st_read(void *dst, __u32 n, const struct st_seg *g, __u64 src)
{
	return g->kernel ? bpf_probe_read_kernel(dst, n, (void *)src)
			 : bpf_probe_read_user(dst, n, (void *)src);
}

/* Do a stream's first 16 bytes (two little-endian words) open a request to Vault: a request
 * line "METHOD /v1/...", or HTTP/2's preface (its requests are HPACK-coded, so userspace reads
 * the first one and lets the connection go if it is not Vault's)? */
static __always_inline bool st_is_vault_request(__u64 w0, __u64 w1)
{
	/* "GET /v1/", "PUT /v1/", "POST /v1" + "/", ... */
	if (w0 == 0x2f31762f20544547ULL || w0 == 0x2f31762f20545550ULL)
		return true;
	if ((w1 & 0xff) == '/' && (w0 == 0x31762f2054534f50ULL ||	/* POST /v1 */
				   w0 == 0x31762f205453494cULL ||	/* LIST /v1 */
				   w0 == 0x31762f2044414548ULL))	/* HEAD /v1 */
		return true;
	if ((w1 & 0xffff) == 0x2f31 && w0 == 0x762f204843544150ULL)	/* PATCH /v + 1/ */
		return true;
	if ((w1 & 0xffffff) == 0x2f3176 && w0 == 0x2f2045544554454cULL)	/* DELETE / + v1/ */
		return true;
	/* "PRI * HTTP/2.0" */
	return w0 == 0x5448202a20495250ULL && (w1 & 0xffffffff) == 0x322f5054;
}

/* The same test on a user buffer's first bytes: a write of a process whose writes are not
 * scanned still teaches when it is a request to Vault. */
static __always_inline bool st_user_vault_request(__u64 buf, __u64 len)
{
	__u64 w[2];

	if (len < 12 || bpf_probe_read_user(w, sizeof(w), (void *)buf))
		return false;
	return st_is_vault_request(w[0], w[1]);
}

#endif /* SECRETRACE_SCAN_BPF_H */
