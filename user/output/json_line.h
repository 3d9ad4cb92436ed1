/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SECRETRACE_JSON_LINE_H
#define SECRETRACE_JSON_LINE_H

#include <jansson.h>
#include <stddef.h>

/* A JSON text being built; buf is NUL-terminated after a successful dump. */
struct json_line {
	char *buf;
	size_t len, cap;
};

/* v as json_dumps(v, JSON_COMPACT) would write it, into l (reused); 0 or -1 (memory). */
int json_line_dump(struct json_line *l, const json_t *v);
void json_line_free(struct json_line *l);

#endif /* SECRETRACE_JSON_LINE_H */
