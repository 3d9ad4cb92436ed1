// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secretrace.h"
#include "enrich/workload.h"
#include "lib/log.h"
#include "lib/u64map.h"
#include "output/emit.h"
#include "targets/targets.h"

#define POD_RETRY_NS 1000000000ULL	/* a pod not known yet is asked for again after this */
#define WORKLOADS_MAX 65536

#define WALK_MIN_NS 100000000ULL	/* walks of the cgroup tree at most every 100 ms */
#define MISS_RETRY_NS 1000000000ULL	/* an id a walk did not find is not walked for again soon */

static struct u64map by_cgroup;		/* cgroup id -> struct workload * */
static struct u64map paths;		/* cgroup id -> its path below the mount (char *) */
static struct u64map missed;		/* cgroup id -> when a walk did not find it */
static uint64_t last_walk;

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
	struct pods_cfg pc = *cfg;
	char path[PATH_MAX];
	size_t i, k, n = 0;

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
	if (u64map_init(&by_cgroup, 256) || u64map_init(&paths, 256) || u64map_init(&missed, 64)) {
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
	i = 0;
	while (u64map_next(&paths, &i, &k, &v))
		free((char *)(uintptr_t)v);
	u64map_free(&paths);
	u64map_free(&missed);
	pods_free();
	for (d = 0; state_dirs[d]; d++) {
		free(state_dirs[d]);
		state_dirs[d] = NULL;
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static size_t root_len;

static int note_path(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	uint64_t key = u64map_key(st->st_ino), old;
	char *rel;

	(void)ftw;
	if (type != FTW_D || u64map_get(&paths, key, &old))
		return 0;
	if (paths.live >= WORKLOADS_MAX)
		return 1;
	rel = strdup(path[root_len] ? path + root_len : "/");
	if (rel && u64map_put(&paths, key, (uintptr_t)rel))
		free(rel);
	return 0;
}

/*
 * A cgroup's path below the cgroup2 mount, from its id: the ids are the directories' inode
 * numbers, so a walk of the tree finds every cgroup's at once (a new container's cgroup is
 * made before anything runs in it). Bounded: a walk at most every WALK_MIN_NS, and an id a
 * walk did not find (a cgroup already gone) is not walked for again within MISS_RETRY_NS.
 */
static bool cgroup_path(uint64_t id, char *out, size_t outlen)
{
	const char *root = cgroup2_root();
	uint64_t v, now = now_ns();

	if (!u64map_get(&paths, u64map_key(id), &v)) {
		if (!root || now - last_walk < WALK_MIN_NS ||
		    (u64map_get(&missed, u64map_key(id), &v) && now - v < MISS_RETRY_NS))
			return false;
		last_walk = now;
		root_len = strlen(root);
		nftw(root, note_path, 32, FTW_PHYS);
		if (!u64map_get(&paths, u64map_key(id), &v)) {
			if (missed.live < WORKLOADS_MAX)
				u64map_put(&missed, u64map_key(id), now);
			return false;
		}
	}
	snprintf(out, outlen, "%s", (const char *)(uintptr_t)v);
	return true;
}

void workload_cgroup_made(uint64_t id, const char *path, size_t len)
{
	uint64_t key = u64map_key(id), old;
	char *rel;

	if (!len || len >= ST_CGROUP_PATH_MAX - 1 || path[0] != '/' ||
	    u64map_get(&paths, key, &old) || paths.live >= WORKLOADS_MAX)
		return;
	rel = strndup(path, len);
	if (rel && u64map_put(&paths, key, (uintptr_t)rel))
		free(rel);
	u64map_del(&missed, key);
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
