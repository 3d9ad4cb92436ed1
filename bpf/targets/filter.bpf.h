/* SPDX-License-Identifier: GPL-2.0 */
/* "Is this task traced?", "are its writes scanned?", the reach set, and the header every
 * record carries. */
#ifndef SECRETRACE_FILTER_BPF_H
#define SECRETRACE_FILTER_BPF_H

#include "maps.bpf.h"

/* One map lookup (none in --all mode); runs first in every program, before any copy. */
static __always_inline bool st_is_traced(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tracer_stopped)
		return false;
	if (target_mode == ST_TARGET_PIDS)
		return bpf_map_lookup_elem(&traced, &tgid) != NULL;
	if (tgid == self_tgid)
		return false;
	if (target_mode == ST_TARGET_CGROUPS) {
		__u64 cg = bpf_get_current_cgroup_id();

		return bpf_map_lookup_elem(&traced_cgroups, &cg) != NULL;
	}
	return true;
}

/* Are this traced task's writes scanned? With -p and -- COMMAND every traced task's are; in
 * the node modes, in reach scope, those of the reach set (one lookup). */
static __always_inline bool st_scans(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (target_mode == ST_TARGET_PIDS || scan_scope == ST_SCOPE_EVERYTHING)
		return true;
	return bpf_map_lookup_elem(&traced, &tgid) != NULL;
}

/* A process joins the reach set (node modes): from now on its writes are scanned. True if
 * it was not in it before. */
static __always_inline bool st_reach(__u32 tgid, __u32 how)
{
	struct st_traced v = { .flags = how, .root_pid = tgid };
	long err;

	if (target_mode == ST_TARGET_PIDS)
		return false;
	err = bpf_map_update_elem(&traced, &tgid, &v, BPF_NOEXIST);
	if (!err) {
		st_count(ST_STAT_REACHED, 1);
		return true;
	}
	if (err != -EEXIST)
		st_count(ST_STAT_REACH_FULL, 1);
	return false;
}

static __always_inline void st_fill_hdr(struct st_rec_hdr *h, __u32 type)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;

	h->type = type;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->uid = (__u32)bpf_get_current_uid_gid();
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->reached = target_mode == ST_TARGET_PIDS || bpf_map_lookup_elem(&traced, &tgid);
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

#endif /* SECRETRACE_FILTER_BPF_H */
