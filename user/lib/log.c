// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "lib/redact.h"

bool st_verbose;

static void vlog(const char *level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	redact_buffer(line, n);
	fprintf(stderr, "secretrace: %s%s\n", level, line);
}

#define ST_LOG_FN(name, level, cond)                                                             \
	void name(const char *fmt, ...)                                                          \
	{                                                                                        \
		va_list ap;                                                                      \
		if (!(cond))                                                                     \
			return;                                                                  \
		va_start(ap, fmt);                                                               \
		vlog(level, fmt, ap);                                                            \
		va_end(ap);                                                                      \
	}

ST_LOG_FN(st_err, "", true)
ST_LOG_FN(st_warn, "warning: ", true)
ST_LOG_FN(st_info, "", st_verbose)
ST_LOG_FN(st_debug, "debug: ", st_verbose)
