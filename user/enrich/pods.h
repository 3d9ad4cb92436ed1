/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Enrichment: the pod and container behind a container ID. Receives a container_ref
 * (container.h); hands on a pod_meta: pod name, namespace, UID and labels, container name
 * and image. Answers first from the container runtime's own state on the host (the OCI
 * bundle's config.json annotations, Docker's config.v2.json), else from a cache of this
 * node's pods that a background thread keeps from the Kubernetes API (list, then watch).
 * Never waits on the network in a lookup. Sources: docs/kubernetes-attribution.md.
 */
#ifndef SECRETRACE_PODS_H
#define SECRETRACE_PODS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enrich/container.h"

struct pod_meta {
	char *pod_name, *pod_namespace, *pod_uid;	/* NULL for a container in no pod */
	char *container_name, *image;	/* image name as the runtime or the API names it */
	json_t *labels;			/* the pod's labels (object), may be NULL */
	const char *source;		/* "runtime" or "kubernetes": where the names came from */
	bool sandbox;			/* the pod's sandbox ("pause"): no container_name */
};

struct pods_cfg {
	/* runtime state directories to search (NULL: pods_default_state_dirs) */
	const char *const *state_dirs;
	/* https://host:port of the API server; NULL: in-cluster from KUBERNETES_SERVICE_HOST
	 * and _PORT, or no API */
	const char *kube_api;
	/* default /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt}; the token is
	 * read again before each request (projected tokens rotate) */
	const char *token_file, *ca_file;
	/* only this node's pods (fieldSelector=spec.nodeName=...); NULL: NODE_NAME from the
	 * environment; neither: every pod of the cluster */
	const char *node_name;
	unsigned deleted_ttl;	/* seconds a deleted pod is still answered for (0: 600) */
	size_t max_pods;	/* pods cached at most, deleted ones first out (0: 10000) */
};

/* /run/containerd/io.containerd.runtime.v2.task, CRI-O's and podman's overlay-containers,
 * Docker's task root and /var/lib/docker/containers */
extern const char *const pods_default_state_dirs[];

/* 0, or -1 with err set for a configuration that cannot work (a malformed kube_api or
 * node name). An API that cannot be reached, or libcurl missing, is said once on stderr
 * and the runtime state still answers. */
int pods_init(const struct pods_cfg *c, char *err, size_t errlen);
/* Stops the API thread (within about a second) and forgets everything; no lookup may be in
 * flight. */
void pods_free(void);

/* Metadata of a container (ID and pod UID from container.h); NULL if unknown. The result is
 * a new copy the caller frees with pod_meta_free (the cache keeps its own). Thread-safe. A
 * container the API does not list yet is answered with its pod (container fields NULL). */
struct pod_meta *pods_lookup(const struct container_ref *c);
void pod_meta_free(struct pod_meta *m);

/* Counters for the tracer's stats: lookups answered from the runtime state, from the API,
 * misses; API errors (failed requests, and answers or watch lines that could not be used). */
void pods_stats(uint64_t *runtime_hits, uint64_t *api_hits, uint64_t *misses,
		uint64_t *api_errors);

struct pods_counters {
	uint64_t runtime_hits, api_hits, misses, api_errors;
	uint64_t garbage;	/* of api_errors: unusable answers and watch lines */
	uint64_t evictions;	/* pods pushed out by max_pods */
	uint64_t lists;		/* lists loaded (the first, and each after 410 Gone or an error) */
	uint64_t watch_events;	/* ADDED, MODIFIED, DELETED applied */
	size_t pods;		/* pods cached now, deleted ones included */
};
void pods_counters(struct pods_counters *out);

#endif
