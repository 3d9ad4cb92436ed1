/* SPDX-License-Identifier: GPL-2.0 */
/* "Is this task traced?" and the header every record carries. */
#ifndef SECRETRACE_FILTER_BPF_H
#define SECRETRACE_FILTER_BPF_H

#include "maps.bpf.h"

/* One map lookup (none in --all mode); runs first in every program, before any copy. */
static __always_inline bool st_is_traced(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

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

static __always_inline void st_fill_hdr(struct st_rec_hdr *h, __u32 type)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();

	h->type = type;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->uid = (__u32)bpf_get_current_uid_gid();
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

#endif /* SECRETRACE_FILTER_BPF_H */
