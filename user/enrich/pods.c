// SPDX-License-Identifier: GPL-2.0
/*
 * Pod metadata for a container: the lookups, and the cache of the API's pods.
 *
 * A lookup asks the runtime's state first (pods_state.c; read on the caller's thread the
 * first time a container is asked for, a file on tmpfs, and the answer or its absence kept
 * in a small ring since a container's names never change), then the cache that the API
 * thread (pods_kube.c) fills: by container ID, else by the pod UID of the cgroup. The cache
 * holds at most max_pods pods, indexed by keyed hashes of their UIDs and container IDs;
 * deleted pods stay deleted_ttl seconds, for processes whose events are still in flight,
 * and are the first pushed out when it is full.
 */
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/pods.h"
#include "enrich/pods_internal.h"
#include "lib/u64map.h"

#define DELETED_TTL 600
#define MAX_PODS 10000
#define MAX_LABELS 64
#define RT_KEEP 256		/* runtime answers kept */

const char *const pods_default_state_dirs[] = {
	"/run/containerd/io.containerd.runtime.v2.task",
	"/run/containers/storage/overlay-containers",
	"/var/lib/containers/storage/overlay-containers",
	"/run/docker/containerd/daemon/io.containerd.runtime.v2.task",
	"/var/lib/docker/containers",
	NULL,
};

static struct {
	pthread_mutex_t mu;
	bool on;
	char **dirs;		/* NULL-terminated */
	unsigned ttl;
	size_t max_pods, npods;
	struct u64map by_uid, by_ctr;	/* keyed hash of a UID or an ID -> struct kpod * */
	uint8_t key[crypto_shorthash_KEYBYTES];
	struct kpod *head, *tail;
	struct {
		char id[CONTAINER_ID_LEN + 1];
		struct pod_meta *m;	/* NULL: no runtime knows it */
	} rt[RT_KEEP];
	unsigned rt_next;
	struct pods_counters n;
} P = { .mu = PTHREAD_MUTEX_INITIALIZER };

time_t pods_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

const char *pods_jstr(json_t *o, const char *k, size_t max)
{
	json_t *v = json_object_get(o, k);
	const char *s = json_string_value(v);

	return s && *s && json_string_length(v) <= max ? s : NULL;
}

bool pods_dup(char **dst, const char *s)
{
	*dst = s ? strdup(s) : NULL;
	return !s || *dst;
}

/* ---- answers ---- */

void pod_meta_free(struct pod_meta *m)
{
	if (!m)
		return;
	free(m->pod_name);
	free(m->pod_namespace);
	free(m->pod_uid);
	free(m->container_name);
	free(m->image);
	json_decref(m->labels);
	free(m);
}

struct pod_meta *pod_meta_new(const char *name, const char *ns, const char *uid,
			      const char *cname, const char *image, json_t *labels,
			      const char *source, bool sandbox)
{
	struct pod_meta *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->source = source;
	m->sandbox = sandbox;
	m->labels = labels ? json_deep_copy(labels) : NULL;
	if (!pods_dup(&m->pod_name, name) || !pods_dup(&m->pod_namespace, ns) ||
	    !pods_dup(&m->pod_uid, uid) || !pods_dup(&m->container_name, cname) ||
	    !pods_dup(&m->image, image) || (labels && !m->labels)) {
		pod_meta_free(m);
		return NULL;
	}
	return m;
}

static struct pod_meta *meta_dup(const struct pod_meta *m)
{
	return pod_meta_new(m->pod_name, m->pod_namespace, m->pod_uid, m->container_name,
			    m->image, m->labels, m->source, m->sandbox);
}

json_t *pods_labels_copy(json_t *src, bool skip_kube)
{
	json_t *out, *v;
	const char *k;
	size_t n = 0;

	if (!json_is_object(src) || !(out = json_object()))
		return NULL;
	/* keys: a 253-byte DNS prefix, '/', a 63-byte name; values: 63 bytes */
	json_object_foreach(src, k, v) {
		const char *s = json_string_value(v);

		if (!s || strlen(k) > 317 || json_string_length(v) > 63 || n >= MAX_LABELS ||
		    (skip_kube && !strncmp(k, "io.kubernetes.", 14)))
			continue;
		if (!json_object_set_new(out, k, json_string(s)))
			n++;
	}
	if (!n) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* ---- the cache of the API's pods (callers hold the lock) ---- */

void pods_lock(void)
{
	pthread_mutex_lock(&P.mu);
}

void pods_unlock(void)
{
	pthread_mutex_unlock(&P.mu);
}

struct pods_counters *pods_locked_counters(void)
{
	return &P.n;
}

static uint64_t hkey(const char *s)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t k;

	crypto_shorthash(h, (const unsigned char *)s, strlen(s), P.key);
	memcpy(&k, h, sizeof(k));
	return u64map_key(k);
}

/* A lost put (no memory) only leaves the pod unfound. */
static void index_put(struct u64map *m, const char *s, struct kpod *p)
{
	if (s)
		u64map_put(m, hkey(s), (uintptr_t)p);
}

static void index_del(struct u64map *m, const char *s, struct kpod *p)
{
	uint64_t v;

	if (s && u64map_get(m, hkey(s), &v) && v == (uintptr_t)p)
		u64map_del(m, hkey(s));
}

void kpod_free(struct kpod *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nctr; i++) {
		free(p->ctr[i].name);
		free(p->ctr[i].image);
	}
	free(p->uid);
	free(p->name);
	free(p->ns);
	free(p->mirror);
	json_decref(p->labels);
	free(p);
}

static void unlink_pod(struct kpod *p)
{
	size_t i;

	index_del(&P.by_uid, p->uid, p);
	index_del(&P.by_uid, p->mirror, p);
	for (i = 0; i < p->nctr; i++)
		index_del(&P.by_ctr, p->ctr[i].id, p);
	*(p->prev ? &p->prev->next : &P.head) = p->next;
	*(p->next ? &p->next->prev : &P.tail) = p->prev;
	P.npods--;
}

static void link_pod(struct kpod *p)
{
	size_t i;

	index_put(&P.by_uid, p->uid, p);
	index_put(&P.by_uid, p->mirror, p);
	for (i = 0; i < p->nctr; i++)
		index_put(&P.by_ctr, p->ctr[i].id, p);
	p->prev = P.tail;
	p->next = NULL;
	*(P.tail ? &P.tail->next : &P.head) = p;
	P.tail = p;
	P.npods++;
}

/* By the API's UID, or a static pod's own (the one its cgroup names). */
static struct kpod *find_uid(const char *uid)
{
	uint64_t v;
	struct kpod *p;

	if (!u64map_get(&P.by_uid, hkey(uid), &v))
		return NULL;
	p = (struct kpod *)(uintptr_t)v;
	return !strcmp(p->uid, uid) || (p->mirror && !strcmp(p->mirror, uid)) ? p : NULL;
}

static struct kpod *find_ctr(const char *id, struct kctr **k)
{
	struct kpod *p;
	uint64_t v;
	size_t i;

	if (!u64map_get(&P.by_ctr, hkey(id), &v))
		return NULL;
	p = (struct kpod *)(uintptr_t)v;
	for (i = 0; i < p->nctr; i++)
		if (!strcmp(p->ctr[i].id, id)) {
			*k = &p->ctr[i];
			return p;
		}
	return NULL;
}

static void drop(struct kpod *p)
{
	unlink_pod(p);
	kpod_free(p);
}

void pods_cache_put(struct kpod *n)
{
	struct kpod *old = find_uid(n->uid), *p;

	if (old && !strcmp(old->uid, n->uid))
		drop(old);
	while (P.npods >= P.max_pods && P.head) {
		for (p = P.head; p && !p->deleted; p = p->next)
			;
		drop(p ?: P.head);
		P.n.evictions++;
	}
	link_pod(n);
	P.n.pods = P.npods;
}

void pods_cache_listed(uint64_t gen, time_t now)
{
	struct kpod *p;

	for (p = P.head; p; p = p->next)
		if (!p->deleted && p->gen != gen)
			p->deleted = now;
}

static bool expired(const struct kpod *p, time_t now)
{
	return p->deleted && now - p->deleted >= (time_t)P.ttl;
}

void pods_cache_expire(time_t now)
{
	struct kpod *p, *next;

	for (p = P.head; p; p = next) {
		next = p->next;
		if (expired(p, now))
			drop(p);
	}
	P.n.pods = P.npods;
}

/* ---- lookups ---- */

/* The runtime's answer for a container ID, from the ring or its state (then kept). */
static struct pod_meta *runtime_lookup(const char *id)
{
	struct pod_meta *m = NULL, *keep;
	unsigned i, slot;

	pthread_mutex_lock(&P.mu);
	for (i = 0; i < RT_KEEP; i++) {
		if (strcmp(P.rt[i].id, id))
			continue;
		m = P.rt[i].m ? meta_dup(P.rt[i].m) : NULL;
		pthread_mutex_unlock(&P.mu);
		return m;
	}
	pthread_mutex_unlock(&P.mu);
	m = pods_state_lookup((const char *const *)P.dirs, id);
	keep = m ? meta_dup(m) : NULL;
	pthread_mutex_lock(&P.mu);
	slot = P.rt_next++ % RT_KEEP;
	pod_meta_free(P.rt[slot].m);
	P.rt[slot].m = keep;
	/* an answer that could not be copied is not kept as "none" */
	snprintf(P.rt[slot].id, sizeof(P.rt[slot].id), "%s", m && !keep ? "" : id);
	pthread_mutex_unlock(&P.mu);
	return m;
}

struct pod_meta *pods_lookup(const struct container_ref *c)
{
	struct pod_meta *m = NULL;
	struct kctr *k = NULL;
	struct kpod *p = NULL;
	char uid[37] = "";
	bool id_ok;

	if (!c || !P.on)
		return NULL;
	id_ok = container_id_valid(c->id);
	if (memchr(c->pod_uid, 0, sizeof(c->pod_uid)))
		snprintf(uid, sizeof(uid), "%s", c->pod_uid);
	if (id_ok)
		m = runtime_lookup(c->id);
	pthread_mutex_lock(&P.mu);
	if (m) {
		/* containerd's annotations carry no labels: the API's copy of the pod has them */
		p = m->pod_uid && !m->labels ? find_uid(m->pod_uid) : NULL;
		if (p && p->labels && !expired(p, pods_now()))
			m->labels = json_deep_copy(p->labels);
		P.n.runtime_hits++;
		pthread_mutex_unlock(&P.mu);
		return m;
	}
	p = id_ok ? find_ctr(c->id, &k) : NULL;
	if (!p && uid[0]) {
		p = find_uid(uid);
		k = NULL;
	}
	if (p && !expired(p, pods_now()))
		m = pod_meta_new(p->name, p->ns, p->uid, k ? k->name : NULL, k ? k->image : NULL,
				 p->labels, "kubernetes", false);
	if (m)
		P.n.api_hits++;
	else
		P.n.misses++;
	pthread_mutex_unlock(&P.mu);
	return m;
}

void pods_stats(uint64_t *runtime_hits, uint64_t *api_hits, uint64_t *misses,
		uint64_t *api_errors)
{
	pthread_mutex_lock(&P.mu);
	*runtime_hits = P.n.runtime_hits;
	*api_hits = P.n.api_hits;
	*misses = P.n.misses;
	*api_errors = P.n.api_errors;
	pthread_mutex_unlock(&P.mu);
}

void pods_counters(struct pods_counters *out)
{
	pthread_mutex_lock(&P.mu);
	*out = P.n;
	pthread_mutex_unlock(&P.mu);
}

/* ---- start and stop ---- */

static void forget(void)
{
	size_t i;

	while (P.head)
		drop(P.head);
	u64map_free(&P.by_uid);
	u64map_free(&P.by_ctr);
	for (i = 0; i < RT_KEEP; i++)
		pod_meta_free(P.rt[i].m);
	for (i = 0; P.dirs && P.dirs[i]; i++)
		free(P.dirs[i]);
	free(P.dirs);
	memset(&P.on, 0, sizeof(P) - offsetof(__typeof__(P), on));
}

int pods_init(const struct pods_cfg *c, char *err, size_t errlen)
{
	const char *const *dirs = c->state_dirs ?: pods_default_state_dirs;
	size_t i, n;

	if (P.on)
		pods_free();
	for (n = 0; dirs[n]; n++)
		;
	P.dirs = calloc(n + 1, sizeof(*P.dirs));
	for (i = 0; P.dirs && i < n && (P.dirs[i] = strdup(dirs[i])); i++)
		;
	if (!P.dirs || i < n || u64map_init(&P.by_uid, 256) || u64map_init(&P.by_ctr, 1024)) {
		snprintf(err, errlen, "out of memory");
		forget();
		return -1;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		forget();
		return -1;
	}
	randombytes_buf(P.key, sizeof(P.key));
	P.ttl = c->deleted_ttl ?: DELETED_TTL;
	P.max_pods = c->max_pods ?: MAX_PODS;
	P.on = true;
	if (pods_kube_start(c, err, errlen)) {
		P.on = false;
		forget();
		return -1;
	}
	return 0;
}

void pods_free(void)
{
	pods_kube_stop();	/* first: its thread writes the cache */
	pthread_mutex_lock(&P.mu);
	forget();
	pthread_mutex_unlock(&P.mu);
}
