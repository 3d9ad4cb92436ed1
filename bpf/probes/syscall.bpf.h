/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the syscall hooks share: one program per syscall family on the families' exit
 * tracepoints (include/syscalls.h), the arguments read back at exit, and the socket call
 * that tells a waiting TLS session which socket it runs on.
 */
#ifndef SECRETRACE_SYSCALL_BPF_H
#define SECRETRACE_SYSCALL_BPF_H

#include "maps.bpf.h"
#include "syscalls.h"
#include "enrich/fdinfo.bpf.h"

/* A TLS session of this thread waits to learn its socket: this socket call tells. */
static __always_inline void st_tls_associate(int fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct st_tls_key k = { .tgid = id >> 32 };
	struct file *f;
	__u64 *ssl;
	__s32 v = fd;

	if (!tls_waiting)	/* no session anywhere waits: every socket call but TLS ones */
		return;
	ssl = bpf_map_lookup_elem(&tls_pending, &id);
	if (!ssl)
		return;
	f = st_fd_file(fd);
	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & 00170000) != 0140000)
		return;
	k.ssl = *ssl;
	bpf_map_update_elem(&tls_fd, &k, &v, BPF_ANY);
	if (!bpf_map_delete_elem(&tls_pending, &id))
		__sync_fetch_and_sub(&tls_waiting, 1);
}

/* ---- a syscall's arguments, at its exit ---- */

/* The context a BPF program on a syscalls:sys_exit_* or sys_enter_* tracepoint gets: the
 * kernel's struct syscall_tp_t (kernel/trace/trace_syscalls.c), the syscall number at
 * offset 8, the return value or the arguments from 16 (6.1 generic and RT, 6.18). Not the
 * trace record (trace_event_raw_sys_enter): its header is 4 bytes longer on 6.1's PREEMPT_RT,
 * CO-RE moved the arguments there, and the attach was refused (EACCES). */
struct st_sys_exit {
	__u64 regs;
	int nr;
	int pad;
	long ret;
};

struct st_sys_enter {
	__u64 regs;
	int nr;
	int pad;
	unsigned long args[6];
};

/* One program for a family of syscalls (an include/syscalls.h table): attached to each
 * one's exit tracepoint (user/probes/load.c), it tells them apart by number. */
#define ST_HOOK_CASE(name, nr, h) case nr: hook = h; break;
#define ST_SYSCALL_FAMILY(prog, table, handler)                                             \
	SEC("tracepoint")                                                                    \
	int prog(struct st_sys_exit *ctx)                                                    \
	{                                                                                    \
		__u32 hook = 0;                                                              \
                                                                                             \
		switch (ctx->nr) {                                                           \
			table(ST_HOOK_CASE)                                                  \
		}                                                                            \
		return hook ? handler(ctx->ret, hook) : 0;                                   \
	}

/*
 * The registers the task entered the syscall with are still saved at the top of its
 * kernel stack when the syscall returns (x86-64: rdi, rsi, rdx, r10, r8, r9), so an exit
 * tracepoint alone knows the arguments: one hook per call, nothing stashed at entry.
 */
static __always_inline void st_exit_args(struct st_stash *a, __u32 hook)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	/* a trusted pointer: plain loads, not a probe-read helper call each */
	a->hook = hook;
	a->flags = 0;
	a->arg[0] = regs->di;
	a->arg[1] = regs->si;
	a->arg[2] = regs->dx;
	a->arg[3] = regs->r10;
	a->arg[4] = regs->r8;
	a->arg[5] = regs->r9;
}

#endif /* SECRETRACE_SYSCALL_BPF_H */
