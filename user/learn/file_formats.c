// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "learn/file_formats.h"
#include "lib/secmem.h"
#include "secretrace.h"

#define MAX_DEPTH 32		/* deeper structure is not a delivered secret's */
#define YAML_MAX_EVENTS 200000	/* a bound on the work a hostile file can make */

const char *file_format_name(enum file_format f)
{
	static const char *const names[] = { "empty", "json", "env", "yaml", "raw" };

	return f <= FILE_FMT_RAW ? names[f] : "?";
}

/* One value: kept (copied) if it can be tracked, counted if not; 0 or -ENOMEM. */
static int add(struct file_values *out, const char *field, const void *v, size_t len,
	       size_t max_items)
{
	if (len < ST_MIN_SECRET_LEN) {
		out->skipped_short++;
		return 0;
	}
	if (out->items.n >= max_items) {
		out->skipped_limit++;
		return 0;
	}
	return vault_items_add(&out->items, field, v, len);
}

static void sub_field(char *sub, size_t n, const char *field, const char *key)
{
	snprintf(sub, n, "%s%s%s", field, *field ? "." : "", key);
}

/* ---- JSON ---- */

static int walk_json(struct file_values *out, json_t *v, const char *field, size_t max_items,
		     int depth)
{
	char sub[VAULT_FIELD_MAX], idx[24];
	const char *key;
	json_t *child;
	size_t i;
	int ret = 0;

	if (depth > MAX_DEPTH)
		return 0;
	if (json_is_string(v))
		return add(out, field, json_string_value(v), json_string_length(v), max_items);
	if (json_is_object(v)) {
		json_object_foreach(v, key, child) {
			sub_field(sub, sizeof(sub), field, key);
			if ((ret = walk_json(out, child, sub, max_items, depth + 1)))
				return ret;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			snprintf(idx, sizeof(idx), "%zu", i);
			sub_field(sub, sizeof(sub), field, idx);
			if ((ret = walk_json(out, child, sub, max_items, depth + 1)))
				return ret;
		}
	}
	return ret;
}

/* A whole Vault response rendered to a file ({{ . | toJSON }}): its secrets are what a
 * response's are (data, data.data, auth.client_token), not its request_id, lease_id or
 * timestamps; it says how long its lease lasts. 1 if it is one; 0 if not; -ENOMEM. */
static int parse_vault_response(const uint8_t *buf, size_t len, size_t max_items,
				struct file_values *out)
{
	struct vault_response r;
	char err[80];

	if (vault_parse_response(buf, len, max_items, &r, err, sizeof(err)))
		return strcmp(err, "out of memory") ? 0 : -ENOMEM;
	if (r.is_vault) {
		out->format = FILE_FMT_JSON;
		out->items = r.items;	/* moved: not wiped with r */
		memset(&r.items, 0, sizeof(r.items));
		out->skipped_short = r.skipped_short;
		out->skipped_limit = r.skipped_limit;
		out->lease_s = r.lease_duration > 0 ? r.lease_duration : 0;
	}
	vault_response_free(&r);
	return out->format == FILE_FMT_JSON;
}

/* 1: a JSON object, learned; 0: not one; -ENOMEM. (jansson's memory is wiped on free:
 * lib/secmem.c gives it its allocator.) */
static int parse_json(const uint8_t *buf, size_t len, size_t max_items, struct file_values *out)
{
	json_t *root;
	int ret = parse_vault_response(buf, len, max_items, out);

	if (ret)
		return ret;
	root = json_loadb((const char *)buf, len, JSON_ALLOW_NUL, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return 0;
	}
	out->format = FILE_FMT_JSON;
	/* a template may render a lease's length beside its values */
	if (json_integer_value(json_object_get(root, "lease_duration")) > 0)
		out->lease_s = json_integer_value(json_object_get(root, "lease_duration"));
	ret = walk_json(out, root, "", max_items, 0);
	json_decref(root);
	return ret ? ret : 1;
}

/* ---- KEY=value lines ---- */

static const uint8_t *line_end(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *nl = memchr(p, '\n', end - p);

	return nl ? nl : end;
}

static const uint8_t *skip_blank(const uint8_t *p, const uint8_t *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

/* The name of a KEY=value line (after an optional "export "), or NULL: *klen its length,
 * *val where the value starts. */
static const uint8_t *env_key(const uint8_t *p, const uint8_t *end, size_t *klen,
			      const uint8_t **val)
{
	const uint8_t *k;

	p = skip_blank(p, end);
	if (end - p > 7 && !memcmp(p, "export", 6) && (p[6] == ' ' || p[6] == '\t'))
		p = skip_blank(p + 7, end);
	k = p;
	if (p == end || !(isalpha(*p) || *p == '_'))
		return NULL;
	while (p < end && (isalnum(*p) || *p == '_' || *p == '.' || *p == '-'))
		p++;
	if (p == end || *p != '=')
		return NULL;
	*klen = p - k;
	*val = p + 1;
	return k;
}

static bool is_comment_or_blank(const uint8_t *p, const uint8_t *end)
{
	p = skip_blank(p, end);
	return p == end || *p == '#';
}

/* Every line is KEY=value, a comment or blank, and one at least is KEY=value. */
static bool looks_env(const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf, *end = buf + len, *e, *v;
	size_t klen;
	int n = 0;

	for (; p < end; p = e + 1) {
		e = line_end(p, end);
		if (is_comment_or_blank(p, e))
			continue;
		if (!env_key(p, e, &klen, &v))
			return false;
		n++;
	}
	return n > 0;
}

/* A value as a shell would read it: "..." (\" \\ \$ \` escapes), '...', or bare to the end of
 * the line less trailing blanks. Written into dst (room for e - v bytes); its length. */
static size_t env_value(const uint8_t *v, const uint8_t *e, uint8_t *dst)
{
	size_t n = 0;

	while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e - v >= 2 && *v == '\'' && e[-1] == '\'') {
		memcpy(dst, v + 1, e - v - 2);
		return e - v - 2;
	}
	if (e - v >= 2 && *v == '"' && e[-1] == '"') {
		for (v++, e--; v < e; v++) {
			if (*v == '\\' && v + 1 < e && strchr("\"\\$`", v[1]))
				v++;
			dst[n++] = *v;
		}
		return n;
	}
	memcpy(dst, v, e - v);
	return e - v;
}

static int parse_env(const uint8_t *buf, size_t len, size_t max_items, struct file_values *out)
{
	const uint8_t *p = buf, *end = buf + len, *e, *k, *v;
	char field[VAULT_FIELD_MAX];
	uint8_t *tmp = malloc(len ? len : 1);
	size_t klen, n;
	int ret = 0;

	if (!tmp)
		return -ENOMEM;
	out->format = FILE_FMT_ENV;
	for (; p < end && !ret; p = e + 1) {
		e = line_end(p, end);
		if (is_comment_or_blank(p, e) || !(k = env_key(p, e, &klen, &v)))
			continue;
		snprintf(field, sizeof(field), "%.*s", (int)klen, (const char *)k);
		n = env_value(v, e, tmp);
		ret = add(out, field, tmp, n, max_items);
		secmem_wipe(tmp, n);
	}
	free(tmp);
	return ret;
}

/* ---- YAML ---- */

struct yframe {
	bool map;		/* a mapping (else a sequence) */
	bool want_key;		/* mapping: the next scalar is a key */
	size_t index;		/* sequence: the next item's */
	size_t flen;		/* the field's length at this level */
};

struct ywalk {
	struct yframe st[MAX_DEPTH + 1];
	int depth;		/* frames in use */
	char field[VAULT_FIELD_MAX];
};

/* The field of the value about to come at the top frame; false when it is a key. */
static bool ypush_field(struct ywalk *w, const char *key, size_t klen)
{
	struct yframe *f = &w->st[w->depth - 1];
	size_t at = f->flen;
	char idx[24];

	if (f->map && f->want_key) {
		snprintf(w->field + at, sizeof(w->field) - at, "%s%.*s", at ? "." : "",
			 (int)klen, key);
		f->want_key = false;
		return false;
	}
	if (!f->map) {
		snprintf(idx, sizeof(idx), "%zu", f->index++);
		snprintf(w->field + at, sizeof(w->field) - at, "%s%s", at ? "." : "", idx);
	}
	return true;
}

/* The value at the top frame is done: a mapping wants its next key. */
static void yvalue_done(struct ywalk *w)
{
	if (w->depth && w->st[w->depth - 1].map)
		w->st[w->depth - 1].want_key = true;
}

static void yparser_wipe(yaml_parser_t *p)
{
	if (p->buffer.start)
		secmem_wipe(p->buffer.start, p->buffer.end - p->buffer.start);
	if (p->raw_buffer.start)
		secmem_wipe(p->raw_buffer.start, p->raw_buffer.end - p->raw_buffer.start);
}

/* One event of the walk: 1 to go on, 0 at the end (or on what is not a mapping), -1 when
 * the input is not a YAML mapping, -ENOMEM. */
static int yevent(struct ywalk *w, yaml_event_t *ev, size_t max_items, struct file_values *out,
		  bool *root_seen)
{
	struct yframe *f;

	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		if (!*root_seen) {
			*root_seen = true;
			if (ev->type != YAML_MAPPING_START_EVENT)
				return -1;
		} else if (!ypush_field(w, NULL, 0)) {
			return -1;	/* a complex key: not a plain secrets file */
		}
		if (w->depth > MAX_DEPTH)
			return -1;
		f = &w->st[w->depth++];
		*f = (struct yframe){ .map = ev->type == YAML_MAPPING_START_EVENT, .want_key = true,
				      .flen = strlen(w->field) };
		return 1;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		w->depth--;
		if (w->depth)
			w->field[w->st[w->depth - 1].flen] = '\0';
		yvalue_done(w);
		return 1;
	case YAML_SCALAR_EVENT:
		if (!*root_seen)
			return -1;	/* a lone scalar: a one-value file */
		if (ypush_field(w, (const char *)ev->data.scalar.value, ev->data.scalar.length)) {
			int ret = 0;

			/* plain null, booleans and numbers are not secrets, but a quoted or
			 * long plain scalar may be one: only its length decides */
			ret = add(out, w->field, ev->data.scalar.value, ev->data.scalar.length,
				  max_items);
			w->field[w->st[w->depth - 1].flen] = '\0';
			yvalue_done(w);
			if (ret)
				return ret;
		}
		return 1;
	case YAML_ALIAS_EVENT:
		return -1;	/* anchors let a small file expand: not a secrets file's */
	case YAML_DOCUMENT_END_EVENT:
		return 0;	/* the first document only */
	case YAML_STREAM_END_EVENT:
		return 0;
	default:
		return 1;
	}
}

/* 1: a YAML mapping, learned; 0: not one (out untouched); -ENOMEM. */
static int parse_yaml(const uint8_t *buf, size_t len, size_t max_items, struct file_values *out)
{
	struct file_values got = { .format = FILE_FMT_YAML };
	struct ywalk *w = calloc(1, sizeof(*w));
	bool root_seen = false;
	yaml_parser_t p;
	yaml_event_t ev;
	int ret = 1, n;

	if (!w || !yaml_parser_initialize(&p)) {
		free(w);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, buf, len);
	for (n = 0; ret == 1 && n < YAML_MAX_EVENTS; n++) {
		if (!yaml_parser_parse(&p, &ev)) {
			ret = -1;
			break;
		}
		ret = yevent(w, &ev, max_items, &got, &root_seen);
		if (ev.type == YAML_SCALAR_EVENT)
			secmem_wipe(ev.data.scalar.value, ev.data.scalar.length);
		yaml_event_delete(&ev);
	}
	if (n == YAML_MAX_EVENTS)
		ret = -1;
	yparser_wipe(&p);
	yaml_parser_delete(&p);
	free(w);
	if (ret == 0 && root_seen) {
		*out = got;
		return 1;
	}
	file_values_free(&got);
	return ret == -ENOMEM ? ret : 0;
}

/* ---- the file ---- */

int file_parse(const char *name, const uint8_t *buf, size_t len, size_t max_items,
	       struct file_values *out)
{
	const uint8_t *p = buf, *end = buf + len;
	int ret;

	memset(out, 0, sizeof(*out));
	while (p < end && isspace(*p))
		p++;
	if (p == end)
		return 0;
	if (*p == '{' && (ret = parse_json(buf, len, max_items, out)))
		return ret < 0 ? ret : 0;
	if (looks_env(buf, len))
		return parse_env(buf, len, max_items, out);
	if ((ret = parse_yaml(buf, len, max_items, out)))
		return ret < 0 ? ret : 0;
	/* one value: the whole file but the newline a template or editor ends it with */
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	out->format = FILE_FMT_RAW;
	return add(out, name, buf, len, max_items);
}

void file_values_free(struct file_values *v)
{
	vault_items_wipe(&v->items);
	memset(v, 0, sizeof(*v));
}
