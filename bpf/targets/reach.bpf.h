/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reach set follows a secret as it moves (node modes, reach scope): a process that wrote
 * one leaves a taint on where it went (a file, a pipe, a unix socket's peer, a TCP connection),
 * and a process that reads from a tainted place joins the set, so its writes are scanned from
 * then on. The taints live in an LRU map; a read looks only once any taint exists.
 */
#ifndef SECRETRACE_REACH_BPF_H
#define SECRETRACE_REACH_BPF_H

#include "maps.bpf.h"
#include "targets/filter.bpf.h"
#include "enrich/fdinfo.bpf.h"

/* The current process joins the reach set; userspace hears who it is while it is alive (it
 * may exit right after the write that matters, before /proc could be read). Rare, and out of
 * line: its locals stay off the scanning programs' frames (6.1's stack limit, send.bpf.c). */
static inline __noinline void st_join_reach(__u32 how)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct st_rec_reach *r;
	struct st_scan *s;
	struct file *exe;

	if (!st_reach(bpf_get_current_pid_tgid() >> 32, how))
		return;
	s = st_scan_state();	/* its si is scratch until the call's bytes are described */
	if (!s)
		return;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		st_count(ST_STAT_LOST_PROC, 1);
		return;
	}
	st_fill_hdr(&r->hdr, ST_REC_REACH);
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	r->how = how;
	r->pad = 0;
	r->exe_off = r->exe_len = 0;
	exe = BPF_CORE_READ(task, mm, exe_file);
	if (exe) {
		st_file_path(exe, &s->si, r->exe);
		r->exe_off = s->si.path_off;
		r->exe_len = s->si.path_len;
	}
	bpf_ringbuf_submit(r, 0);
}

/* --scan everything: a process whose write holds a secret has one; userspace hears who it is
 * before the uses (after the scan, before they are reported). */
static __always_inline void st_join_if_found(struct st_scan *s)
{
	if (s->found_any && target_mode != ST_TARGET_PIDS && scan_scope == ST_SCOPE_EVERYTHING)
		st_join_reach(ST_REACH_USE);
}

/* After a scan found a secret in a write to fd (or ~0u: a write held while a response is
 * learned, which may carry one): taint where it went. */
static __always_inline void st_taint_fd(int fd, __u32 secret)
{
	struct st_taint_key k = {};
	struct file *f;

	if (target_mode == ST_TARGET_PIDS || scan_scope == ST_SCOPE_EVERYTHING || fd < 0)
		return;
	f = st_fd_file(fd);
	if (!f || !st_taint_key(f, true, &k))
		return;
	if (!bpf_map_lookup_elem(&taints, &k)) {
		bpf_map_update_elem(&taints, &k, &secret, BPF_ANY);
		__sync_fetch_and_add(&taint_count, 1);
	}
}

/* A read from fd by a process outside the reach set: does it read what a secret was written to? */
static __always_inline void st_reach_by_taint(int fd)
{
	struct st_taint_key k = {};
	struct file *f;

	if (!taint_count || target_mode == ST_TARGET_PIDS || scan_scope == ST_SCOPE_EVERYTHING)
		return;
	if (st_scans())
		return;
	f = st_fd_file(fd);
	if (f && st_taint_key(f, false, &k) && bpf_map_lookup_elem(&taints, &k))
		st_join_reach(ST_REACH_TAINT);
}

#endif /* SECRETRACE_REACH_BPF_H */
