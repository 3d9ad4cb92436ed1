/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Uses folded under ring pressure (docs/events.md, "Repeats"): once a quarter of the events
 * ring waits unread, a use of a secret sent to the same place by any process in the last
 * ST_FOLD_NS is counted (ST_STAT_USES_FOLDED) instead of sent, so a flood of one use cannot
 * crowd out the record of another. Without pressure every use is sent as before.
 */
#ifndef SECRETRACE_FOLD_BPF_H
#define SECRETRACE_FOLD_BPF_H

#include "maps.bpf.h"

#define ST_FOLD_NS (10 * 1000000000ULL)	/* a use sent this recently may fold others */

/* Where a use went, as the fold map keys it (not the path: the inode names a file). */
static __always_inline __u64 st_where(const struct st_sinkinfo *si)
{
	__u64 a, b, h = st_confirm_seed(si->transport, keys.confirm);

	__builtin_memcpy(&a, si->dst.addr, 8);
	__builtin_memcpy(&b, si->dst.addr + 8, 8);
	h = st_confirm_step(h, a);
	h = st_confirm_step(h, b);
	h = st_confirm_step(h, (__u64)si->dst.family << 16 | si->dst.port);
	return st_confirm_step(h, si->ino);
}

/* Whether this use is counted rather than sent; fills key for st_use_sent. */
static __always_inline bool st_use_folded(struct st_fold_key *key, __u32 secret,
					  const struct st_sinkinfo *si)
{
	__u64 *sent;

	key->secret = secret;
	key->sink = si->sink;
	key->where = st_where(si);
	sent = bpf_map_lookup_elem(&use_folds, key);
	if (!sent || bpf_ktime_get_boot_ns() - *sent >= ST_FOLD_NS ||
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) <=
		    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4)
		return false;
	st_count(ST_STAT_USES_FOLDED, 1);
	return true;
}

static __always_inline void st_use_sent(const struct st_fold_key *key)
{
	__u64 now = bpf_ktime_get_boot_ns();

	bpf_map_update_elem(&use_folds, key, &now, BPF_ANY);
}

#endif /* SECRETRACE_FOLD_BPF_H */
