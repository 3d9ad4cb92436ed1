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

struct probes_cfg {
	uint32_t target_mode;
	uint64_t scan_limit;
	uint64_t hold_limit;
	uint32_t ringbuf_bytes;
	struct st_keys keys;
};

#define PROBES_MAX_LINKS 64

struct probes {
	struct secretrace_bpf *skel;
	struct bpf_link *links[PROBES_MAX_LINKS];
	int nlinks;
	char failed[512];	/* programs that did not attach (optional ones), comma-separated */
	int nfailed;
	uint64_t *prefilter;	/* the mmapped bitmap */
	bool uprobe_multi;	/* TLS uprobes go on as uprobe_multi links */
	bool mounted_tracefs;
};

/* Root, BTF, tracefs, bpf_loop: one clear line in err on failure. */
int probes_check(struct probes *p, char *err, size_t errlen);
int probes_load(struct probes *p, const struct probes_cfg *cfg, char *err, size_t errlen);
int probes_attach(struct probes *p, char *err, size_t errlen);
void probes_destroy(struct probes *p);
/* Destroy links, in parallel (each detach waits for a grace period). */
void probes_destroy_links(struct bpf_link **links, size_t n);
int probes_trace_pid(struct probes *p, uint32_t pid, uint32_t root);
int probes_traced_count(struct probes *p);
/* Sums of the per-CPU counters. */
int probes_stats(struct probes *p, uint64_t out[ST_STAT_MAX]);
/* Runs the kernel skipped because another BPF program was running on the CPU. */
uint64_t probes_recursion_misses(struct probes *p);

#endif
