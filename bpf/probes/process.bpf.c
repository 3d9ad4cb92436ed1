// SPDX-License-Identifier: GPL-2.0
/*
 * Process lifecycle: descendants join the traced set (in the node modes, the reach set) at
 * fork, before they run; exec reports the new image and scans its argv and environment; exit
 * leaves the set; a cgroup made inside a traced subtree is traced from its creation, and
 * every cgroup v2 made is reported with its path (its container).
 * Also the calls whose bytes cannot be scanned (sendfile, splice, process_vm_writev,
 * io_uring), which are counted.
 */
#include "maps.bpf.h"
#include "targets/filter.bpf.h"
#include "enrich/fdinfo.bpf.h"
#include "detect/stream.bpf.h"
#include "probes/syscall.bpf.h"
#include "targets/reach.bpf.h"

SEC("raw_tracepoint/sched_process_fork")
int handle_sched_process_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 parent = bpf_get_current_pid_tgid() >> 32;
	__u32 pid = BPF_CORE_READ(child, pid);
	struct st_rec_fork *r;

	/* a thread: its process is traced already; nothing once the tracer has stopped */
	if (pid != BPF_CORE_READ(child, tgid) || tracer_stopped)
		return 0;
	if (target_mode == ST_TARGET_PIDS) {
		struct st_traced *t = bpf_map_lookup_elem(&traced, &parent);
		struct st_traced v;

		if (!t)
			return 0;
		v = *t;
		if (bpf_map_update_elem(&traced, &pid, &v, BPF_ANY))
			st_count(ST_STAT_TRACED_FULL, 1);
	} else {
		if (!st_is_traced())
			return 0;
		/* a child of the reach set is in it: it shares what its parent holds */
		if (bpf_map_lookup_elem(&traced, &parent))
			st_reach(pid, ST_REACH_FORK);
	}
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		st_count(ST_STAT_LOST_PROC, 1);
		return 0;
	}
	st_fill_hdr(&r->hdr, ST_REC_FORK);
	r->child_pid = pid;
	r->pad = 0;
	r->child_start_ns = BPF_CORE_READ(child, start_boottime);
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* Scan one of the new image's argv or environment blocks as a stream. */
static __always_inline void st_scan_block(__u64 start, __u64 end, __u32 sink)
{
	struct st_scan *s = st_call_begin(ST_HOOK_EXECVE, -1, sink);

	if (!s || end <= start)
		return;
	st_seg_add(s, start, end - start, 0, 0);
	st_scan_stream();
	st_join_if_found(s);
	st_finish_call();
	if (in_seq != learned_seq)
		st_copy_stream(ST_DATA_HELD);
}

SEC("tracepoint/sched/sched_process_exec")
int handle_sched_process_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__u64 as = BPF_CORE_READ(mm, arg_start), ae = BPF_CORE_READ(mm, arg_end);
	__u64 es = BPF_CORE_READ(mm, env_start), ee = BPF_CORE_READ(mm, env_end);
	struct st_sinkinfo si = {};
	struct st_rec_exec *r;
	struct file *exe;
	__u64 n;

	if (!st_is_traced())
		return 0;
	/* the new image's record first, so that uses found in its argv name it */
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		st_count(ST_STAT_LOST_PROC, 1);
		goto scan;
	}
	st_fill_hdr(&r->hdr, ST_REC_EXEC);
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	n = ae > as ? ae - as : 0;
	r->args_truncated = n > ST_ARGS_MAX;
	if (n > ST_ARGS_MAX)
		n = ST_ARGS_MAX;
	if (bpf_probe_read_user(r->data, n, (void *)as))
		n = 0;
	r->args_len = n;
	n = ee > es ? ee - es : 0;
	r->env_truncated = n > ST_ENV_MAX;
	if (n > ST_ENV_MAX)
		n = ST_ENV_MAX;
	if (bpf_probe_read_user(r->data + ST_ARGS_MAX, n, (void *)es))
		n = 0;
	r->env_len = n;
	exe = BPF_CORE_READ(mm, exe_file);
	if (exe) {
		st_file_path(exe, &si, r->exe);
		r->exe_off = si.path_off;
		r->exe_len = si.path_len;
	} else {
		r->exe_off = r->exe_len = 0;
	}
	bpf_ringbuf_submit(r, 0);
scan:
	if (!st_scans())
		return 0;
	st_scan_block(as, ae, ST_SINK_ARGV);
	st_scan_block(es, ee, ST_SINK_ENV);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int handle_sched_process_exit(struct trace_event_raw_sched_process_template *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct st_rec_exit *r;

	/* A thread killed inside a TLS read never reaches the read's return probe: its entry
	 * (tls_stash is not LRU) goes here, at every thread's exit, so kills cannot fill it.
	 * Before the traced check: the process may have left the traced set meanwhile. */
	bpf_map_delete_elem(&tls_stash, &id);
	if (!st_is_traced())
		return 0;
	/* the last thread of the process: signal->live has dropped to zero */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&traced, &tgid);	/* the traced set, or the reach set */
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		st_count(ST_STAT_LOST_PROC, 1);
		return 0;
	}
	st_fill_hdr(&r->hdr, ST_REC_EXIT);
	r->exit_code = BPF_CORE_READ(task, exit_code);
	r->pad = 0;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* A cgroup made inside a traced subtree (--cgroup) is traced too, before anything runs in it.
 * Every cgroup v2 made is reported with its path: a container's cgroup can be gone (its
 * process fast, the tracer behind) before its records are read, too late to look it up. */
SEC("raw_tracepoint/cgroup_mkdir")
int handle_cgroup_mkdir(struct bpf_raw_tracepoint_args *ctx)
{
	struct cgroup *cg = (struct cgroup *)ctx->args[0];
	struct st_rec_cgroup *r;
	__u64 id, parent;
	__u8 one = 1;
	long n;

	id = BPF_CORE_READ(cg, kn, id);
	if (target_mode == ST_TARGET_CGROUPS) {
		parent = BPF_CORE_READ(cg, self.parent, cgroup, kn, id);
		if (!bpf_map_lookup_elem(&traced_cgroups, &parent))
			return 0;
		if (bpf_map_update_elem(&traced_cgroups, &id, &one, BPF_ANY))
			st_count(ST_STAT_TRACED_FULL, 1);
	}
	/* cgroup v1 hierarchies (hybrid hosts) make theirs too: only v2's ids are in records */
	if (tracer_stopped || BPF_CORE_READ(cg, root, hierarchy_id) != 0)
		return 0;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		st_count(ST_STAT_LOST_PROC, 1);
		return 0;
	}
	st_fill_hdr(&r->hdr, ST_REC_CGROUP);
	r->id = id;
	r->pad = 0;
	n = bpf_probe_read_kernel_str(r->path, sizeof(r->path), (const char *)ctx->args[1]);
	r->path_len = n > 0 ? n - 1 : 0;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* ---- calls whose bytes are not scanned: counted and reported ---- */

static __always_inline int st_unscanned_exit(long ret, __u32 hook)
{
	struct st_rec_unscanned *r;
	struct st_stash a;

	if (ret < 0 || (ret == 0 && hook != ST_HOOK_IO_URING) || !st_is_traced())
		return 0;
	st_exit_args(&a, hook);
	/* io_uring_enter returns submissions, not bytes: the byte count is unknown */
	if (a.hook == ST_HOOK_IO_URING)
		ret = 0;
	st_count(ST_STAT_CALLS_UNSCANNABLE, 1);
	st_count(ST_STAT_BYTES_UNSCANNABLE, ret);
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		st_count(ST_STAT_LOST_PROC, 1);
		return 0;
	}
	st_fill_hdr(&r->hdr, ST_REC_UNSCANNED);
	r->bytes = ret;
	r->hook = a.hook;
	/* the destination fd: sendfile(out, in, ...), splice(in, off, out, ...) */
	r->fd = a.hook == ST_HOOK_SPLICE ? (int)a.arg[2] : (int)a.arg[0];
	bpf_ringbuf_submit(r, 0);
	return 0;
}

ST_SYSCALL_FAMILY(handle_unscanned_exit, ST_UNSCANNED_SYSCALLS, st_unscanned_exit)
