/* SPDX-License-Identifier: GPL-2.0 */
/* The BPF skeleton's whole lifecycle: checks, open, configure, load, attach, teardown. */
#ifndef SECRETRACE_PROBES_H
#define SECRETRACE_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secretrace.h"
#include "fingerprint.h"

struct secretrace_bpf;
struct bpf_link;
struct bpf_program;

struct probes_cfg {
	uint32_t target_mode;
	uint32_t scan_scope;
	uint64_t scan_limit;
	uint64_t hold_limit;
	uint32_t ringbuf_bytes;
	struct st_keys keys;
};

struct probes {
	struct secretrace_bpf *skel;
	struct bpf_link **links;	/* every attachment (tracepoints, uprobes), owned here */
	size_t nlinks, caplinks;
	int *link_fds;			/* uprobe_multi links, plain fds (libbpf 1.1 has none) */
	size_t nlink_fds, caplink_fds;
	char failed[512];	/* programs that did not attach (optional ones), comma-separated */
	int nfailed;
	uint64_t *prefilter;	/* the mmapped bitmap */
	bool uprobe_multi;	/* the kernel has uprobe_multi links (6.6): uprobes go on as those */
	bool bounded_loops;	/* no bpf_loop (before 5.17), or forced: the bounded-loop object */
	int detacher;		/* the pid of the process that detaches the links after us, or -1 */
};

/* Root, BTF, tracefs, the helpers needed: one clear line in err on failure; picks the object
 * (bounded loops without bpf_loop). Then starts the detacher (detach.h): call it before any
 * thread is started and anything secret is read. */
int probes_check(struct probes *p, char *err, size_t errlen);
/* What this kernel lacks, as tracer.start's secretrace.degraded names it (docs/kernels.md):
 * "bounded_loops", "uprobe_per_function"; count of them written to out (at most 2). */
int probes_degraded(const struct probes *p, const char *out[2]);
int probes_load(struct probes *p, const struct probes_cfg *cfg, char *err, size_t errlen);
int probes_attach(struct probes *p, char *err, size_t errlen);
/* From now on every program returns at once: nothing is traced any more. */
void probes_stop(struct probes *p);
/* Frees all; the links are left to the detacher, which closes them once we have exited
 * (each takes a grace period), or closed here if there is none. */
void probes_destroy(struct probes *p);
/* A uprobe of prog on path at off, kept with the others: 0 or -errno. */
int probes_attach_uprobe(struct probes *p, struct bpf_program *prog, const char *path,
			 uint64_t off, uint64_t cookie, bool ret);
/* One uprobe_multi link of prog on cnt offsets of path, each with its cookie. */
int probes_attach_uprobe_multi(struct probes *p, struct bpf_program *prog, const char *path,
			       const uint64_t *offs, const uint64_t *cookies, uint32_t cnt,
			       bool ret);
int probes_trace_pid(struct probes *p, uint32_t pid, uint32_t root);
int probes_traced_count(struct probes *p);
/* Sums of the per-CPU counters. */
int probes_stats(struct probes *p, uint64_t out[ST_STAT_MAX]);
/* Runs the kernel skipped because another BPF program was running on the CPU. */
uint64_t probes_recursion_misses(struct probes *p);

#endif
