/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The container and pod a process runs in, from its cgroup v2 (the id the kernel puts in every
 * record, or /proc/PID/cgroup for processes older than the tracer): the cgroup's path names
 * the container (container.c), the runtime's state or the Kubernetes API names the pod
 * (pods.c). Resolved once per cgroup and kept, so a process that has exited, or whose pod is
 * gone, is still attributed.
 */
#ifndef SECRETRACE_WORKLOAD_H
#define SECRETRACE_WORKLOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "enrich/container.h"
#include "enrich/pods.h"

struct workload {
	bool in_container;
	struct container_ref c;
	struct pod_meta *pod;		/* NULL until some source knows the pod */
	uint64_t pod_tried_ns;		/* the last time the sources were asked */
};

#define WORKLOAD_MAX_STATE_DIRS 8

/* cfg->state_dirs may name a runtime's state root (/run/containerd, /run/containers,
 * /run/docker): the bundles' directory below it is found. 0, or -1 with err set. */
int workload_init(const struct pods_cfg *cfg, char *err, size_t errlen);
void workload_free(void);
/* The workload of a cgroup (id from a record, 0 if none) or, failing that, of pid's cgroup.
 * NULL when neither can be read. The pointer stays valid until workload_free. */
struct workload *workload_of(uint64_t cgroup_id, uint32_t pid);
/* A cgroup v2 made (its record, read before those of its processes): id's path below the
 * hierarchy's root, kept so that a cgroup gone before its processes' records are read is
 * still found. A path maybe cut (ST_CGROUP_PATH_MAX) is left to the walk of the tree. */
void workload_cgroup_made(uint64_t id, const char *path, size_t len);
/* container.*, orchestrator.*, secretrace.in_container */
void workload_fields(json_t *ev, struct workload *w);

#endif
