/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the unit tests that read their own events share: the output opened on one file
 * sink at a fresh temporary path, and the events written to it so far.
 */
#ifndef SECRETRACE_TEST_SINK_UTIL_H
#define SECRETRACE_TEST_SINK_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

#include "output/emit.h"
#include "output/sinks.h"

/* emit and the sinks on "file:PATH", PATH made from path_template (mkstemp's); 0 or -1 */
static int file_sink_open(char *path_template)
{
	char spec[256];
	const char *specs[] = { spec };
	struct sinks_cfg c;
	char err[256];
	int fd = mkstemp(path_template);

	if (fd < 0)
		return -1;
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", path_template);
	sinks_cfg_defaults(&c);
	return emit_init("node-1") || sinks_open(specs, 1, &c, err, sizeof(err)) ? -1 : 0;
}

/* The events written so far, one per line, as an array. */
static json_t *file_sink_events(const char *path)
{
	json_t *all = json_array();
	char line[8192];
	FILE *f;

	sinks_flush();
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		json_error_t e;
		json_t *ev = json_loads(line, 0, &e);

		assert_non_null(ev);
		json_array_append_new(all, ev);
	}
	fclose(f);
	return all;
}

/* ev.a or ev.a.b */
static json_t *json_at(json_t *ev, const char *a, const char *b)
{
	json_t *o = json_object_get(ev, a);

	return b ? json_object_get(o, b) : o;
}

#endif
