/* SPDX-License-Identifier: GPL-2.0 */
/* Dotted-path setters and getters that build and read ECS's nested event objects. */
#ifndef SECRETRACE_FIELDS_H
#define SECRETRACE_FIELDS_H

#include <jansson.h>
#include <stdbool.h>

void ev_set(json_t *ev, const char *dotted, json_t *val);	/* steals val */
json_t *ev_get(json_t *ev, const char *dotted);			/* NULL if absent */
void ev_str(json_t *ev, const char *dotted, const char *s);	/* skips NULL */
void ev_int(json_t *ev, const char *dotted, long long v);
void ev_bool(json_t *ev, const char *dotted, bool v);

#endif
