/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Enrichment: which container and which Kubernetes pod a process belongs to, read from its
 * cgroup path alone (no runtime is asked). Receives the cgroup v2 path of /proc/PID/cgroup;
 * hands on the container ID, the runtime that named it, the pod UID and its QoS class, for
 * pods.h to look the names up. Forms and sources: docs/kubernetes-attribution.md.
 */
#ifndef SECRETRACE_CONTAINER_H
#define SECRETRACE_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>

#define CONTAINER_ID_LEN 64	/* containerd, CRI-O, Docker, podman: 64 hex digits */

struct container_ref {
	char id[CONTAINER_ID_LEN + 1];	/* lower-case hex, "" if none */
	char runtime[16];		/* "containerd", "cri-o", "docker", "podman", "" unknown */
	char pod_uid[37];		/* with dashes, as the API server writes it, "" if none */
	char qos[16];			/* "guaranteed", "burstable", "besteffort", "" */
	/* A runtime's monitor (CRI-O's or podman's conmon) is not the container it watches:
	 * id stays "" and this holds the watched container's ID. */
	char monitors[CONTAINER_ID_LEN + 1];
};

/*
 * Parses a process's cgroup v2 path (the line "0::/..." of /proc/PID/cgroup, without "0::").
 * True if it names a container (id set). Inside a pod's cgroup but in no container (conmon,
 * the pod's own cgroup) it is false with pod_uid and qos set; anywhere else false with every
 * field "". With nested containers (kind, Docker in Docker) the innermost one is named.
 */
bool container_from_cgroup(const char *path, struct container_ref *out);

/*
 * Reads /proc/PID/cgroup under proc_root (NULL: "/proc") and parses it: the cgroup v2 line,
 * or on a cgroup v1 host the first hierarchy whose path names a container.
 */
bool container_of_pid(const char *proc_root, uint32_t pid, struct container_ref *out);

/* Is s a container ID as container_ref holds it (64 lower-case hex digits)? */
bool container_id_valid(const char *s);

#endif
