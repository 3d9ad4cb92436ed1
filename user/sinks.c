// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sinks.h"

struct sink {
	char spec[256];
	FILE *f;
	uint64_t failed, reported;
};

static struct sink sinks[SINKS_MAX];
static int nsinks;

int sinks_open(const char *const *specs, int n, char *err, size_t errlen)
{
	static const char *stdout_spec = "-";
	int i;

	if (n == 0) {
		specs = &stdout_spec;
		n = 1;
	}
	if (n > SINKS_MAX) {
		snprintf(err, errlen, "at most %d outputs", SINKS_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		struct sink *s = &sinks[nsinks];

		snprintf(s->spec, sizeof(s->spec), "%s", specs[i]);
		if (!strcmp(specs[i], "-")) {
			s->f = stdout;
		} else if (!strncmp(specs[i], "file:", 5) && specs[i][5]) {
			int fd = open(specs[i] + 5, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

			if (fd < 0 || !(s->f = fdopen(fd, "a"))) {
				snprintf(err, errlen, "output %s: %s", specs[i], strerror(errno));
				if (fd >= 0)
					close(fd);
				return -errno;
			}
		} else {
			snprintf(err, errlen,
				 "output %s: not supported (use - or file:PATH)", specs[i]);
			return -EINVAL;
		}
		nsinks++;
	}
	return 0;
}

void sinks_write(const char *line, size_t len)
{
	int i;

	for (i = 0; i < nsinks; i++) {
		struct sink *s = &sinks[i];

		if (fwrite(line, 1, len, s->f) != len || fputc('\n', s->f) == EOF)
			s->failed++;
	}
}

void sinks_flush(void)
{
	int i;

	for (i = 0; i < nsinks; i++)
		if (fflush(sinks[i].f))
			sinks[i].failed++;
}

void sinks_close(void)
{
	int i;

	sinks_flush();
	for (i = 0; i < nsinks; i++)
		if (sinks[i].f != stdout)
			fclose(sinks[i].f);
	nsinks = 0;
}

uint64_t sinks_take_failures(const char **which)
{
	int i;

	for (i = 0; i < nsinks; i++) {
		struct sink *s = &sinks[i];

		if (s->failed > s->reported) {
			uint64_t n = s->failed - s->reported;

			s->reported = s->failed;
			*which = s->spec;
			return n;
		}
	}
	return 0;
}

uint64_t sinks_failures_total(void)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < nsinks; i++)
		n += sinks[i].failed;
	return n;
}
