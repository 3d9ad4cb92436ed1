// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "output/file.h"

struct sink_file {
	FILE *f;
	char path[PATH_MAX];	/* "" for stdout */
	uint64_t size, rotate_size;
	unsigned keep;
	bool warned;
};

static FILE *open_append(struct sink_file *s)
{
	int fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct stat st;
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "a");
	if (!f) {
		close(fd);
		return NULL;
	}
	s->size = fstat(fd, &st) ? 0 : st.st_size;
	return f;
}

struct sink_file *sink_file_open(const char *path, uint64_t rotate_size, unsigned keep,
				 char *err, size_t errlen)
{
	struct sink_file *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!path) {
		s->f = stdout;
		return s;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->rotate_size = rotate_size;
	s->keep = keep;
	s->f = open_append(s);
	if (!s->f) {
		snprintf(err, errlen, "%s", strerror(errno));
		free(s);
		return NULL;
	}
	return s;
}

/* PATH.(keep-1) -> PATH.keep, ..., PATH -> PATH.1, and a new PATH. Between events, so every
 * file holds whole lines. */
static void rotate(struct sink_file *s)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	unsigned i;
	int ret = 0;

	fflush(s->f);
	fclose(s->f);
	s->f = NULL;
	if (!s->keep) {
		ret = unlink(s->path);
	} else {
		for (i = s->keep; i > 1; i--) {
			snprintf(from, sizeof(from), "%s.%u", s->path, i - 1);
			snprintf(to, sizeof(to), "%s.%u", s->path, i);
			if (rename(from, to) && errno != ENOENT)
				ret = -1;
		}
		snprintf(to, sizeof(to), "%s.1", s->path);
		ret |= rename(s->path, to);
	}
	if (ret && !s->warned) {
		st_warn("rotating %s: %s", s->path, strerror(errno));
		s->warned = true;
	}
	s->f = open_append(s);
}

int sink_file_write(struct sink_file *s, const char *line, size_t len)
{
	if (!s->f && s->path[0])
		s->f = open_append(s);	/* reopening failed last time */
	if (!s->f || fwrite(line, 1, len, s->f) != len || fputc('\n', s->f) == EOF)
		return -1;
	s->size += len + 1;
	if (s->rotate_size && s->size >= s->rotate_size)
		rotate(s);
	return 0;
}

int sink_file_flush(struct sink_file *s)
{
	return s->f && fflush(s->f) ? -1 : 0;
}

void sink_file_close(struct sink_file *s)
{
	if (s->f && s->f != stdout)
		fclose(s->f);
	else if (s->f)
		fflush(s->f);
	free(s);
}
