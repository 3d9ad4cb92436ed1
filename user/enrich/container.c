// SPDX-License-Identifier: GPL-2.0
/*
 * Container and pod from a cgroup path, one component at a time. The names are those the
 * kubelet and the runtimes give their cgroups:
 *
 *   kubelet, systemd driver  kubepods[-burstable|-besteffort]-pod<UID, '-' as '_'>.slice
 *   kubelet, cgroupfs        kubepods[/burstable|/besteffort]/pod<UID>
 *   containerd (CRI)         cri-containerd-<ID>.scope, or <slice>:cri-containerd:<ID>
 *   CRI-O                    crio-<ID>[.scope], its monitor crio-conmon-<ID>[.scope]
 *   Docker                   docker-<ID>.scope, or docker/<ID>
 *   podman                   libpod-<ID>[.scope], its monitor libpod-conmon-<ID>.scope
 *
 * A bare <ID> is a container inside a pod's cgroup (containerd or Docker with cgroupfs:
 * the runtime is not in the name) or under docker/. Nothing is copied before it is
 * checked: components are (pointer, length) pairs into the caller's string.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/container.h"

struct comp {
	const char *s;
	size_t n;
};

static bool is(struct comp c, const char *w)
{
	return c.n == strlen(w) && !memcmp(c.s, w, c.n);
}

static bool starts(struct comp c, const char *w)
{
	size_t n = strlen(w);

	return c.n >= n && !memcmp(c.s, w, n);
}

static bool ends(struct comp c, const char *w)
{
	size_t n = strlen(w);

	return c.n >= n && !memcmp(c.s + c.n - n, w, n);
}

static bool hex_run(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Runtimes write IDs in lower case; upper case is accepted and folded so lookups match. */
static bool take_id(const char *s, size_t n, char *out)
{
	size_t i;

	if (n != CONTAINER_ID_LEN || !hex_run(s, n))
		return false;
	for (i = 0; i < n; i++)
		out[i] = tolower((unsigned char)s[i]);
	out[n] = 0;
	return true;
}

bool container_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < CONTAINER_ID_LEN; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return !s[i];
}

/*
 * A pod UID: a UUID (8-4-4-4-12), its dashes written as sep ('_' under systemd, which
 * reads '-' as a level of the hierarchy), or a static pod's 32 hex digits (the md5 the
 * kubelet makes of its manifest).
 */
static bool take_uid(const char *s, size_t n, char sep, char *out)
{
	char uid[37];
	size_t i;

	if (n != 32 && n != 36)
		return false;
	for (i = 0; i < n; i++) {
		bool dash = n == 36 && (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash ? s[i] != sep : !isxdigit((unsigned char)s[i]))
			return false;
		uid[i] = dash ? '-' : tolower((unsigned char)s[i]);
	}
	uid[n] = 0;
	memcpy(out, uid, n + 1);
	return true;
}

/* "kubepods", "kubepods-burstable", ..., alone or after a custom root ("kubelet-kubepods"). */
static const char *qos_of_slice_stem(struct comp pre)
{
	static const struct {
		const char *stem, *qos;
	} qs[] = {
		{ "kubepods", "guaranteed" },
		{ "kubepods-burstable", "burstable" },
		{ "kubepods-besteffort", "besteffort" },
	};
	size_t i;

	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		size_t n = strlen(qs[i].stem);

		if (ends(pre, qs[i].stem) && (pre.n == n || pre.s[pre.n - n - 1] == '-'))
			return qs[i].qos;
	}
	return NULL;
}

/* systemd driver: <stem>-pod<UID>.slice; true if c is a pod's slice */
static bool systemd_pod(struct comp c, struct container_ref *out)
{
	struct comp stem, pre;
	const char *qos;
	size_t i;

	if (!ends(c, ".slice"))
		return false;
	stem = (struct comp){ c.s, c.n - strlen(".slice") };
	for (i = stem.n; i >= 4; i--)
		if (!memcmp(stem.s + i - 4, "-pod", 4))
			break;
	if (i < 4)
		return false;
	pre = (struct comp){ stem.s, i - 4 };
	qos = qos_of_slice_stem(pre);
	if (!qos || !take_uid(stem.s + i, stem.n - i, '_', out->pod_uid))
		return false;
	snprintf(out->qos, sizeof(out->qos), "%s", qos);
	return true;
}

/* cgroupfs driver: kubepods/[burstable|besteffort/]pod<UID> */
static bool cgroupfs_pod(struct comp c, struct comp prev, bool kube, struct container_ref *out)
{
	const char *qos = is(prev, "kubepods")			 ? "guaranteed"
			  : kube && is(prev, "burstable")	 ? "burstable"
			  : kube && is(prev, "besteffort")	 ? "besteffort"
								 : NULL;

	if (!qos || !starts(c, "pod") || !take_uid(c.s + 3, c.n - 3, '-', out->pod_uid))
		return false;
	snprintf(out->qos, sizeof(out->qos), "%s", qos);
	return true;
}

enum found { NOTHING, CONTAINER, MONITOR };

/* The monitors before the runtimes whose prefix they extend. */
static const struct {
	const char *prefix, *runtime;
	enum found what;
} prefixes[] = {
	{ "cri-containerd-", "containerd", CONTAINER },
	{ "crio-conmon-", "cri-o", MONITOR },
	{ "crio-", "cri-o", CONTAINER },
	{ "docker-", "docker", CONTAINER },
	{ "libpod-conmon-", "podman", MONITOR },
	{ "libpod-", "podman", CONTAINER },
	{ "nerdctl-", "containerd", CONTAINER },
};

/* A container's own cgroup name: <prefix><ID>[.scope], or a bare <ID> where one is expected. */
static enum found container_name(struct comp c, struct comp prev, bool in_pod, char *id,
				 const char **runtime)
{
	size_t i;

	if (ends(c, ".scope"))
		c.n -= strlen(".scope");
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i].prefix);

		if (!starts(c, prefixes[i].prefix))
			continue;
		if (!take_id(c.s + n, c.n - n, id))
			return NOTHING;
		*runtime = prefixes[i].runtime;
		return prefixes[i].what;
	}
	if ((!in_pod && !is(prev, "docker")) || !take_id(c.s, c.n, id))
		return NOTHING;
	*runtime = is(prev, "docker") ? "docker" : "";
	return CONTAINER;
}

/* systemd's "slice:prefix:name" form, as runc writes it for some cgroup v1 hosts. */
static enum found colon_form(struct comp c, char *id, const char **runtime)
{
	const char *a = memchr(c.s, ':', c.n), *b;
	char name[128];
	struct comp nc;

	b = a ? memchr(a + 1, ':', c.s + c.n - a - 1) : NULL;
	if (!b || (size_t)(b - a - 1) > 32 || (size_t)(c.s + c.n - b - 1) != CONTAINER_ID_LEN)
		return NOTHING;
	snprintf(name, sizeof(name), "%.*s-%.*s", (int)(b - a - 1), a + 1, CONTAINER_ID_LEN,
		 b + 1);
	nc = (struct comp){ name, strlen(name) };
	return container_name(nc, (struct comp){ "", 0 }, false, id, runtime);
}

bool container_from_cgroup(const char *path, struct container_ref *out)
{
	struct comp c, prev = { "", 0 };
	bool kube = false;
	const char *p = path;

	memset(out, 0, sizeof(*out));
	while (p && *p) {
		const char *runtime = "", *colon;
		char id[CONTAINER_ID_LEN + 1];
		enum found f;

		while (*p == '/')
			p++;
		c = (struct comp){ p, strcspn(p, "/") };
		p += c.n;
		if (!c.n || is(c, ".") || is(c, ".."))	/* ".." : seen from another cgroupns */
			continue;
		colon = memchr(c.s, ':', c.n);
		if (starts(c, "kubepods") || memmem(c.s, c.n, "-kubepods", 9))
			kube = true;
		if (colon) {
			systemd_pod((struct comp){ c.s, colon - c.s }, out);
			f = colon_form(c, id, &runtime);
		} else if (systemd_pod(c, out) || cgroupfs_pod(c, prev, kube, out)) {
			f = NOTHING;
		} else {
			f = container_name(c, prev, out->pod_uid[0], id, &runtime);
		}
		/* the innermost container or monitor is the one named */
		if (f != NOTHING) {
			snprintf(out->id, sizeof(out->id), "%s", f == CONTAINER ? id : "");
			snprintf(out->monitors, sizeof(out->monitors), "%s",
				 f == MONITOR ? id : "");
			snprintf(out->runtime, sizeof(out->runtime), "%s", runtime);
		}
		prev = c;
	}
	if (!out->id[0] && !out->monitors[0] && !out->pod_uid[0])
		memset(out, 0, sizeof(*out));
	return out->id[0] != 0;
}

bool container_of_pid(const char *proc_root, uint32_t pid, struct container_ref *out)
{
	struct container_ref v1, best = { 0 };
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	FILE *f;

	memset(out, 0, sizeof(*out));
	if (snprintf(path, sizeof(path), "%s/%u/cgroup", proc_root ? proc_root : "/proc", pid) >=
	    (int)sizeof(path))
		return false;
	f = fopen(path, "re");
	if (!f)
		return false;
	/* "hierarchy:controllers:path"; the path may hold ':' itself */
	while (getline(&line, &cap, f) > 0) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;

		line[strcspn(line, "\n")] = 0;
		if (!b)
			continue;
		if (!strncmp(line, "0::", 3)) {
			container_from_cgroup(b + 1, out);
		} else if (!best.id[0]) {
			container_from_cgroup(b + 1, &v1);
			if (v1.id[0] || (!best.pod_uid[0] && v1.pod_uid[0]))
				best = v1;
		}
	}
	free(line);
	fclose(f);
	if (!out->id[0] && (best.id[0] || (!out->pod_uid[0] && best.pod_uid[0])))
		*out = best;
	return out->id[0] != 0;
}
