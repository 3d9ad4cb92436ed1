// SPDX-License-Identifier: GPL-2.0
/*
 * A template is the event serialized once with a placeholder string in each slot's field;
 * the text is cut at the placeholders, and each event is the pieces with its own values
 * in between. The placeholders hold a control character, which the serializer escapes,
 * and each must appear exactly once in the text: a traced process's string that imitates
 * one makes the template fail, and its events take the ordinary way.
 */
#include <stdlib.h>
#include <string.h>

#include "output/emit.h"
#include "output/template.h"
#include "output/json_line.h"
#include "lib/redact.h"
#include "output/sinks.h"

enum { SLOT_TIME, SLOT_ID, SLOT_SEQ, SLOT_TID, SLOT_FD, SLOT_OFFSET, NSLOTS };

static const char *const slot_field[NSLOTS] = {
	"@timestamp", "event.id", "event.sequence", "process.thread.id", "secretrace.fd",
	"secretrace.offset",
};

struct ev_template {
	char *text;		/* the serialized event without its placeholders */
	size_t len;
	int n;			/* slots present */
	size_t at[NSLOTS];	/* where each goes in text, ascending */
	int slot[NSLOTS];
	uint64_t redacted;	/* strings the redactor refused in it */
};

static struct json_line line;	/* the template being serialized */
static char *out;		/* an event being rendered */
static size_t out_cap;

/* "\u0001" followed by the slot's digit, as the serializer writes it, quotes included */
static void token_of(int slot, char tok[16])
{
	memcpy(tok, "\"\\u0001", 7);
	tok[7] = '0' + slot;
	tok[8] = '"';
	tok[9] = 0;
}

static const char *find_once(const char *text, const char *tok)
{
	const char *hit = strstr(text, tok);

	return hit && !strstr(hit + 1, tok) ? hit : NULL;
}

struct ev_template *ev_template_make(json_t *ev)
{
	struct ev_template *t = calloc(1, sizeof(*t));
	const char *hit[NSLOTS] = { 0 };
	uint64_t refused = redact_count();
	bool placed[NSLOTS] = { 0 };
	char tok[16];
	size_t from;
	int s, i;

	if (!t || !ev)
		goto fail;
	for (s = 0; s < NSLOTS; s++) {
		char ph[3] = { 1, '0' + s, 0 };

		/* the time, id and sequence every event has; the others if this one does */
		placed[s] = s <= SLOT_SEQ || ev_get(ev, slot_field[s]);
		if (placed[s])
			ev_str(ev, slot_field[s], ph);
	}
	ev_redact(ev);
	/* counted by each event rendered, the first one too, not by this */
	t->redacted = redact_count() - refused;
	redact_recount(-(int64_t)t->redacted);
	if (json_line_dump(&line, ev))
		goto fail;
	/* each placed placeholder once, and no other: a string imitating one fails */
	for (s = 0; s < NSLOTS; s++) {
		token_of(s, tok);
		hit[s] = find_once(line.buf, tok);
		if (placed[s] ? !hit[s] : strstr(line.buf, tok) != NULL)
			goto fail;
	}
	t->text = malloc(line.len + 1);
	if (!t->text)
		goto fail;
	/* the pieces between placeholders, in order of position */
	for (from = 0;;) {
		const char *next = NULL;
		int ns = -1;

		for (s = 0; s < NSLOTS; s++)
			if (hit[s] && hit[s] >= line.buf + from && (!next || hit[s] < next))
				next = hit[s], ns = s;
		if (!next)
			break;
		memcpy(t->text + t->len, line.buf + from, next - line.buf - from);
		t->len += next - line.buf - from;
		i = t->n++;
		t->at[i] = t->len;
		t->slot[i] = ns;
		token_of(ns, tok);
		from = next - line.buf + strlen(tok);
	}
	memcpy(t->text + t->len, line.buf + from, line.len - from);
	t->len += line.len - from;
	json_decref(ev);
	return t;
fail:
	ev_template_free(t);
	json_decref(ev);
	return NULL;
}

static char *put_int(char *p, long long v)
{
	char tmp[24];
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	int n = 0;

	do
		tmp[n++] = '0' + u % 10;
	while (u /= 10);
	if (v < 0)
		*p++ = '-';
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_str(char *p, const char *s, size_t n)
{
	*p++ = '"';
	memcpy(p, s, n);
	p += n;
	*p++ = '"';
	return p;
}

void ev_template_emit(const struct ev_template *t, const struct ev_slots *v)
{
	size_t need = t->len + NSLOTS * (EV_TIME_LEN + 8), from = 0;
	char when[EV_TIME_LEN], id[EV_ID_LEN], *p;
	int i;

	if (need > out_cap) {
		char *n = realloc(out, need);

		if (!n) {
			ev_next_sequence();
			ev_emit_failed();
			return;
		}
		out = n;
		out_cap = need;
	}
	p = out;
	for (i = 0; i < t->n; i++) {
		memcpy(p, t->text + from, t->at[i] - from);
		p += t->at[i] - from;
		from = t->at[i];
		switch (t->slot[i]) {
		case SLOT_TIME:
			p = put_str(p, when, ev_format_time(when, v->boot_ns ? v->boot_ns
									    : now_boot_ns()));
			break;
		case SLOT_ID:
			ev_format_id(id);
			p = put_str(p, id, EV_ID_LEN - 1);
			break;
		case SLOT_SEQ:
			p = put_int(p, (long long)ev_next_sequence());
			break;
		case SLOT_TID:
			p = put_int(p, v->tid);
			break;
		case SLOT_FD:
			p = put_int(p, v->fd);
			break;
		case SLOT_OFFSET:
			p = put_int(p, v->offset);
			break;
		}
	}
	memcpy(p, t->text + from, t->len - from);
	p += t->len - from;
	*p = 0;
	redact_recount(t->redacted);
	sinks_write(out, p - out);
}

void ev_template_free(struct ev_template *t)
{
	if (t)
		free(t->text);
	free(t);
}
