/* SPDX-License-Identifier: GPL-2.0 */
/* Enrichment: what is known of each traced process (from exec/fork/exit records, or
 * /proc for processes that were running before the tracer attached). */
#ifndef SECRETRACE_PROCS_H
#define SECRETRACE_PROCS_H

#include <stdbool.h>
#include <jansson.h>
#include <stdint.h>

#include "secretrace.h"

struct workload;

struct proc {
	uint32_t pid, ppid, uid;
	uint64_t start_ns;
	char entity_id[33];
	char name[ST_COMM_LEN];
	char *exe;
	uint64_t cgroup_id;	/* the last one a record gave */
	struct workload *wl;	/* its container and pod (workload.h), NULL if unknown */
	char *vault_addr;	/* VAULT_ADDR from its environment */
	bool exited;
	bool maps_checked;	/* its mapped files were looked at for TLS libraries */
	int exit_code;
	uint32_t pins;		/* held calls waiting for their rescan (procs_pin) */
	bool dropped;		/* out of the table (evicted, pid reused): freed when unpinned */
};

int procs_init(void);
void procs_free(void);
/* Find or create the process a record comes from (reading /proc for unknown ones). */
struct proc *procs_from_hdr(const struct st_rec_hdr *h);
/* Find or create from /proc alone; NULL if it does not exist. */
struct proc *procs_from_proc(uint32_t pid);
struct proc *procs_lookup(uint32_t pid);
struct proc *procs_exec(const struct st_rec_exec *r);
struct proc *procs_fork(const struct st_rec_fork *r);
/* A process joined the reach set (node modes): the record says who it is. */
struct proc *procs_reach(const struct st_rec_reach *r);
struct proc *procs_exit(const struct st_rec_exit *r);
/* Keep p as it is for a held call's rescan, however late: past the eviction of exited
 * processes and its pid's reuse, until unpinned. */
void procs_pin(struct proc *p);
void procs_unpin(struct proc *p);
/* The process is (now) in this cgroup: its container and pod follow. */
void procs_set_cgroup(struct proc *p, uint64_t cgroup_id);
/* process.*, user.id, and the container and pod (workload.h); tid 0 leaves process.thread.id
 * out. */
void ev_process(json_t *ev, const struct proc *p, uint32_t tid);
/* Is pid a descendant of ancestor (or ancestor itself), as far as is known? */
bool procs_descends(uint32_t pid, uint32_t ancestor);

#endif
