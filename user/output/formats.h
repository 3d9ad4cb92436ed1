/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --format: the events as people or OCSF consumers read them, rendered from the ECS event
 * (already redacted: these only rearrange what the redactor let through). format_text.c
 * writes one line for a terminal, format_ocsf.c an OCSF 1.1.0 object (docs/formats.md).
 */
#ifndef SECRETRACE_FORMATS_H
#define SECRETRACE_FORMATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "output/format.h"

enum out_format { OUT_ECS, OUT_TEXT, OUT_OCSF };

/* "ecs", "text" or "ocsf"; -1 for anything else. */
int out_format_parse(const char *name, enum out_format *f);
/* The ECS line (len bytes) in format f, appended to b (no newline); -1 if it is not a JSON
 * object or memory ran out. */
int out_format_render(enum out_format f, const char *line, size_t len, bool colour,
		      struct sink_buf *b);

/* One line for a person: time, who, what happened, which secret, where it went. Control
 * characters of the event's strings are escaped, so a line is one line and a traced
 * process cannot send the terminal escape sequences. */
int text_line(struct sink_buf *b, json_t *ev, bool colour);
/* The OCSF object of an ECS event (a new reference, NULL without memory). */
json_t *ocsf_event(json_t *ev);

#define OCSF_VERSION "1.1.0"

#endif
