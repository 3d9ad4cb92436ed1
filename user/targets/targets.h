/* SPDX-License-Identifier: GPL-2.0 */
/* Which tasks are traced: a command launched under the tracer (held before its first
 * instruction until every probe is attached), running PIDs and their descendants, or the
 * processes of cgroup v2 subtrees (--all needs nothing here: the kernel takes every task). */
#ifndef SECRETRACE_TARGETS_H
#define SECRETRACE_TARGETS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct probes;

struct launch {
	pid_t pid;
	int go_fd;		/* write a byte: the child may exec */
	int err_fd;		/* the child's exec errno, or EOF on success */
	char *path;		/* the resolved executable */
};

/* Resolve the command (PATH search) and the user; fork a child that waits. Returns 0,
 * or 126/127 (cannot run / not found) or 125 (other failure) with err set. */
int launch_prepare(struct launch *l, char *const argv[], const char *user, char *err,
		   size_t errlen);
/* Let it exec. Returns 0, or 126/127 with err set if exec failed. */
int launch_go(struct launch *l, char *err, size_t errlen);
void launch_abort(struct launch *l);

/* Trace a running process and every descendant it has now (later ones are followed by
 * the kernel). Returns 0 or -errno with err set. */
int targets_add_pid(struct probes *p, pid_t pid, char *err, size_t errlen);

/* Trace every cgroup of a cgroup v2 subtree (spec: under the cgroup2 mount, or absolute
 * there); path gets the directory. Returns the cgroups added, or -errno with err set. */
int targets_add_cgroup(struct probes *p, const char *spec, char *path, size_t pathlen, char *err,
		       size_t errlen);
/* Where cgroup2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts). */
const char *cgroup2_root(void);
/* The id of a cgroup directory, as bpf_get_current_cgroup_id() gives it; 0 if gone. */
uint64_t cgroup_id_of(const char *dir);

#endif
