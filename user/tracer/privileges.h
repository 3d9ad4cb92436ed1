/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Once every probe is attached the tracer needs few of root's rights: these drop the
 * capabilities it no longer needs and confine it to the system calls of its steady state.
 * Which capability serves what, and each group of system calls: docs/privileges.md.
 */
#ifndef SECRETRACE_PRIVILEGES_H
#define SECRETRACE_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What the steady state needs (docs/privileges.md): reading any process's /proc entries
 * (environ, maps, root) and any library file, and the memory mlockall(MCL_FUTURE) locks. */
#define PRIVILEGES_KEEP "cap_sys_ptrace", "cap_dac_read_search", "cap_ipc_lock"
/* With -- COMMAND: passing a signal on to a command run as another user (-u). */
#define PRIVILEGES_KEEP_COMMAND "cap_kill"
/* Where late uprobes are perf events (no uprobe_multi links: kernels before 6.6): CAP_BPF for
 * any bpf() call before 6.5 (unprivileged BPF disabled), CAP_PERFMON for perf uprobes, and
 * CAP_SYS_ADMIN where they require it again (ba677dbe77af, in stable kernels since July 2025). */
#define PRIVILEGES_KEEP_PERF_UPROBES "cap_bpf", "cap_perfmon", "cap_sys_admin"

/* Is this capability ("cap_bpf") in the permitted set? */
bool privileges_held(const char *name);

/*
 * Keeps only the capabilities in keep (a NULL-terminated list of names like "cap_bpf"):
 * effective and permitted are keep, inheritable and ambient empty, the bounding set keep;
 * root gains nothing by exec (SECBIT_NOROOT, locked) and no_new_privs is set. Capabilities
 * belong to each thread: it refuses (-EBUSY) when the process has more than one, so call it
 * before metrics_start and the first event (network outputs start their threads then).
 * 0, or -errno with err saying why; what was asked is checked in /proc/self/status.
 */
int privileges_drop(const char *const *keep, char *err, size_t errlen);

/* What the steady state may still do besides its own system calls. */
struct confinement {
	bool perf_uprobes;	/* late uprobes are perf events (no uprobe_multi links) */
	pid_t signal_pid;	/* kill() may signal this process (the command), 0: none */
};

/*
 * A seccomp filter on every thread, now and later: the system calls of the steady state
 * are allowed, those no code path of the tracer makes once started (exec, ptrace, mount,
 * modules, kexec, namespaces, io_uring...) kill the process, and any other fails with
 * EPERM. Irreversible. 0, or -errno with err saying why.
 */
int privileges_confine(const struct confinement *c, char *err, size_t errlen);

#endif
