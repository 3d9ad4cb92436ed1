/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the test_learn_http*.c unit tests share: a collector of the messages an http_stream
 * delivers (answering HEAD for the first responses when asked), starting and finishing a
 * stream, feeding it whole or one byte at a time, and assertions on a message's body and
 * headers.
 */
#ifndef SECRETRACE_TEST_LEARN_HTTP_UTIL_H
#define SECRETRACE_TEST_LEARN_HTTP_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "learn/http.h"

#define MAXMSG 64
#define BIG_BODY (1 << 20)

struct cap {
	struct http_msg *m[MAXMSG];
	int n;
	int heads;		/* responses still to come that answer a HEAD */
	int skip_calls;
};

static inline void on_msg(void *ctx, struct http_msg *m)
{
	struct cap *c = ctx;

	assert_true(c->n < MAXMSG);
	c->m[c->n++] = m;
}

static inline bool skip_body(void *ctx)
{
	struct cap *c = ctx;

	c->skip_calls++;
	if (c->heads > 0) {
		c->heads--;
		return true;
	}
	return false;
}

static inline void cap_free(struct cap *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		http_msg_free(c->m[i]);
	c->n = 0;
}

static inline void start(struct http_stream *s, struct cap *c, bool requests, size_t max_body)
{
	memset(c, 0, sizeof(*c));
	http_stream_init(s, requests, max_body, on_msg, requests ? NULL : skip_body, c);
}

static inline void finish(struct http_stream *s, struct cap *c)
{
	http_stream_free(s);
	cap_free(c);
}

static inline int feed(struct http_stream *s, const void *p, size_t n)
{
	return http_stream_feed(s, p, n);
}

static inline int feeds(struct http_stream *s, const char *str)
{
	return feed(s, str, strlen(str));
}

/* Feed one byte at a time; returns the first nonzero result, or 0. */
static inline int feed_bytes(struct http_stream *s, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (feed(s, b + i, 1))
			return -1;
	return 0;
}

static inline void assert_body(const struct http_msg *m, const void *exp, size_t n)
{
	assert_false(m->body_over_limit);
	assert_int_equal(m->body.len, n);
	assert_int_equal(m->body_len, n);
	if (n)
		assert_memory_equal(m->body.data, exp, n);
}

static inline void assert_body_str(const struct http_msg *m, const char *exp)
{
	assert_body(m, exp, strlen(exp));
}

static inline void assert_header(const struct http_msg *m, const char *name, const char *value)
{
	const char *v = http_header(m, name);

	assert_non_null(v);
	assert_string_equal(v, value);
}

#endif
