// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "learn/learn_file.h"
#include "learn/learn_node.h"
#include "lib/log.h"

#define CSI_DRIVER "secrets-store.csi.k8s.io"
#define VAULT_VOLUME "vault-secrets"	/* vault-k8s' injector names its emptyDir so */
#define MAX_MOUNTS 4096			/* secrets mounts followed at once */

static char kroot[PATH_MAX];	/* the kubelet root, resolved, as mountinfo writes it */
static const char *prefix = "";	/* "/proc/1/root" when the node's mounts are not ours */
static char info[32];		/* the node's mountinfo */
static int mfd = -1;		/* it, open: POLLPRI on every mount change */
static int seen[MAX_MOUNTS];	/* mount IDs already learned from */
static int nseen;

/* mountinfo's octal escapes (\040 for a space) undone in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
}

/* Is the CSI volume whose mount is at mp the Secrets Store driver's? vol_data.json, which
 * the kubelet writes beside the mount before mounting, names the driver. */
static bool secrets_store(const char *mp)
{
	char path[PATH_MAX];
	const char *driver;
	json_t *j;
	bool yes;
	int n = snprintf(path, sizeof(path), "%s%s", prefix, mp);

	if (n < 6 || (size_t)n >= sizeof(path) || strcmp(path + n - 6, "/mount"))
		return false;
	snprintf(path + n - 6, sizeof(path) - (n - 6), "/vol_data.json");
	j = json_load_file(path, 0, NULL);
	driver = json_string_value(json_object_get(j, "driverName"));
	yes = driver && !strcmp(driver, CSI_DRIVER);
	json_decref(j);
	return yes;
}

/* A pod's secrets mount: <root>/pods/UID/volumes/kubernetes.io~csi/VOL/mount of the
 * Secrets Store driver, or <root>/pods/UID/volumes/kubernetes.io~empty-dir/vault-secrets.
 * uid gets the pod's UID. */
static bool secrets_mount(const char *mp, char uid[37])
{
	size_t rl = strlen(kroot);
	const char *p = mp + rl + strlen("/pods/"), *slash, *rest;

	if (strncmp(mp, kroot, rl) || strncmp(mp + rl, "/pods/", 6))
		return false;
	slash = strchr(p, '/');
	if (!slash || slash - p > 36 || strncmp(slash, "/volumes/", 9))
		return false;
	snprintf(uid, 37, "%.*s", (int)(slash - p), p);
	rest = slash + 9;
	if (!strncmp(rest, "kubernetes.io~empty-dir/", 24))
		return !strcmp(rest + 24, VAULT_VOLUME);
	if (!strncmp(rest, "kubernetes.io~csi/", 18)) {
		const char *vol = rest + 18, *end = strchr(vol, '/');

		return end && end > vol && !strcmp(end, "/mount") && secrets_store(mp);
	}
	return false;
}

static bool was_seen(int id, const int *ids, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* Read the node's mountinfo again: every secrets mount not followed yet is learned from
 * and watched. Mounts gone leave the list (their watches went with them). */
static void rescan(void)
{
	static int now[MAX_MOUNTS];
	char line[PATH_MAX * 2 + 256], mp[PATH_MAX * 2], uid[37];
	int n = 0, id;
	FILE *f = fopen(info, "re");

	if (!f) {
		st_warn("node secrets mounts: cannot read mountinfo: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		bool whole = strchr(line, '\n') != NULL, ended = whole;

		/* a line longer than any path the kernel writes: skipped to its end */
		while (!ended && fgets(line, sizeof(line), f))
			ended = strchr(line, '\n') != NULL;
		if (!whole || sscanf(line, "%d %*d %*s %*s %8191s", &id, mp) != 2)
			continue;
		unescape(mp);
		if (!secrets_mount(mp, uid))
			continue;
		if (n == MAX_MOUNTS)
			continue;
		now[n++] = id;
		if (was_seen(id, seen, nseen))
			continue;
		st_info("node secrets mount of pod %s: %s", uid, mp);
		learn_files_add(prefix, mp, uid);	/* a failure is a secret.learn_failed */
	}
	fclose(f);
	if (n == MAX_MOUNTS)
		st_warn("node secrets mounts: more than %d, the rest not followed", MAX_MOUNTS);
	memcpy(seen, now, n * sizeof(*now));
	nseen = n;
}

int learn_node_init(const char *kubelet_root, char *err, size_t errlen)
{
	char ours[64] = "", node[64] = "";
	bool kubelet = realpath(kubelet_root, kroot) != NULL;

	if (!kubelet)	/* no kubelet here (yet): its path as given */
		snprintf(kroot, sizeof(kroot), "%s", kubelet_root);
	/* the DaemonSet has the host's PID namespace, not its mounts: PID 1's are the node's */
	if (readlink("/proc/1/ns/mnt", node, sizeof(node) - 1) < 0 && kubelet)
		st_warn("node secrets mounts: cannot read PID 1's mount namespace (%s): only this "
			"process's own mounts are looked at", strerror(errno));
	if (readlink("/proc/self/ns/mnt", ours, sizeof(ours) - 1) < 0 || !node[0] ||
	    !strcmp(ours, node)) {
		snprintf(info, sizeof(info), "/proc/self/mountinfo");
	} else {
		snprintf(info, sizeof(info), "/proc/1/mountinfo");
		prefix = "/proc/1/root";
	}
	mfd = open(info, O_RDONLY | O_CLOEXEC);
	if (mfd < 0 || learn_files_enable()) {
		snprintf(err, errlen, "node secrets mounts: cannot open %s: %s", info,
			 strerror(errno));
		return -1;
	}
	rescan();
	return 0;
}

void learn_node_tick(void)
{
	struct pollfd p = { .fd = mfd, .events = POLLPRI };

	/* the kernel marks mountinfo readable with POLLPRI | POLLERR once a mount changed */
	if (mfd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLPRI | POLLERR)))
		rescan();
}

void learn_node_free(void)
{
	if (mfd >= 0)
		close(mfd);
	mfd = -1;
	nseen = 0;
}
