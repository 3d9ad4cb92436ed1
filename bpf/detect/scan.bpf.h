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

#endif /* SECRETRACE_SCAN_BPF_H */
