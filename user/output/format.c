// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output/format.h"

int sink_buf_add(struct sink_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *q;

		while (cap < b->len + n + 1)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q)
			return -ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

int sink_buf_printf(struct sink_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(small))
		return -EINVAL;	/* only short pieces are printed */
	return sink_buf_add(b, small, n);
}

void sink_buf_free(struct sink_buf *b)
{
	free(b->p);
	*b = (struct sink_buf){ 0 };
}

static void copy_str(char *dst, size_t len, json_t *v)
{
	snprintf(dst, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* The same of an OCSF event (--format ocsf): metadata.uid and event_code (event.id and
 * event.action, formats.md), time (ms since the epoch) as RFC 3339, findings as alerts. */
static void ocsf_meta(json_t *ev, struct sink_meta *m)
{
	json_t *md = json_object_get(ev, "metadata"), *t = json_object_get(ev, "time");
	time_t sec;
	struct tm tm;
	size_t n;

	copy_str(m->id, sizeof(m->id), json_object_get(md, "uid"));
	copy_str(m->action, sizeof(m->action), json_object_get(md, "event_code"));
	if (json_is_integer(t) && json_integer_value(t) >= 0) {
		sec = (time_t)(json_integer_value(t) / 1000);
		n = gmtime_r(&sec, &tm) ? strftime(m->timestamp, sizeof(m->timestamp),
						   "%Y-%m-%dT%H:%M:%S", &tm) : 0;
		if (n)
			snprintf(m->timestamp + n, sizeof(m->timestamp) - n, ".%03dZ",
				 (int)(json_integer_value(t) % 1000));
	}
	m->alert = json_integer_value(json_object_get(ev, "class_uid")) == 2004;
	m->loss = !strcmp(m->action, "tracer.loss");
}

int sink_meta(const char *line, size_t len, struct sink_meta *m)
{
	json_t *ev = json_loadb(line, len, 0, NULL), *e;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(ev)) {
		json_decref(ev);
		return -1;
	}
	e = json_object_get(ev, "event");
	if (!e && json_is_object(json_object_get(ev, "metadata"))) {
		ocsf_meta(ev, m);
		json_decref(ev);
		return 0;
	}
	copy_str(m->id, sizeof(m->id), json_object_get(e, "id"));
	copy_str(m->action, sizeof(m->action), json_object_get(e, "action"));
	copy_str(m->timestamp, sizeof(m->timestamp), json_object_get(ev, "@timestamp"));
	m->alert = json_is_string(json_object_get(e, "kind")) &&
		   !strcmp(json_string_value(json_object_get(e, "kind")), "alert");
	m->loss = !strcmp(m->action, "tracer.loss");
	json_decref(ev);
	return 0;
}

/* An RFC 5424 header field: PRINTUSASCII, at most max characters, "-" when empty. */
static int header_field(struct sink_buf *b, const char *s, size_t max)
{
	char out[256];
	size_t i;

	for (i = 0; s[i] && i < max && i < sizeof(out); i++)
		out[i] = s[i] > 32 && s[i] < 127 ? s[i] : '_';
	if (!i)
		out[i++] = '-';
	return sink_buf_add(b, out, i);
}

int syslog_format(struct sink_buf *b, const char *line, size_t len, const struct sink_meta *m,
		  const char *host, int pid, bool octet_count)
{
	int sev = m->alert ? 1 : m->loss ? 4 : 6;	/* alert, warning, informational */
	char pidbuf[16], prefix[24];
	size_t start = b->len;
	int ret, n;

	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	ret = sink_buf_printf(b, "<%d>1 ", SYSLOG_FACILITY * 8 + sev);
	/* TIMESTAMP: the event's @timestamp (RFC 3339 already), NILVALUE without one */
	ret = ret ?: header_field(b, m->timestamp, 32);
	ret = ret ?: sink_buf_add(b, " ", 1);
	ret = ret ?: header_field(b, host, 255);
	ret = ret ?: sink_buf_add(b, " secretrace ", 12);
	ret = ret ?: header_field(b, pidbuf, 128);
	ret = ret ?: sink_buf_add(b, " ", 1);
	ret = ret ?: header_field(b, m->action, 32);
	ret = ret ?: sink_buf_add(b, " - ", 3);
	ret = ret ?: sink_buf_add(b, line, len);
	if (ret || !octet_count)
		return ret;
	/* RFC 6587 octet counting: the message's length goes before it */
	n = snprintf(prefix, sizeof(prefix), "%zu ", b->len - start);
	ret = sink_buf_add(b, prefix, n);
	if (ret)
		return ret;
	memmove(b->p + start + n, b->p + start, b->len - n - start);
	memcpy(b->p + start, prefix, n);
	return 0;
}

int bulk_format(struct sink_buf *b, const char *line, size_t len, const struct sink_meta *m)
{
	int ret;

	/* create, not index: a retried event whose first copy arrived is a 409, not a second
	 * document; event.id is a UUID, so it needs no escaping */
	if (m->id[0] && strspn(m->id, "0123456789abcdefABCDEF-") == strlen(m->id))
		ret = sink_buf_printf(b, "{\"create\":{\"_id\":\"%s\"}}\n", m->id);
	else
		ret = sink_buf_add(b, "{\"create\":{}}\n", 14);
	ret = ret ?: sink_buf_add(b, line, len);
	return ret ?: sink_buf_add(b, "\n", 1);
}

/* @timestamp as seconds since the epoch, with microseconds: "1795000000.123456". */
static bool epoch(const char *ts, char *out, size_t len)
{
	unsigned usec = 0;
	struct tm tm = { 0 };
	const char *rest = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);

	if (!rest)
		return false;
	if (*rest == '.' && sscanf(rest + 1, "%6u", &usec) != 1)
		return false;
	snprintf(out, len, "%lld.%06u", (long long)timegm(&tm), usec);
	return true;
}

int hec_format(struct sink_buf *b, const char *line, size_t len, const struct sink_meta *m,
	       const char *host)
{
	json_t *h = json_string(host);
	char *hs = h ? json_dumps(h, JSON_ENCODE_ANY) : NULL;
	json_free_t release;
	char t[40];
	int ret;

	json_decref(h);
	if (!hs)
		return -ENOMEM;
	ret = sink_buf_add(b, "{", 1);
	if (!ret && epoch(m->timestamp, t, sizeof(t)))
		ret = sink_buf_printf(b, "\"time\":%s,", t);
	ret = ret ?: sink_buf_add(b, "\"host\":", 7);
	ret = ret ?: sink_buf_add(b, hs, strlen(hs));
	ret = ret ?: sink_buf_add(b, ",\"source\":\"secretrace\",\"sourcetype\":\"_json\",\"event\":",
				  52);
	ret = ret ?: sink_buf_add(b, line, len);
	ret = ret ?: sink_buf_add(b, "}\n", 2);
	json_get_alloc_funcs(NULL, &release);
	release(hs);	/* jansson's allocator made it */
	return ret;
}

int bulk_statuses(const char *resp, size_t len, size_t n, int *status)
{
	json_t *r = json_loadb(resp, len, 0, NULL), *items, *item, *op, *st;
	const char *key;
	size_t i;
	int ret = -1;

	/* "errors": false says every item was accepted, whatever "items" holds (collectors
	 * that speak _bulk often answer with none) */
	if (json_is_false(json_object_get(r, "errors"))) {
		for (i = 0; i < n; i++)
			status[i] = 201;
		ret = 0;
		goto out;
	}
	items = json_object_get(r, "items");
	if (!json_is_array(items) || json_array_size(items) != n)
		goto out;
	json_array_foreach(items, i, item) {
		/* {"create": {"status": 201, ...}}: one key, whatever the action */
		if (!json_is_object(item) || json_object_size(item) != 1)
			goto out;
		st = NULL;
		json_object_foreach(item, key, op)
			st = json_object_get(op, "status");
		if (!json_is_integer(st))
			goto out;
		status[i] = (int)json_integer_value(st);
	}
	ret = 0;
out:
	json_decref(r);
	return ret;
}

enum bulk_verdict bulk_verdict(int status)
{
	if ((status >= 200 && status < 300) || status == 409)	/* 409: that _id is there */
		return BULK_DONE;
	if (status == 408 || status == 429 || status >= 500)
		return BULK_RETRY;
	return BULK_REJECTED;
}
