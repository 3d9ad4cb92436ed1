// SPDX-License-Identifier: GPL-2.0
/* --format: which one, and an ECS line rendered in it (formats.h). */
#include <string.h>

#include "output/formats.h"
#include "output/json_line.h"

int out_format_parse(const char *name, enum out_format *f)
{
	if (!strcmp(name, "ecs"))
		*f = OUT_ECS;
	else if (!strcmp(name, "text"))
		*f = OUT_TEXT;
	else if (!strcmp(name, "ocsf"))
		*f = OUT_OCSF;
	else
		return -1;
	return 0;
}

int out_format_render(enum out_format f, const char *line, size_t len, bool colour,
		      struct sink_buf *b)
{
	static struct json_line out;	/* reused */
	json_t *ev = json_loadb(line, len, 0, NULL), *o = NULL;
	int ret = -1;

	if (!json_is_object(ev))
		goto done;
	if (f == OUT_TEXT) {
		ret = text_line(b, ev, colour);
		goto done;
	}
	if (f == OUT_ECS) {
		ret = sink_buf_add(b, line, len);
		goto done;
	}
	o = ocsf_event(ev);
	if (o && !json_line_dump(&out, o))
		ret = sink_buf_add(b, out.buf, out.len);
done:
	json_decref(o);
	json_decref(ev);
	return ret;
}
