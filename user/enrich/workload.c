// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "enrich/workload.h"
#include "lib/log.h"
#include "lib/u64map.h"
#include "output/emit.h"
#include "targets/targets.h"

#define FILEID_KERNFS 0xfe
#define POD_RETRY_NS 1000000000ULL	/* a pod not known yet is asked for again after this */
#define WORKLOADS_MAX 65536

static struct u64map by_cgroup;		/* cgroup id -> struct workload * */
static int cgroup_mnt = -1;		/* the cgroup2 mount, for open_by_handle_at */

/* The directories under a runtime's state root that hold its containers' OCI bundles
 * (/run/containerd -> /run/containerd/io.containerd.runtime.v2.task, ...), or dir itself. */
static const char *const bundle_dirs[] = {
	"io.containerd.runtime.v2.task",			/* containerd */
	"storage/overlay-containers",				/* CRI-O, podman: /run/containers */
	"containerd/daemon/io.containerd.runtime.v2.task",	/* Docker: /run/docker */
	"overlay-containers",					/* .../containers/storage */
	NULL,
};
static char *state_dirs[WORKLOAD_MAX_STATE_DIRS * 4 + 1];

int workload_init(const struct pods_cfg *cfg, char *err, size_t errlen)
{
	const char *root = cgroup2_root();
	struct pods_cfg pc = *cfg;
	char path[PATH_MAX];
	size_t i, k, n = 0;

	if (root)
		cgroup_mnt = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; cfg->state_dirs && cfg->state_dirs[i] && i < WORKLOAD_MAX_STATE_DIRS; i++) {
		bool found = false;

		for (k = 0; bundle_dirs[k]; k++) {
			snprintf(path, sizeof(path), "%s/%s", cfg->state_dirs[i], bundle_dirs[k]);
			if (!access(path, F_OK) && n < WORKLOAD_MAX_STATE_DIRS * 4) {
				state_dirs[n++] = strdup(path);
				found = true;
			}
		}
		if (!found)
			state_dirs[n++] = strdup(cfg->state_dirs[i]);
	}
	state_dirs[n] = NULL;
	if (cfg->state_dirs)
		pc.state_dirs = (const char *const *)state_dirs;
	if (u64map_init(&by_cgroup, 256)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return pods_init(&pc, err, errlen);
}

void workload_free(void)
{
	size_t i = 0, d;
	uint64_t k, v;

	while (u64map_next(&by_cgroup, &i, &k, &v)) {
		struct workload *w = (struct workload *)(uintptr_t)v;

		pod_meta_free(w->pod);
		free(w);
	}
	u64map_free(&by_cgroup);
	pods_free();
	for (d = 0; state_dirs[d]; d++) {
		free(state_dirs[d]);
		state_dirs[d] = NULL;
	}
	if (cgroup_mnt >= 0)
		close(cgroup_mnt);
	cgroup_mnt = -1;
}

/* A cgroup's path below the cgroup2 mount, from its id (the kernfs file handle). */
static bool cgroup_path(uint64_t id, char *out, size_t outlen)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh.handle_bytes = sizeof(uint64_t), .fh.handle_type = FILEID_KERNFS, .id = id };
	char link[64], full[PATH_MAX];
	const char *root = cgroup2_root();
	ssize_t n;
	int fd;

	if (cgroup_mnt < 0 || !root)
		return false;
	fd = open_by_handle_at(cgroup_mnt, &h.fh, O_RDONLY | O_PATH | O_CLOEXEC);
	if (fd < 0)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, full, sizeof(full) - 1);
	close(fd);
	if (n <= 0)
		return false;
	full[n] = 0;
	/* the mount's own directory reads as the mount point; below it, the rest is ours */
	if (strncmp(full, root, strlen(root)))
		return false;
	snprintf(out, outlen, "%s", full[strlen(root)] ? full + strlen(root) : "/");
	return true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The cgroup id of a process, from /proc/PID/cgroup's "0::" line (a process older than the
 * tracer, seen through /proc first). 0 if it cannot be read. */
static uint64_t cgroup_of_pid(uint32_t pid)
{
	char file[64], line[PATH_MAX + 8], dir[PATH_MAX * 2];
	const char *root = cgroup2_root();
	uint64_t id = 0;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%u/cgroup", pid);
	f = root ? fopen(file, "r") : NULL;
	if (!f)
		return 0;
	while (!id && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(dir, sizeof(dir), "%s%s", root, line + 3);
			id = cgroup_id_of(dir);
		}
	fclose(f);
	return id;
}

struct workload *workload_of(uint64_t cgroup_id, uint32_t pid)
{
	struct workload *w;
	char path[PATH_MAX];
	uint64_t v;

	if (!cgroup_id && pid)
		cgroup_id = cgroup_of_pid(pid);
	if (!cgroup_id)
		return NULL;
	if (u64map_get(&by_cgroup, u64map_key(cgroup_id), &v))
		return (struct workload *)(uintptr_t)v;
	if (by_cgroup.live >= WORKLOADS_MAX || !cgroup_path(cgroup_id, path, sizeof(path)))
		return NULL;	/* gone (or too many): the next record asks again */
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->in_container = container_from_cgroup(path, &w->c);
	if (u64map_put(&by_cgroup, u64map_key(cgroup_id), (uintptr_t)w)) {
		free(w);
		return NULL;
	}
	return w;
}

void workload_fields(json_t *ev, struct workload *w)
{
	const struct pod_meta *m;

	if (!w)
		return;
	if (!w->in_container) {
		ev_bool(ev, "secretrace.in_container", false);
		return;
	}
	ev_str(ev, "container.id", w->c.id);
	if (w->c.runtime[0])
		ev_str(ev, "container.runtime", w->c.runtime);
	if (!w->pod && (w->c.pod_uid[0] || w->c.id[0]) && now_ns() - w->pod_tried_ns > POD_RETRY_NS) {
		w->pod_tried_ns = now_ns();
		w->pod = pods_lookup(&w->c);
	}
	m = w->pod;
	if (w->c.pod_uid[0] || (m && m->pod_uid)) {
		ev_str(ev, "orchestrator.type", "kubernetes");
		ev_str(ev, "orchestrator.resource.type", "pod");
		ev_str(ev, "orchestrator.resource.id", m && m->pod_uid ? m->pod_uid : w->c.pod_uid);
	}
	if (!m)
		return;
	ev_str(ev, "orchestrator.namespace", m->pod_namespace);
	ev_str(ev, "orchestrator.resource.name", m->pod_name);
	ev_str(ev, "container.name", m->container_name);
	ev_str(ev, "container.image.name", m->image);
	if (m->labels && json_object_size(m->labels))
		ev_set(ev, "container.labels", json_deep_copy(m->labels));
}
