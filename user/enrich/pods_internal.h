/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the three parts of pods.h share, and nothing else includes: pods.c (the lookups and
 * the cache of the API's pods), pods_state.c (the runtimes' state on the host) and
 * pods_kube.c (the Kubernetes API client, which fills the cache).
 */
#ifndef SECRETRACE_PODS_INTERNAL_H
#define SECRETRACE_PODS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "enrich/container.h"

#define PODS_MAX_CTRS 64	/* containers kept per pod, with their previous instances */

struct pod_meta;
struct pods_cfg;
struct pods_counters;

/* ---- pods.c: answers, and the cache of the API's pods ---- */

struct kctr {
	char id[CONTAINER_ID_LEN + 1];
	char *name, *image;
};

struct kpod {
	char *uid, *name, *ns;
	char *mirror;		/* a static pod's own UID, the one its cgroup names */
	json_t *labels;
	struct kctr ctr[PODS_MAX_CTRS];
	size_t nctr;
	time_t deleted;		/* when the API said so (pods_now()), 0 while it lives */
	uint64_t gen;		/* the list that last named it */
	struct kpod *prev, *next;	/* least recently changed first */
};

time_t pods_now(void);	/* monotonic seconds */
/* o[k] if it is a string of 1 to max bytes, else NULL */
const char *pods_jstr(json_t *o, const char *k, size_t max);
bool pods_dup(char **dst, const char *s);
struct pod_meta *pod_meta_new(const char *name, const char *ns, const char *uid,
			      const char *cname, const char *image, json_t *labels,
			      const char *source, bool sandbox);
/* a pod's labels, bounded as the API bounds them; the kubelet's io.kubernetes.* keys left
 * out if skip_kube (a runtime mixes them in); NULL if none */
json_t *pods_labels_copy(json_t *src, bool skip_kube);

void kpod_free(struct kpod *p);
/* With the lock held: the cache, and the counters pods_counters() reads. */
void pods_lock(void);
void pods_unlock(void);
struct pods_counters *pods_locked_counters(void);
/* p (gen and deleted set) replaces the pod of its UID; the cache owns it */
void pods_cache_put(struct kpod *p);
/* pods that list gen did not name were deleted at now */
void pods_cache_listed(uint64_t gen, time_t now);
/* forgets pods deleted longer ago than deleted_ttl */
void pods_cache_expire(time_t now);

/* ---- pods_state.c ---- */

/* The container's names from the first state directory whose file names them. */
struct pod_meta *pods_state_lookup(const char *const *dirs, const char *id);

/* ---- pods_kube.c ---- */

/* Starts the API thread if an API is configured (0 also when libcurl is missing: said once);
 * -1 with err for a configuration that cannot work. */
int pods_kube_start(const struct pods_cfg *c, char *err, size_t errlen);
void pods_kube_stop(void);

#endif
