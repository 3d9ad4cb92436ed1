// SPDX-License-Identifier: GPL-2.0
/*
 * --cgroup PATH: every cgroup of a cgroup v2 subtree, by id, into the kernel's traced_cgroups
 * map; cgroups made inside it later join in the kernel (the cgroup_mkdir hook), so a pod's or
 * container's processes are traced from their first instruction.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "lib/log.h"
#include "probes/probes.h"
#include "secretrace.skel.h"
#include "targets/targets.h"

#define CGROUP2_MAGIC 0x63677270

static char root[PATH_MAX];	/* where cgroup2 is mounted */

const char *cgroup2_root(void)
{
	char line[4096], fs[64], mnt[PATH_MAX];
	FILE *f;

	if (root[0])
		return root;
	f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return NULL;
	/* "36 25 0:30 / /sys/fs/cgroup rw,... - cgroup2 cgroup2 rw" */
	while (fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(dash + 3, "%63s", fs) != 1 || strcmp(fs, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
			snprintf(root, sizeof(root), "%s", mnt);
			break;
		}
	}
	fclose(f);
	return root[0] ? root : NULL;
}

uint64_t cgroup_id_of(const char *dir)
{
	struct stat st;

	/* a cgroup's id is its kernfs node's, which is the directory's inode number on 64-bit */
	return stat(dir, &st) ? 0 : st.st_ino;
}

static struct probes *walking;
static int added, walk_err;

static int add_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	uint64_t id = st->st_ino;	/* nftw stat'ed it: the id (see cgroup_id_of) */
	uint8_t one = 1;

	(void)path;
	(void)ftw;
	if (type != FTW_D)
		return 0;
	if (bpf_map__update_elem(walking->skel->maps.traced_cgroups, &id, sizeof(id), &one,
				 sizeof(one), BPF_ANY)) {
		walk_err = -errno;
		return 1;
	}
	added++;
	return 0;
}

int targets_add_cgroup(struct probes *p, const char *spec, char *path, size_t pathlen, char *err,
		       size_t errlen)
{
	const char *mnt = cgroup2_root();
	struct statfs sfs;

	if (!mnt) {
		snprintf(err, errlen, "--cgroup %s: no cgroup v2 hierarchy is mounted", spec);
		return -ENOENT;
	}
	/* "/sys/fs/cgroup/kubepods.slice", "/kubepods.slice" and "kubepods.slice" alike */
	if (!strncmp(spec, mnt, strlen(mnt)) && (!spec[strlen(mnt)] || spec[strlen(mnt)] == '/'))
		snprintf(path, pathlen, "%s", spec);
	else
		snprintf(path, pathlen, "%s%s%s", mnt, spec[0] == '/' ? "" : "/", spec);
	if (statfs(path, &sfs) || sfs.f_type != CGROUP2_MAGIC) {
		snprintf(err, errlen, "--cgroup %s: %s is %s", spec, path,
			 errno == ENOENT ? "not there" : "not a cgroup v2 directory");
		return -ENOENT;
	}
	walking = p;
	added = walk_err = 0;
	if (nftw(path, add_one, 32, FTW_PHYS) < 0 && !walk_err)
		walk_err = -errno;
	if (walk_err) {
		snprintf(err, errlen, "--cgroup %s: %s", spec,
			 walk_err == -E2BIG || walk_err == -ENOSPC ? "too many cgroups (65536 at most)"
								     : strerror(-walk_err));
		return walk_err;
	}
	st_debug("--cgroup %s: %d cgroups", path, added);
	return added;
}
