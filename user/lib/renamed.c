// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/renamed.h"

int renamed_path(const char *path, uint64_t ino, char *out, size_t outlen)
{
	char dir[PATH_MAX], *slash;
	struct dirent *e;
	struct stat st;
	int ret = -1;
	DIR *d;

	if (!stat(path, &st) && st.st_ino == ino) {
		snprintf(out, outlen, "%s", path);
		return 0;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return -1;
	*slash = '\0';
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_ino == ino && strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strlen(dir) + 1 + strlen(e->d_name) < outlen) {
			snprintf(out, outlen, "%s/%.*s", dir, (int)(outlen - strlen(dir) - 2),
				 e->d_name);
			ret = 0;
			break;
		}
	closedir(d);
	return ret;
}
