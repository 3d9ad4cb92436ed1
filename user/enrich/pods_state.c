// SPDX-License-Identifier: GPL-2.0
/*
 * A container's pod and names from its runtime's own state on the host, the files each
 * runtime writes before it starts the container:
 *
 * - the OCI bundle's config.json, whose annotations containerd's CRI plugin
 *   (io.kubernetes.cri.*) and CRI-O (io.kubernetes.pod.*, io.kubernetes.container.name,
 *   io.kubernetes.cri-o.*) fill with the pod's names; CRI-O keeps the pod's labels on the
 *   sandbox's config, as a JSON string. podman's and Docker's bundles name nothing.
 * - Docker's config.v2.json: the container's name and image, and under dockershim the
 *   kubelet's io.kubernetes.* labels.
 *
 * Receives the state directories and a 64-hex ID; hands on a pod_meta (source "runtime").
 * Every file is bounded and checked: a runtime's state is trusted no more than the API.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enrich/pods.h"
#include "enrich/pods_internal.h"

#define FILE_MAX (4 << 20)	/* a runtime's config file */
#define TASK_ROOT "io.containerd.runtime.v2.task"	/* its children: namespaces */

static json_t *load_json(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	json_t *j = NULL;
	struct stat st;
	char *buf;

	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size <= FILE_MAX &&
	    (buf = malloc(st.st_size))) {
		if (read(fd, buf, st.st_size) == st.st_size)
			j = json_loadb(buf, st.st_size, 0, NULL);
		free(buf);
	}
	close(fd);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* CRI-O keeps the pod's labels on the sandbox's config, as a JSON string. */
static json_t *crio_labels(json_t *annotations)
{
	const char *s = pods_jstr(annotations, "io.kubernetes.cri-o.Labels", FILE_MAX);

	return s ? json_loads(s, 0, NULL) : NULL;
}

static json_t *crio_pod_labels(const char *root, const char *sandbox_id)
{
	char path[PATH_MAX];
	json_t *cfg, *lj, *out;

	if (!container_id_valid(sandbox_id) ||
	    snprintf(path, sizeof(path), "%s/%s/userdata/config.json", root, sandbox_id) >=
		    (int)sizeof(path) ||
	    !(cfg = load_json(path)))
		return NULL;
	lj = crio_labels(json_object_get(cfg, "annotations"));
	out = pods_labels_copy(lj, true);
	json_decref(lj);
	json_decref(cfg);
	return out;
}

/* a[k], else the same key in CRI-O's labels (a sandbox has its names only there) */
static const char *ann(json_t *a, json_t *lj, const char *k, size_t max)
{
	return pods_jstr(a, k, max) ?: pods_jstr(lj, k, max);
}

/* An OCI config.json: containerd's CRI annotations, else CRI-O's; podman's and Docker's
 * name nothing. */
static struct pod_meta *meta_oci(json_t *cfg, const char *root)
{
	json_t *a = json_object_get(cfg, "annotations"), *lj, *labels = NULL;
	const char *name, *cname, *image, *type, *sb;
	struct pod_meta *m = NULL;
	bool sandbox;

	if (!json_is_object(a))
		return NULL;
	if ((name = pods_jstr(a, "io.kubernetes.cri.sandbox-name", 253))) {
		type = pods_jstr(a, "io.kubernetes.cri.container-type", 16);
		return pod_meta_new(name, pods_jstr(a, "io.kubernetes.cri.sandbox-namespace", 63),
				    pods_jstr(a, "io.kubernetes.cri.sandbox-uid", 36),
				    pods_jstr(a, "io.kubernetes.cri.container-name", 63),
				    pods_jstr(a, "io.kubernetes.cri.image-name", 4096), NULL,
				    "runtime", type && !strcmp(type, "sandbox"));
	}
	lj = crio_labels(a);
	name = ann(a, lj, "io.kubernetes.pod.name", 253);
	cname = pods_jstr(a, "io.kubernetes.container.name", 63);
	image = pods_jstr(a, "io.kubernetes.cri-o.ImageName", 4096)
			?: pods_jstr(a, "io.kubernetes.cri-o.Image", 4096);
	type = pods_jstr(a, "io.kubernetes.cri-o.ContainerType", 16);
	sb = pods_jstr(a, "io.kubernetes.cri-o.SandboxID", CONTAINER_ID_LEN);
	sandbox = type && !strcmp(type, "sandbox");
	if (name) {
		/* a container's labels are the kubelet's own: the pod's are on its sandbox */
		labels = sandbox ? pods_labels_copy(lj, true)
			 : sb	 ? crio_pod_labels(root, sb)
				 : NULL;
		m = pod_meta_new(name, ann(a, lj, "io.kubernetes.pod.namespace", 63),
				 ann(a, lj, "io.kubernetes.pod.uid", 36), sandbox ? NULL : cname,
				 image, labels, "runtime", sandbox);
	}
	json_decref(labels);
	json_decref(lj);
	return m;
}

/* Docker's config.v2.json: the kubelet's labels under dockershim, else the name it has. */
static struct pod_meta *meta_docker(json_t *c)
{
	json_t *cfg = json_object_get(c, "Config"), *lab = json_object_get(cfg, "Labels");
	const char *image = pods_jstr(cfg, "Image", 4096), *name = pods_jstr(c, "Name", 256);
	const char *pod = pods_jstr(lab, "io.kubernetes.pod.name", 253);
	const char *type = pods_jstr(lab, "io.kubernetes.docker.type", 16);

	if (pod)
		return pod_meta_new(pod, pods_jstr(lab, "io.kubernetes.pod.namespace", 63),
				    pods_jstr(lab, "io.kubernetes.pod.uid", 36),
				    pods_jstr(lab, "io.kubernetes.container.name", 63), image, NULL,
				    "runtime", type && !strcmp(type, "podsandbox"));
	if (name && *name == '/')
		name++;
	if (name && !*name)
		name = NULL;
	return name || image ? pod_meta_new(NULL, NULL, NULL, name, image, NULL, "runtime", false)
			     : NULL;
}

static struct pod_meta *from_file(const char *path, const char *root, bool docker)
{
	json_t *j = load_json(path);
	struct pod_meta *m;

	if (!j)
		return NULL;
	m = docker ? meta_docker(j) : meta_oci(j, root);
	json_decref(j);
	return m;
}

/*
 * The container's file under one state root, in each runtime's layout: <ID>/config.v2.json
 * (Docker), <ID>/userdata/config.json (CRI-O, podman), <ID>/config.json (one containerd
 * namespace), and in a containerd task root (so named) <namespace>/<ID>/config.json.
 */
static struct pod_meta *from_root(const char *root, const char *id)
{
	static const char *const layouts[] = { "config.v2.json", "userdata/config.json",
					       "config.json" };
	char path[PATH_MAX];
	struct pod_meta *m = NULL;
	struct dirent *e;
	size_t i, rl = strlen(root), tl = strlen(TASK_ROOT);
	DIR *d;

	for (i = 0; i < 3 && !m; i++)
		if (snprintf(path, sizeof(path), "%s/%s/%s", root, id, layouts[i]) <
		    (int)sizeof(path))
			m = from_file(path, root, i == 0);
	if (m || rl < tl || strcmp(root + rl - tl, TASK_ROOT))
		return m;
	d = opendir(root);
	while (d && !m && (e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s/%s/config.json", root, e->d_name, id) <
			    (int)sizeof(path))
			m = from_file(path, root, false);
	if (d)
		closedir(d);
	return m;
}

struct pod_meta *pods_state_lookup(const char *const *dirs, const char *id)
{
	struct pod_meta *m = NULL;
	size_t i;

	for (i = 0; dirs[i] && !m; i++)
		m = from_root(dirs[i], id);
	return m;
}
