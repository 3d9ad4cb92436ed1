// SPDX-License-Identifier: GPL-2.0
/* Dotted-path access to an event's nested objects ("destination.ip"), as ECS nests them.
 * Apart from emit.c so that what only reads and builds JSON (correlate, the fuzz targets)
 * does not link the sinks. */
#include <string.h>

#include "output/fields.h"

/* Walk the objects of a dotted path (creating them, with create); returns the parent of
 * the last part, or NULL if a part is missing and not created. */
static json_t *parent_of(json_t *ev, const char *dotted, const char **leaf, bool create)
{
	char part[64];
	const char *dot;

	while ((dot = strchr(dotted, '.'))) {
		size_t n = dot - dotted;
		json_t *child;

		if (n >= sizeof(part))
			n = sizeof(part) - 1;
		memcpy(part, dotted, n);
		part[n] = 0;
		child = json_object_get(ev, part);
		if (!json_is_object(child)) {
			if (!create)
				return NULL;
			child = json_object();
			json_object_set_new(ev, part, child);
		}
		ev = child;
		dotted = dot + 1;
	}
	*leaf = dotted;
	return ev;
}

void ev_set(json_t *ev, const char *dotted, json_t *val)
{
	const char *leaf;
	json_t *parent;

	if (!val)
		return;
	parent = parent_of(ev, dotted, &leaf, true);
	json_object_set_new(parent, leaf, val);
}

json_t *ev_get(json_t *ev, const char *dotted)
{
	const char *leaf;
	json_t *parent = parent_of(ev, dotted, &leaf, false);

	return parent ? json_object_get(parent, leaf) : NULL;
}

void ev_str(json_t *ev, const char *dotted, const char *s)
{
	if (s)
		ev_set(ev, dotted, json_string(s));
}

void ev_int(json_t *ev, const char *dotted, long long v)
{
	ev_set(ev, dotted, json_integer(v));
}

void ev_bool(json_t *ev, const char *dotted, bool v)
{
	ev_set(ev, dotted, json_boolean(v));
}
