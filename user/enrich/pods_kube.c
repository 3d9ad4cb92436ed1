// SPDX-License-Identifier: GPL-2.0
/*
 * The Kubernetes API client: a thread lists this node's pods
 * (GET /api/v1/pods?fieldSelector=spec.nodeName=NODE), then watches them from the list's
 * resourceVersion (one JSON event a line: ADDED, MODIFIED, DELETED, BOOKMARK, ERROR), and
 * puts each pod it is told of into the cache of pods.c. 410 Gone lists again; a failed
 * request is tried again after a backoff (0.25 s doubling to 30 s). libcurl is loaded
 * lazily (curl_lazy.c); the service account's token is read before each request, sent as
 * a bearer token and never written anywhere else. Every answer is checked: a line that is
 * no event, a pod without its names, an ID that is no 64-hex ID is counted and skipped.
 */
#define CURL_DISABLE_TYPECHECK	/* curl_lazy.c defines curl_easy_setopt */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enrich/pods.h"
#include "enrich/pods_internal.h"
#include "lib/curl_lazy.h"
#include "lib/log.h"
#include "lib/thread.h"

#define LINE_MAX_BYTES (4 << 20)	/* one watch event */
#define LIST_MAX (256 << 20)	/* one list answer */
#define WATCH_SECONDS 300	/* the API server ends each watch after this */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount/"
/* a DNS subdomain, as node names are; it goes into the URL as it is */
#define NODE_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"

struct api {
	char *base, *node, *token_file, *ca_file;
	pthread_t thr;
	bool running, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	CURL *curl;
	char curl_err[CURL_ERROR_SIZE];
	bool watching, skip, gone, failed;
	long code;
	char *buf;		/* the list's answer, or the watch's partial line */
	size_t len, cap, events;
	char rv[128];
	uint64_t gen;
	time_t swept;
	bool failing;		/* said on stderr; said again once it works */
};

static struct api A;

/* ---- a Pod object ---- */

static bool pod_add_ctr(struct kpod *p, const char *cid, const char *name, const char *image)
{
	/* containerd://<ID>, cri-o://<ID>, docker://<ID> */
	const char *id = cid ? strstr(cid, "://") : NULL;
	struct kctr *k;

	if (!id || !container_id_valid(id + 3) || p->nctr >= PODS_MAX_CTRS)
		return true;
	k = &p->ctr[p->nctr];
	memcpy(k->id, id + 3, sizeof(k->id));
	if (!pods_dup(&k->name, name) || !pods_dup(&k->image, image)) {
		free(k->name);
		return false;
	}
	p->nctr++;
	return true;
}

static const char *spec_image(json_t *spec, const char *list, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(spec, list), i, c) {
		const char *n = pods_jstr(c, "name", 63);

		if (n && name && !strcmp(n, name))
			return pods_jstr(c, "image", 4096);
	}
	return NULL;
}

/* A Pod object as the API writes it; NULL if it is not one. */
static struct kpod *pod_from_json(json_t *o)
{
	static const char *const lists[][2] = {
		{ "containerStatuses", "containers" },
		{ "initContainerStatuses", "initContainers" },
		{ "ephemeralContainerStatuses", "ephemeralContainers" },
	};
	json_t *md = json_object_get(o, "metadata"), *spec = json_object_get(o, "spec");
	json_t *status = json_object_get(o, "status"), *cs;
	struct kpod *p = calloc(1, sizeof(*p));
	bool ok;
	size_t i, j;

	if (!p)
		return NULL;
	ok = pods_dup(&p->uid, pods_jstr(md, "uid", 36)) &&
	     pods_dup(&p->name, pods_jstr(md, "name", 253)) &&
	     pods_dup(&p->ns, pods_jstr(md, "namespace", 63)) &&
	     pods_dup(&p->mirror, pods_jstr(json_object_get(md, "annotations"),
					    "kubernetes.io/config.mirror", 36));
	ok = ok && p->uid && p->name && p->ns;
	p->labels = pods_labels_copy(json_object_get(md, "labels"), false);
	for (i = 0; ok && i < 3; i++) {
		json_array_foreach(json_object_get(status, lists[i][0]), j, cs) {
			const char *name = pods_jstr(cs, "name", 63);
			const char *image = pods_jstr(cs, "image", 4096)
					    ?: spec_image(spec, lists[i][1], name);
			json_t *last = json_object_get(cs, "lastState");

			/* the instance before a restart may still have events in flight */
			ok = ok && pod_add_ctr(p, pods_jstr(cs, "containerID", 300), name, image) &&
			     pod_add_ctr(p, pods_jstr(json_object_get(last, "terminated"),
						      "containerID", 300), name, image);
		}
	}
	if (!ok) {
		kpod_free(p);
		return NULL;
	}
	return p;
}

/* ---- the client ---- */

static bool stopping(struct api *a)
{
	return __atomic_load_n(&a->stop, __ATOMIC_ACQUIRE);
}

static void count(bool garbage)
{
	struct pods_counters *n;

	pods_lock();
	n = pods_locked_counters();
	n->api_errors++;
	n->garbage += garbage;
	pods_unlock();
}

/* Said on stderr the first time, in -v's debug lines while it goes on failing. */
static void api_failed(struct api *a, const char *fmt, const char *what)
{
	count(false);
	if (a->failing)
		st_debug(fmt, what);
	else
		st_warn(fmt, what);
	a->failing = true;
}

/* An opaque version; it goes into a URL, so only characters that need no escaping. */
static bool rv_ok(const char *rv)
{
	return rv && strlen(rv) < sizeof(A.rv) &&
	       strspn(rv, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.") ==
		       strlen(rv);
}

/* One line of a watch: {"type": ..., "object": ...}. */
static void watch_line(struct api *a, const char *s, size_t n)
{
	json_t *ev = json_loadb(s, n, 0, NULL), *obj = json_object_get(ev, "object");
	const char *type = pods_jstr(ev, "type", 16);
	const char *rv = pods_jstr(json_object_get(obj, "metadata"), "resourceVersion", 127);
	struct kpod *p;

	if (type && !strcmp(type, "ERROR") && json_is_object(obj)) {
		/* 410 Gone: the version watched from is compacted away, list again */
		if (json_integer_value(json_object_get(obj, "code")) == 410) {
			a->gone = true;
		} else {
			a->failed = true;
			api_failed(a, "kubernetes API watch: %.200s",
				   pods_jstr(obj, "message", 4096) ?: "error");
		}
	} else if (type && !strcmp(type, "BOOKMARK") && rv_ok(rv)) {
		strcpy(a->rv, rv);
	} else if (type && (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") ||
			    !strcmp(type, "DELETED")) && rv_ok(rv) && (p = pod_from_json(obj))) {
		strcpy(a->rv, rv);
		p->gen = a->gen;
		p->deleted = !strcmp(type, "DELETED") ? pods_now() : 0;
		pods_lock();
		pods_cache_put(p);
		pods_locked_counters()->watch_events++;
		pods_unlock();
		a->events++;
	} else {
		count(true);
	}
	json_decref(ev);
}

static bool buf_add(struct api *a, const char *p, size_t n, size_t max)
{
	char *b;

	if (a->len + n > max)
		return false;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 65536;

		while (cap < a->len + n)
			cap *= 2;
		if (!(b = realloc(a->buf, cap)))
			return false;
		a->buf = b;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
	return true;
}

/* A list's answer is kept whole; a watch's is cut into lines, each an event. */
static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct api *a = arg;
	size_t n = size * nmemb, i = 0;

	if (!a->code)
		curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &a->code);
	if (a->code != 200)
		return n;	/* a Status object: the code says enough */
	if (!a->watching)
		return buf_add(a, p, n, LIST_MAX) ? n : 0;
	while (i < n && !a->gone && !a->failed) {
		char *nl = memchr(p + i, '\n', n - i);
		size_t k = nl ? (size_t)(nl - p) - i : n - i;

		if (!a->skip && !buf_add(a, p + i, k, LINE_MAX_BYTES)) {
			a->skip = true;	/* an event that long is no pod's */
			a->len = 0;
			count(true);
		}
		if (nl) {
			if (!a->skip && a->len)
				watch_line(a, a->buf, a->len);
			a->len = 0;
			a->skip = false;
			k++;
		}
		i += k;
	}
	return a->gone || a->failed ? 0 : n;	/* 0 ends the transfer */
}

/* Called about once a second even while a watch is quiet: stop, and forget old pods. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct api *a = arg;
	time_t now = pods_now();

	(void)dt, (void)dn, (void)ut, (void)un;
	if (now != a->swept) {
		a->swept = now;
		pods_lock();
		pods_cache_expire(now);
		pods_unlock();
	}
	return stopping(a);
}

/* The first line of the token file, read again for each request: projected tokens rotate. */
static struct curl_slist *auth_headers(struct api *a)
{
	char tok[16384] = "Authorization: Bearer ", *t = tok + strlen(tok);
	struct curl_slist *h = NULL, *acc;
	FILE *f = fopen(a->token_file, "re");

	if (f && fgets(t, sizeof(tok) - (t - tok), f)) {
		t[strcspn(t, "\r\n")] = 0;
		acc = *t ? curl_slist_append(NULL, "Accept: application/json") : NULL;
		h = acc ? curl_slist_append(acc, tok) : NULL;
		if (acc && !h)
			curl_slist_free_all(acc);
	}
	if (f)
		fclose(f);
	explicit_bzero(tok, sizeof(tok));
	if (!h)
		api_failed(a, "kubernetes API: no token in %s", a->token_file);
	return h;
}

/* GET /api/v1/pods, a list or a watch from a->rv; 0 if the answer can be used. */
static int request(struct api *a, bool watch)
{
	char url[1024], sel[320] = "", err[CURL_ERROR_SIZE + 32];
	struct curl_slist *h = auth_headers(a);
	CURLcode rc;

	if (!h)
		return -1;
	if (a->node)
		snprintf(sel, sizeof(sel), "fieldSelector=spec.nodeName%%3D%s&", a->node);
	if (watch)
		snprintf(url, sizeof(url),
			 "%s/api/v1/pods?%swatch=true&allowWatchBookmarks=true&timeoutSeconds=%d"
			 "&resourceVersion=%s",
			 a->base, sel, WATCH_SECONDS, a->rv);
	else
		snprintf(url, sizeof(url), "%s/api/v1/pods?%s", a->base, sel);
	a->watching = watch;
	a->code = 0;
	a->len = a->events = 0;
	a->skip = a->gone = a->failed = false;
	a->curl_err[0] = 0;
	curl_easy_setopt(a->curl, CURLOPT_URL, url);
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(a->curl, CURLOPT_TIMEOUT_MS, (watch ? WATCH_SECONDS + 60 : 120) * 1000L);
	rc = curl_easy_perform(a->curl);
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	if (watch && a->code == 410)
		a->gone = true;
	if (stopping(a) || a->gone || a->failed)
		return -1;
	if (rc != CURLE_OK) {
		snprintf(err, sizeof(err), "%s",
			 a->curl_err[0] ? a->curl_err : curl_easy_strerror(rc));
		api_failed(a, "kubernetes API: %s", err);
		return -1;
	}
	if (a->code != 200) {
		snprintf(err, sizeof(err), "HTTP status %ld", a->code);
		api_failed(a, "kubernetes API: %s", err);
		return -1;
	}
	if (a->failing)
		st_info("kubernetes API: answering again");
	a->failing = false;
	return 0;
}

/* A PodList: every pod in it replaces its copy; the pods it no longer names were deleted. */
static int list(struct api *a)
{
	json_t *l, *items, *it;
	struct kpod **ps;
	const char *rv;
	size_t i, n = 0;

	if (request(a, false))
		return -1;
	l = json_loadb(a->buf, a->len, 0, NULL);
	items = json_object_get(l, "items");
	rv = pods_jstr(json_object_get(l, "metadata"), "resourceVersion", 127);
	ps = json_is_array(items) && rv_ok(rv) ? calloc(json_array_size(items) + 1, sizeof(*ps))
					       : NULL;
	if (a->cap > LINE_MAX_BYTES) {
		/* a big list's buffer is not kept for the watch's lines */
		free(a->buf);
		a->buf = NULL;
		a->cap = a->len = 0;
	}
	if (!ps) {
		json_decref(l);
		count(true);
		return -1;
	}
	a->gen++;
	json_array_foreach(items, i, it) {
		if ((ps[n] = pod_from_json(it)))
			ps[n++]->gen = a->gen;
		else
			count(true);
	}
	strcpy(a->rv, rv);
	json_decref(l);
	pods_lock();
	for (i = 0; i < n; i++)
		pods_cache_put(ps[i]);
	pods_cache_listed(a->gen, pods_now());
	pods_locked_counters()->lists++;
	pods_unlock();
	free(ps);
	return 0;
}

/* Waits ms, or until stopped. */
static void backoff_wait(struct api *a, unsigned ms)
{
	struct timespec ts;

	pthread_mutex_lock(&a->mu);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (!a->stop)
		pthread_cond_timedwait(&a->cv, &a->mu, &ts);
	pthread_mutex_unlock(&a->mu);
}

static void *api_main(void *arg)
{
	struct api *a = arg;
	unsigned backoff = BACKOFF_MIN_MS;
	bool listed = false;

	while (!stopping(a)) {
		time_t t0 = pods_now();
		int r;

		if (!listed) {
			r = list(a);
			listed = !r;
		} else {
			/* a watch that ends at once with nothing said is no success */
			r = request(a, true) || (!a->events && pods_now() == t0) ? -1 : 0;
			listed = !a->gone && !a->failed;
			if (a->gone)
				r = 0;	/* list again, at once */
		}
		pods_lock();
		pods_cache_expire(pods_now());
		pods_unlock();
		if (!r) {
			backoff = BACKOFF_MIN_MS;
			continue;
		}
		backoff_wait(a, backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

/* ---- start and stop ---- */

static void api_clear(struct api *a)
{
	if (a->curl)
		curl_easy_cleanup(a->curl);
	free(a->base);
	free(a->node);
	free(a->token_file);
	free(a->ca_file);
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

static bool url_ok(const char *u, size_t n)
{
	return (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8)) && n < 512 &&
	       strcspn(u, " \t\r\n?#\"\\") >= n;
}

int pods_kube_start(const struct pods_cfg *c, char *err, size_t errlen)
{
	const char *base = c->kube_api, *node = c->node_name ?: getenv("NODE_NAME");
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char in_cluster[600];
	pthread_condattr_t ca;
	struct api *a = &A;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (!base && host && *host && port && *port) {
		/* an IPv6 address goes in brackets */
		snprintf(in_cluster, sizeof(in_cluster),
			 strchr(host, ':') ? "https://[%.256s]:%.16s" : "https://%.256s:%.16s",
			 host, port);
		base = in_cluster;
	}
	if (!base)
		return 0;	/* no API: the runtime's state alone */
	for (n = strlen(base); n && base[n - 1] == '/'; n--)
		;
	if (!url_ok(base, n)) {
		snprintf(err, errlen, "kubernetes API %.200s: expected http(s)://HOST:PORT", base);
		return -1;
	}
	if (node && (!*node || strlen(node) > 253 || strspn(node, NODE_CHARS) != strlen(node))) {
		snprintf(err, errlen, "node name %.200s: not a Kubernetes node name", node);
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		st_warn("kubernetes API not used: %s", curl_lazy_error());
		return 0;
	}
	if (!node)
		st_warn("no node name (NODE_NAME): every pod of the cluster is watched");
	a->base = strndup(base, n);
	a->node = node ? strdup(node) : NULL;
	a->token_file = strdup(c->token_file ?: SA_DIR "token");
	a->ca_file = strdup(c->ca_file ?: SA_DIR "ca.crt");
	a->curl = curl_easy_init();
	if (!a->base || (node && !a->node) || !a->token_file || !a->ca_file || !a->curl) {
		snprintf(err, errlen, "out of memory");
		api_clear(a);
		return -1;
	}
	curl_easy_setopt(a->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(a->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(a->curl, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(a->curl, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(a->curl, CURLOPT_ERRORBUFFER, a->curl_err);
	curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(a->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(a->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(a->curl, CURLOPT_XFERINFODATA, a);
	curl_easy_setopt(a->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(a->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	/* without the service account's CA, the system's */
	if (strncmp(a->base, "https:", 6))
		;
	else if (!access(a->ca_file, R_OK))
		curl_easy_setopt(a->curl, CURLOPT_CAINFO, a->ca_file);
	else
		st_warn("kubernetes API: cannot read %s: the system's CAs instead", a->ca_file);
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (thread_start(&a->thr, api_main, a)) {
		snprintf(err, errlen, "cannot start the kubernetes API thread");
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		api_clear(a);
		return -1;
	}
	a->running = true;
	return 0;
}

void pods_kube_stop(void)
{
	struct api *a = &A;

	if (a->running) {
		pthread_mutex_lock(&a->mu);
		__atomic_store_n(&a->stop, true, __ATOMIC_RELEASE);
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thr, NULL);
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
	}
	api_clear(a);
}
