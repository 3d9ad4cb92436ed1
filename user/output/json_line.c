// SPDX-License-Identifier: GPL-2.0
/*
 * One event as one compact JSON line, into a buffer reused from event to event. The same
 * bytes as jansson's json_dumps(JSON_COMPACT) (tests/unit/test_json_line.c checks it),
 * without what made that the dearest step of an event: a loop check per object (a
 * snprintf of its address and a hash table entry) and a snprintf per integer. Events are
 * trees this program builds, so they cannot hold a loop; they are bounded in depth anyway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/json_line.h"

#define MAX_DEPTH 32

static int reserve(struct json_line *l, size_t n)
{
	char *b;
	size_t cap;

	if (l->len + n <= l->cap)
		return 0;
	cap = l->cap ? l->cap : 4096;
	while (cap < l->len + n)
		cap *= 2;
	b = realloc(l->buf, cap);
	if (!b)
		return -1;
	l->buf = b;
	l->cap = cap;
	return 0;
}

static int put(struct json_line *l, const char *s, size_t n)
{
	if (reserve(l, n))
		return -1;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	return 0;
}

/* jansson's escaping: quote, backslash and control characters; UTF-8 passes as is */
static int put_string(struct json_line *l, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, run = 0;

	/* worst case: every byte becomes \u00XX */
	if (reserve(l, 6 * n + 2))
		return -1;
	l->buf[l->len++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];
		char *o;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		memcpy(l->buf + l->len, s + run, i - run);
		l->len += i - run;
		run = i + 1;
		o = l->buf + l->len;
		o[0] = '\\';
		switch (c) {
		case '"': o[1] = '"'; l->len += 2; continue;
		case '\\': o[1] = '\\'; l->len += 2; continue;
		case '\b': o[1] = 'b'; l->len += 2; continue;
		case '\f': o[1] = 'f'; l->len += 2; continue;
		case '\n': o[1] = 'n'; l->len += 2; continue;
		case '\r': o[1] = 'r'; l->len += 2; continue;
		case '\t': o[1] = 't'; l->len += 2; continue;
		}
		memcpy(o + 1, "u00", 3);
		o[4] = hex[c >> 4];
		o[5] = hex[c & 15];
		l->len += 6;
	}
	memcpy(l->buf + l->len, s + run, n - run);
	l->len += n - run;
	l->buf[l->len++] = '"';
	return 0;
}

static int put_integer(struct json_line *l, json_int_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = '0' + u % 10;
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return put(l, p, tmp + sizeof(tmp) - p);
}

static int dump(struct json_line *l, const json_t *v, int depth)
{
	const char *key;
	json_t *child;
	size_t i;
	int first = 1;

	if (depth > MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (put(l, "{", 1))
			return -1;
		json_object_foreach((json_t *)v, key, child) {
			if ((!first && put(l, ",", 1)) || put_string(l, key, strlen(key)) ||
			    put(l, ":", 1) || dump(l, child, depth + 1))
				return -1;
			first = 0;
		}
		return put(l, "}", 1);
	case JSON_ARRAY:
		if (put(l, "[", 1))
			return -1;
		json_array_foreach(v, i, child) {
			if ((i && put(l, ",", 1)) || dump(l, child, depth + 1))
				return -1;
		}
		return put(l, "]", 1);
	case JSON_STRING:
		return put_string(l, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return put_integer(l, json_integer_value(v));
	case JSON_TRUE:
		return put(l, "true", 4);
	case JSON_FALSE:
		return put(l, "false", 5);
	case JSON_NULL:
		return put(l, "null", 4);
	case JSON_REAL: {
		/* rare in events: jansson's own formatting, so the bytes stay the same */
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		int ret = s ? put(l, s, strlen(s)) : -1;
		json_free_t release;

		json_get_alloc_funcs(NULL, &release);
		release(s);
		return ret;
	}
	}
	return -1;
}

int json_line_dump(struct json_line *l, const json_t *v)
{
	l->len = 0;
	if (dump(l, v, 0) || reserve(l, 1))
		return -1;
	l->buf[l->len] = 0;
	return 0;
}

void json_line_free(struct json_line *l)
{
	free(l->buf);
	*l = (struct json_line){ 0 };
}
