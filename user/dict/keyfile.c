// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dict/keyfile.h"

static int read_key(int fd, uint8_t *key, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, key + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EINVAL;
		got += n;
	}
	return 0;
}

int keyfile_mkdir_parent(const char *path, const char *what, char *err, size_t errlen)
{
	char dir[4096], *slash;
	int e;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		e = errno;
		snprintf(err, errlen, "%s directory %s: %s", what, dir, strerror(e));
		return -e;
	}
	return 0;
}

int keyfile_load(const char *path, uint8_t *key, size_t len, char *err, size_t errlen)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ret = read_key(fd, key, len);
		close(fd);
		if (ret)
			snprintf(err, errlen, "key file %s: %s", path,
				 ret == -EINVAL ? "shorter than 32 bytes" : strerror(-ret));
		return ret;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		return -errno;
	}
	ret = keyfile_mkdir_parent(path, "key file", err, errlen);
	if (ret)
		return ret;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)	/* another instance made it meanwhile */
			return keyfile_load(path, key, len, err, errlen);
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		return -errno;
	}
	randombytes_buf(key, len);
	if (write(fd, key, len) != (ssize_t)len || fsync(fd)) {
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -EIO;
	}
	close(fd);
	return 0;
}
