/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Events that differ only in their time, id, sequence, thread, descriptor and offset (a
 * process sending the same secret to the same place again and again) rendered from one
 * serialized template instead of being built, redacted and serialized each time.
 */
#ifndef SECRETRACE_EV_TEMPLATE_H
#define SECRETRACE_EV_TEMPLATE_H

#include <jansson.h>
#include <stdint.h>

struct ev_template;

/* What changes from one event of a template to the next. */
struct ev_slots {
	uint64_t boot_ns;	/* @timestamp */
	uint32_t tid;		/* process.thread.id */
	int fd;			/* secretrace.fd */
	int64_t offset;		/* secretrace.offset */
};

/* A template of ev (which must carry every slot's field, and which this frees): redacted
 * and serialized once. NULL if it cannot be made (memory, or a string of ev that looks
 * like a placeholder); the caller then emits events the ordinary way. */
struct ev_template *ev_template_make(json_t *ev);
/* One event: the template with these slots, numbered and written to the sinks. */
void ev_template_emit(const struct ev_template *t, const struct ev_slots *v);
void ev_template_free(struct ev_template *t);

#endif
