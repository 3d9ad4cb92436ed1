// SPDX-License-Identifier: GPL-2.0
/* -p PID: a running process and every descendant it has now; later ones join in the kernel
 * (the fork hook). */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probes/probes.h"
#include "secretrace.skel.h"
#include "targets/targets.h"

static pid_t ppid_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %d", &ppid);
	fclose(f);
	return ppid;
}

/* Add every process whose ancestry reaches one already traced, until nothing changes. */
static void add_descendants(struct probes *p, pid_t root)
{
	bool changed = true;
	int rounds;

	for (rounds = 0; changed && rounds < 64; rounds++) {
		struct dirent *de;
		DIR *d = opendir("/proc");

		changed = false;
		if (!d)
			return;
		while ((de = readdir(d))) {
			pid_t pid = atoi(de->d_name), pp;
			struct st_traced v;

			if (pid <= 0 || pid == getpid())
				continue;
			if (!bpf_map__lookup_elem(p->skel->maps.traced, &pid, sizeof(pid), &v,
						  sizeof(v), 0))
				continue;
			pp = ppid_of(pid);
			if (pp > 0 && !bpf_map__lookup_elem(p->skel->maps.traced, &pp, sizeof(pp), &v,
							    sizeof(v), 0)) {
				probes_trace_pid(p, pid, root);
				changed = true;
			}
		}
		closedir(d);
	}
}

int targets_add_pid(struct probes *p, pid_t pid, char *err, size_t errlen)
{
	char path[64];
	struct stat st;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (pid <= 0 || stat(path, &st)) {
		snprintf(err, errlen, "-p %d: no such process", pid);
		return -ESRCH;
	}
	if (pid == getpid()) {
		snprintf(err, errlen, "-p %d: that is secretrace itself", pid);
		return -EINVAL;
	}
	ret = probes_trace_pid(p, pid, pid);
	if (ret) {
		snprintf(err, errlen, "-p %d: %s", pid, strerror(-ret));
		return ret;
	}
	/* the fork hook is attached already: children born from now on join by themselves */
	add_descendants(p, pid);
	return 0;
}
