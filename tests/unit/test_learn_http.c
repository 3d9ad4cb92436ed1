// SPDX-License-Identifier: GPL-2.0
/*
 * The learner's HTTP/1.1 stage: http_stream_* (framing across arbitrary feed boundaries,
 * pipelining, HEAD, close-delimited bodies, limits, broken input) and http_decode_body
 * (identity, gzip, zlib and raw deflate, truncated/corrupt input, bombs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "learn/http.h"
#include "lib/secmem.h"

#define MAXMSG 64
#define BIG_BODY (1 << 20)

/* ---- helpers ---- */

struct cap {
	struct http_msg *m[MAXMSG];
	int n;
	int heads;		/* responses still to come that answer a HEAD */
	int skip_calls;
};

static void on_msg(void *ctx, struct http_msg *m)
{
	struct cap *c = ctx;

	assert_true(c->n < MAXMSG);
	c->m[c->n++] = m;
}

static bool skip_body(void *ctx)
{
	struct cap *c = ctx;

	c->skip_calls++;
	if (c->heads > 0) {
		c->heads--;
		return true;
	}
	return false;
}

static void cap_free(struct cap *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		http_msg_free(c->m[i]);
	c->n = 0;
}

static void start(struct http_stream *s, struct cap *c, bool requests, size_t max_body)
{
	memset(c, 0, sizeof(*c));
	http_stream_init(s, requests, max_body, on_msg, requests ? NULL : skip_body, c);
}

static void finish(struct http_stream *s, struct cap *c)
{
	http_stream_free(s);
	cap_free(c);
}

static int feed(struct http_stream *s, const void *p, size_t n)
{
	return http_stream_feed(s, p, n);
}

static int feeds(struct http_stream *s, const char *str)
{
	return feed(s, str, strlen(str));
}

/* Feed one byte at a time; returns the first nonzero result, or 0. */
static int feed_bytes(struct http_stream *s, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (feed(s, b + i, 1))
			return -1;
	return 0;
}

static void assert_body(const struct http_msg *m, const void *exp, size_t n)
{
	assert_false(m->body_over_limit);
	assert_int_equal(m->body.len, n);
	assert_int_equal(m->body_len, n);
	if (n)
		assert_memory_equal(m->body.data, exp, n);
}

static void assert_body_str(const struct http_msg *m, const char *exp)
{
	assert_body(m, exp, strlen(exp));
}

static void assert_header(const struct http_msg *m, const char *name, const char *value)
{
	const char *v = http_header(m, name);

	assert_non_null(v);
	assert_string_equal(v, value);
}

static void assert_same_msg(const struct http_msg *a, const struct http_msg *b)
{
	int i;

	assert_int_equal(a->is_request, b->is_request);
	assert_int_equal(a->status, b->status);
	if (a->method || b->method) {
		assert_non_null(a->method);
		assert_non_null(b->method);
		assert_string_equal(a->method, b->method);
	}
	if (a->url || b->url) {
		assert_non_null(a->url);
		assert_non_null(b->url);
		assert_string_equal(a->url, b->url);
	}
	assert_int_equal(a->nhdr, b->nhdr);
	for (i = 0; i < a->nhdr; i++) {
		assert_string_equal(a->hdr[i].name, b->hdr[i].name);
		assert_string_equal(a->hdr[i].value, b->hdr[i].value);
	}
	assert_int_equal(a->body_over_limit, b->body_over_limit);
	assert_int_equal(a->body_len, b->body_len);
	assert_int_equal(a->body.len, b->body.len);
	if (a->body.len)
		assert_memory_equal(a->body.data, b->body.data, a->body.len);
	assert_int_equal(a->head_len, b->head_len);
	if (a->head_len)
		assert_memory_equal(a->head, b->head, a->head_len);
}

/* A message built by hand, for http_decode_body. */
static struct http_msg *msg_with(const char *encoding, const void *body, size_t n)
{
	struct http_msg *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	if (encoding) {
		m->hdr[0].name = strdup("Content-Encoding");
		m->hdr[0].value = strdup(encoding);
		assert_non_null(m->hdr[0].name);
		assert_non_null(m->hdr[0].value);
		m->nhdr = 1;
	}
	if (n)
		assert_int_equal(secbuf_append(&m->body, body, n), 0);
	m->body_len = n;
	return m;
}

/* wbits: 16 + 15 gzip, 15 zlib, -15 raw deflate */
static size_t zcompress(const void *in, size_t n, int wbits, uint8_t **out)
{
	z_stream z;
	size_t cap, len;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
	cap = deflateBound(&z, n) + 64;
	*out = malloc(cap);
	assert_non_null(*out);
	z.next_in = (Bytef *)in;
	z.avail_in = n;
	z.next_out = *out;
	z.avail_out = cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	len = z.total_out;
	deflateEnd(&z);
	return len;
}

static int decode(const struct http_msg *m, size_t max, struct secbuf *out, char *err,
		  size_t errlen)
{
	memset(out, 0, sizeof(*out));
	err[0] = 0;
	return http_decode_body(m, max, out, err, errlen);
}

static const char JSON_BODY[] =
	"{\"request_id\":\"3f1c0a4e-8b1d-4d2a-9c55-0123456789ab\",\"lease_id\":\"\","
	"\"data\":{\"data\":{\"api_key\":\"AKIA-test-key-0123456789\",\"password\":"
	"\"correct horse battery staple\"},\"metadata\":{\"version\":3}}}";

/* ---- framing ---- */

static void test_content_length(void **state)
{
	struct http_stream s;
	struct cap c;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\n"
				   "Content-Type: application/json\r\n"
				   "Content-Length: 11\r\n"
				   "\r\n"
				   "hello world"),
			 0);
	assert_int_equal(c.n, 1);
	assert_false(c.m[0]->is_request);
	assert_int_equal(c.m[0]->status, 200);
	assert_int_equal(c.m[0]->nhdr, 2);
	assert_header(c.m[0], "Content-Type", "application/json");
	assert_header(c.m[0], "Content-Length", "11");
	assert_body_str(c.m[0], "hello world");
	assert_int_equal(c.m[0]->head_len, 11);
	assert_memory_equal(c.m[0]->head, "hello world", 11);
	assert_true(http_stream_idle(&s));
	assert_false(s.failed);
	finish(&s, &c);
}

static void test_zero_length_and_no_body_statuses(void **state)
{
	struct http_stream s;
	struct cap c;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
				   "HTTP/1.1 204 No Content\r\n\r\n"
				   "HTTP/1.1 304 Not Modified\r\n\r\n"
				   "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}"),
			 0);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.m[0]->status, 200);
	assert_body_str(c.m[0], "");
	assert_int_equal(c.m[1]->status, 204);
	assert_body_str(c.m[1], "");
	assert_int_equal(c.m[2]->status, 304);
	assert_int_equal(c.m[3]->status, 404);
	assert_body_str(c.m[3], "{}");
	assert_true(http_stream_idle(&s));
	finish(&s, &c);
}

static const char CHUNKED[] = "HTTP/1.1 200 OK\r\n"
			      "Content-Type: application/json\r\n"
			      "Transfer-Encoding: chunked\r\n"
			      "\r\n"
			      "5\r\nhello\r\n"
			      "1;name=value\r\n \r\n"
			      "A\r\n0123456789\r\n"
			      "1b\r\nabcdefghijklmnopqrstuvwxyz!\r\n"
			      "0\r\n\r\n";
static const char CHUNKED_BODY[] = "hello 0123456789abcdefghijklmnopqrstuvwxyz!";

static void test_chunked(void **state)
{
	struct http_stream s;
	struct cap c;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, CHUNKED), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.m[0]->status, 200);
	assert_header(c.m[0], "Transfer-Encoding", "chunked");
	assert_body_str(c.m[0], CHUNKED_BODY);
	assert_true(http_stream_idle(&s));
	finish(&s, &c);
}

static void test_chunked_one_byte_at_a_time(void **state)
{
	struct http_stream s;
	struct cap c;
	size_t i, n = strlen(CHUNKED);

	(void)state;
	start(&s, &c, false, BIG_BODY);
	for (i = 0; i < n; i++) {
		assert_int_equal(feed(&s, CHUNKED + i, 1), 0);
		/* complete only with the very last byte */
		assert_int_equal(c.n, i == n - 1 ? 1 : 0);
		assert_int_equal(http_stream_idle(&s), i == n - 1);
	}
	assert_body_str(c.m[0], CHUNKED_BODY);
	finish(&s, &c);
}

static void test_chunk_boundaries_split_across_feeds(void **state)
{
	/* feed boundaries inside a chunk-size line, inside the CRLF after a chunk, inside
	 * chunk data, inside the last-chunk and trailing CRLF */
	static const char *const pieces[] = {
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1",
		"0\r",
		"\n0123456",
		"789abcdef\r",
		"\n3\r\nxyz",
		"\r",
		"\n",
		"0",
		"\r\n\r",
		"\n",
	};
	struct http_stream s;
	struct cap c;
	size_t i;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		assert_int_equal(c.n, 0);
		assert_int_equal(feeds(&s, pieces[i]), 0);
	}
	assert_int_equal(c.n, 1);
	assert_body_str(c.m[0], "0123456789abcdefxyz");
	finish(&s, &c);
}

static void test_chunked_with_trailers(void **state)
{
	struct http_stream s;
	struct cap c;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
				   "Trailer: X-A, X-B\r\n\r\n"
				   "4\r\nbody\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Next: yes\r\n\r\nnext"),
			 0);
	assert_int_equal(c.n, 2);
	assert_body_str(c.m[0], "body");
	assert_body_str(c.m[1], "next");
	assert_int_equal(c.m[1]->nhdr, 2);
	assert_header(c.m[1], "X-Next", "yes");
	assert_null(http_header(c.m[1], "X-A"));
	assert_null(http_header(c.m[1], "X-B"));
	finish(&s, &c);
}

static const char PIPELINE[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Seq: 1\r\n\r\nfirst"
			       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Seq: 2\r\n\r\n"
			       "6\r\nsecond\r\n0\r\n\r\n"
			       "HTTP/1.1 204 No Content\r\nX-Seq: 3\r\n\r\n"
			       "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n"
			       "X-Seq: 4\r\n\r\nfifth";

static void check_pipeline(const struct cap *c)
{
	assert_int_equal(c->n, 4);
	assert_header(c->m[0], "X-Seq", "1");
	assert_body_str(c->m[0], "first");
	assert_header(c->m[1], "X-Seq", "2");
	assert_body_str(c->m[1], "second");
	assert_header(c->m[2], "X-Seq", "3");
	assert_int_equal(c->m[2]->status, 204);
	assert_body_str(c->m[2], "");
	assert_header(c->m[3], "X-Seq", "4");
	assert_int_equal(c->m[3]->status, 500);
	assert_body_str(c->m[3], "fifth");
}

static void test_pipelined_in_one_feed(void **state)
{
	struct http_stream s;
	struct cap c;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, PIPELINE), 0);
	check_pipeline(&c);
	assert_true(http_stream_idle(&s));
	finish(&s, &c);

	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feed_bytes(&s, PIPELINE, strlen(PIPELINE)), 0);
	check_pipeline(&c);
	finish(&s, &c);
}

/* A response fed as prefix + suffix, at every split point, gives the same messages. */
static void check_every_split(const char *text, size_t n, bool requests, int nmsg)
{
	struct http_stream s, r;
	struct cap c, ref;
	size_t i;
	int k;

	start(&r, &ref, requests, BIG_BODY);
	assert_int_equal(feed(&r, text, n), 0);
	assert_int_equal(ref.n, nmsg);
	for (i = 0; i <= n; i++) {
		start(&s, &c, requests, BIG_BODY);
		assert_int_equal(feed(&s, text, i), 0);
		assert_int_equal(feed(&s, text + i, n - i), 0);
		assert_int_equal(c.n, nmsg);
		for (k = 0; k < nmsg; k++)
			assert_same_msg(c.m[k], ref.m[k]);
		assert_true(http_stream_idle(&s));
		finish(&s, &c);
	}
	finish(&r, &ref);
}

static void test_split_at_every_byte(void **state)
{
	static const char two[] = "HTTP/1.1 200 OK\r\n"
				  "Content-Type: application/json\r\n"
				  "X-Vault-Something: some-longer-header-value\r\n"
				  "Content-Length: 26\r\n"
				  "\r\n"
				  "{\"request_id\":\"abc-123\"}\r\n"
				  "HTTP/1.1 201 Created\r\n"
				  "Transfer-Encoding: chunked\r\n"
				  "Cache-Control: no-store\r\n"
				  "\r\n"
				  "3\r\nabc\r\n"
				  "10;ext\r\n0123456789abcdef\r\n"
				  "0\r\n\r\n";
	static const char req[] = "PUT /v1/secret/data/app?cas=1&x=%20y HTTP/1.1\r\n"
				  "Host: vault.internal:8200\r\n"
				  "X-Vault-Token: hvs.CAESIabcdefghijklmnop\r\n"
				  "Content-Length: 38\r\n"
				  "\r\n"
				  "{\"data\":{\"password\":\"s3cret-s3cret\"}}\n"
				  "GET /v1/sys/health HTTP/1.1\r\nHost: v\r\n\r\n";

	(void)state;
	check_every_split(two, strlen(two), false, 2);
	check_every_split(CHUNKED, strlen(CHUNKED), false, 1);
	check_every_split(req, strlen(req), true, 2);
}

static void test_split_at_every_pair_of_bytes(void **state)
{
	static const char text[] = "HTTP/1.1 200 OK\r\nX-A: alpha\r\nTransfer-Encoding: chunked\r\n"
				   "\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n";
	struct http_stream s;
	struct cap c;
	size_t i, j, n = strlen(text);

	(void)state;
	for (i = 0; i <= n; i++)
		for (j = i; j <= n; j++) {
			start(&s, &c, false, BIG_BODY);
			/* (no empty feeds here: test_empty_feed covers those) */
			if (i)
				assert_int_equal(feed(&s, text, i), 0);
			if (j > i)
				assert_int_equal(feed(&s, text + i, j - i), 0);
			if (n > j)
				assert_int_equal(feed(&s, text + j, n - j), 0);
			assert_int_equal(c.n, 1);
			assert_int_equal(c.m[0]->nhdr, 2);
			assert_header(c.m[0], "X-A", "alpha");
			assert_body_str(c.m[0], "abcde");
			finish(&s, &c);
		}
}

/* Feeding no bytes (an empty record) is not the end of the connection. */
static void test_empty_feed(void **state)
{
	static const char *const pieces[] = {
		"HTTP/1.1 200 OK\r\nX-A: alpha\r\nContent-", "Length: 5\r\n\r\n", "ab", "cde",
	};
	struct http_stream s;
	struct cap c;
	size_t i;

	(void)state;
	/* between messages */
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feed(&s, "", 0), 0);
	assert_true(http_stream_idle(&s));
	finish(&s, &c);

	/* inside headers and inside a Content-Length body */
	start(&s, &c, false, BIG_BODY);
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		assert_int_equal(feeds(&s, pieces[i]), 0);
		if (i + 1 < sizeof(pieces) / sizeof(pieces[0])) {
			assert_int_equal(feed(&s, "", 0), 0);
			assert_false(s.failed);
		}
	}
	assert_int_equal(c.n, 1);
	assert_body_str(c.m[0], "abcde");
	finish(&s, &c);

	/* inside a close-delimited body: must not end the message early */
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nfirst "), 0);
	assert_int_equal(feed(&s, "", 0), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(feeds(&s, "second"), 0);
	http_stream_eof(&s);
	assert_int_equal(c.n, 1);
	assert_body_str(c.m[0], "first second");
	finish(&s, &c);
}

/* ---- HEAD, keep-alive, close ---- */

static void test_head_response_skips_body(void **state)
{
	static const char text[] = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n"
				   "Content-Type: application/json\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct http_stream s;
	struct cap c;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	c.heads = 2;	/* the first two responses answer HEAD requests */
	assert_int_equal(feeds(&s, text), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.skip_calls, 3);
	assert_header(c.m[0], "Content-Length", "1234");
	assert_body_str(c.m[0], "");
	assert_header(c.m[1], "Transfer-Encoding", "chunked");
	assert_body_str(c.m[1], "");
	assert_body_str(c.m[2], "ok");
	assert_true(http_stream_idle(&s));
	finish(&s, &c);

	/* without the callback saying so, the next response is taken as this one's body */
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, text), 0);
	assert_int_equal(c.n, 0);
	assert_false(http_stream_idle(&s));
	finish(&s, &c);
}

static void test_skip_body_not_asked_for_requests(void **state)
{
	struct http_stream s;
	struct cap c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.heads = 5;
	http_stream_init(&s, true, BIG_BODY, on_msg, skip_body, &c);
	assert_int_equal(feeds(&s, "POST /v1/x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.skip_calls, 0);
	assert_body_str(c.m[0], "abc");
	finish(&s, &c);
}

static void test_keep_alive(void **state)
{
	static const char one[] = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
				  "Content-Length: 3\r\n\r\none";
	struct http_stream s;
	struct cap c;
	int i;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	for (i = 0; i < 10; i++) {
		assert_true(http_stream_idle(&s));
		assert_int_equal(feeds(&s, one), 0);
		assert_int_equal(c.n, i + 1);
		assert_int_equal(c.m[i]->nhdr, 2);
		assert_header(c.m[i], "Connection", "keep-alive");
		assert_body_str(c.m[i], "one");
	}
	/* stray CRLF between messages is tolerated and does not start a message */
	assert_int_equal(feeds(&s, "\r\n"), 0);
	assert_true(http_stream_idle(&s));
	assert_int_equal(feeds(&s, one), 0);
	assert_int_equal(c.n, 11);
	finish(&s, &c);
}

static void test_eof_close_delimited(void **state)
{
	struct http_stream s;
	struct cap c;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
				   "Content-Type: application/json\r\n\r\n{\"a\":"),
			 0);
	assert_int_equal(feeds(&s, "\"bcdefghijk\"}"), 0);
	assert_int_equal(c.n, 0);
	assert_false(http_stream_idle(&s));
	http_stream_eof(&s);
	assert_int_equal(c.n, 1);
	assert_body_str(c.m[0], "{\"a\":\"bcdefghijk\"}");
	assert_true(http_stream_idle(&s));
	finish(&s, &c);

	/* HTTP/1.0, no Content-Length */
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.0 200 OK\r\n\r\nuntil close"), 0);
	assert_int_equal(c.n, 0);
	http_stream_eof(&s);
	assert_int_equal(c.n, 1);
	assert_body_str(c.m[0], "until close");
	finish(&s, &c);
}

static void test_eof_mid_message(void **state)
{
	struct http_stream s;
	struct cap c;

	(void)state;
	/* the body is short of its Content-Length: no message, the stream is not idle */
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345"), 0);
	http_stream_eof(&s);
	assert_int_equal(c.n, 0);
	assert_false(http_stream_idle(&s));
	finish(&s, &c);

	/* mid-headers */
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nContent-Le"), 0);
	http_stream_eof(&s);
	assert_int_equal(c.n, 0);
	assert_false(http_stream_idle(&s));
	finish(&s, &c);

	/* between messages: nothing happens */
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"), 0);
	http_stream_eof(&s);
	assert_int_equal(c.n, 1);
	assert_true(http_stream_idle(&s));
	finish(&s, &c);
}

static void test_idle(void **state)
{
	struct http_stream s;
	struct cap c;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	assert_true(http_stream_idle(&s));
	assert_int_equal(feeds(&s, "HTT"), 0);
	assert_false(http_stream_idle(&s));
	assert_int_equal(feeds(&s, "P/1.1 200 OK\r\nContent-Length: 4\r\n"), 0);
	assert_false(http_stream_idle(&s));
	assert_int_equal(feeds(&s, "\r\n"), 0);		/* headers done, body to come */
	assert_false(http_stream_idle(&s));
	assert_int_equal(feeds(&s, "ab"), 0);
	assert_false(http_stream_idle(&s));
	assert_int_equal(feeds(&s, "cd"), 0);
	assert_true(http_stream_idle(&s));
	assert_int_equal(c.n, 1);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\n"), 0);
	assert_false(http_stream_idle(&s));
	/* a broken stream has nothing half-parsed any more */
	assert_int_equal(feeds(&s, "\x01\x02garbage: \x7f\r\n\r\n"), -1);
	assert_true(http_stream_idle(&s));
	assert_int_equal(c.n, 1);
	finish(&s, &c);
}

/* ---- headers ---- */

static void test_headers_split_across_feeds(void **state)
{
	static const char *const pieces[] = {
		"HTTP/1.1 200 OK\r\nCont", "ent-", "Type", ": appl", "ication/", "json\r",
		"\nX-Vault-", "Header:", " ", "va", "l", "ue\r\n", "Content-Length", ":",
		" 2\r\n", "\r", "\n", "o", "k",
	};
	struct http_stream s;
	struct cap c;
	size_t i;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		assert_int_equal(feeds(&s, pieces[i]), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.m[0]->nhdr, 3);
	assert_string_equal(c.m[0]->hdr[0].name, "Content-Type");
	assert_string_equal(c.m[0]->hdr[0].value, "application/json");
	assert_string_equal(c.m[0]->hdr[1].name, "X-Vault-Header");
	assert_string_equal(c.m[0]->hdr[1].value, "value");
	assert_string_equal(c.m[0]->hdr[2].name, "Content-Length");
	assert_string_equal(c.m[0]->hdr[2].value, "2");
	assert_body_str(c.m[0], "ok");
	finish(&s, &c);
}

static void test_empty_header_value(void **state)
{
	struct http_stream s;
	struct cap c;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Next: n\r\n"
				   "X-Empty-Too: \r\nContent-Length: 1\r\n\r\n1"),
			 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.m[0]->nhdr, 4);
	assert_header(c.m[0], "X-Empty", "");
	assert_header(c.m[0], "X-Next", "n");
	assert_header(c.m[0], "X-Empty-Too", "");
	assert_header(c.m[0], "Content-Length", "1");
	finish(&s, &c);
}

static void test_header_lookup_case_insensitive(void **state)
{
	struct http_stream s;
	struct cap c;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\ncontent-encoding: identity\r\n"
				   "X-VAULT-TOKEN: tok\r\nx-first: 1\r\nX-First: 2\r\n"
				   "Content-Length: 0\r\n\r\n"),
			 0);
	assert_int_equal(c.n, 1);
	assert_header(c.m[0], "Content-Encoding", "identity");
	assert_header(c.m[0], "CONTENT-ENCODING", "identity");
	assert_header(c.m[0], "x-vault-token", "tok");
	assert_header(c.m[0], "X-Vault-Token", "tok");
	assert_header(c.m[0], "X-FIRST", "1");	/* the first of duplicates */
	assert_null(http_header(c.m[0], "X-Missing"));
	assert_null(http_header(c.m[0], "X-Vault-Toke"));
	assert_null(http_header(c.m[0], "X-Vault-Token2"));
	finish(&s, &c);
}

static void test_too_many_headers(void **state)
{
	char *text = malloc(16384), *p = text;
	struct http_stream s;
	struct cap c;
	int i;

	(void)state;
	assert_non_null(text);
	p += sprintf(p, "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < 100; i++)
		p += sprintf(p, "X-H-%d: v%d\r\n", i, i);
	/* framing comes after the 64th header: the parser must still honour it */
	p += sprintf(p, "Content-Length: 4\r\n\r\nbody"
			"HTTP/1.1 200 OK\r\nX-Only: 1\r\nContent-Length: 1\r\n\r\nz");
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feed(&s, text, p - text), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.m[0]->nhdr, HTTP_MAX_HEADERS);
	for (i = 0; i < HTTP_MAX_HEADERS; i++) {
		char name[16], value[16];

		snprintf(name, sizeof(name), "X-H-%d", i);
		snprintf(value, sizeof(value), "v%d", i);
		assert_string_equal(c.m[0]->hdr[i].name, name);
		assert_string_equal(c.m[0]->hdr[i].value, value);
	}
	assert_null(http_header(c.m[0], "X-H-64"));
	assert_body_str(c.m[0], "body");
	assert_int_equal(c.m[1]->nhdr, 2);
	assert_header(c.m[1], "X-Only", "1");
	assert_body_str(c.m[1], "z");
	finish(&s, &c);
	free(text);
}

static void test_headers_too_large(void **state)
{
	size_t big = HTTP_MAX_HEADER_BYTES + 100, i;
	char *v = malloc(big + 1);
	struct http_stream s;
	struct cap c;

	(void)state;
	assert_non_null(v);
	memset(v, 'a', big);
	v[big] = 0;

	/* one huge value, in 1 KiB feeds */
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nX-Big: "), 0);
	for (i = 0; i < big; i += 1024)
		if (feed(&s, v + i, big - i < 1024 ? big - i : 1024))
			break;
	assert_true(i < big);
	assert_true(s.failed);
	assert_non_null(strstr(s.error, "headers too large"));
	assert_int_equal(feeds(&s, "\r\nContent-Length: 0\r\n\r\n"), -1);
	assert_int_equal(c.n, 0);
	finish(&s, &c);

	/* many small headers adding up (past HTTP_MAX_HEADERS too) */
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\n"), 0);
	for (i = 0; i < 400; i++) {
		char line[300];

		snprintf(line, sizeof(line), "X-%04zu: %.*s\r\n", i, 200, v);
		if (feeds(&s, line))
			break;
	}
	assert_true(i < 400);
	assert_non_null(strstr(s.error, "headers too large"));
	finish(&s, &c);

	/* just under the limit is fine */
	v[60000] = 0;
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nX-Big: "), 0);
	assert_int_equal(feeds(&s, v), 0);
	assert_int_equal(feeds(&s, "\r\nContent-Length: 2\r\n\r\nok"), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(strlen(http_header(c.m[0], "X-Big")), 60000);
	assert_body_str(c.m[0], "ok");
	finish(&s, &c);
	free(v);
}

/* ---- broken input ---- */

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
		"GARBAGE\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nX-Bad\x01Name: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
	};
	struct http_stream s;
	struct cap c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		start(&s, &c, false, BIG_BODY);
		assert_int_equal(feeds(&s, bad[i]), -1);
		assert_true(s.failed);
		assert_true(s.error[0] != 0);
		assert_non_null(strstr(s.error, "malformed HTTP"));
		/* later bytes are ignored, even a valid message */
		assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"), -1);
		assert_int_equal(c.n, 0);
		assert_true(http_stream_idle(&s));
		http_stream_eof(&s);
		assert_int_equal(c.n, 0);
		finish(&s, &c);
	}

	/* a good message, then a bad one: the first is delivered, the error stays */
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"), 0);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\n\x01\r\n"), -1);
	assert_int_equal(feeds(&s, "\r\n"), -1);
	assert_int_equal(c.n, 1);
	assert_body_str(c.m[0], "x");
	finish(&s, &c);

	/* a request stream given a response */
	start(&s, &c, true, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\n\r\n"), -1);
	assert_int_equal(c.n, 0);
	finish(&s, &c);
}

static void test_upgrade_stops_the_stream(void **state)
{
	struct http_stream s;
	struct cap c;

	(void)state;
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				   "Connection: Upgrade\r\n\r\n\x81\x05hello"),
			 -1);
	assert_true(s.failed);
	assert_non_null(strstr(s.error, "upgraded"));
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), -1);
	assert_true(c.n <= 1);	/* the 101 itself may be delivered, nothing after it */
	if (c.n)
		assert_int_equal(c.m[0]->status, 101);
	finish(&s, &c);
}

/* ---- body limit ---- */

static void test_body_over_limit(void **state)
{
	uint8_t body[1000];
	char hdr[128];
	struct http_stream s;
	struct cap c;
	size_t i;
	int pass;

	(void)state;
	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 7 + 3);
	for (pass = 0; pass < 2; pass++) {
		start(&s, &c, false, 100);
		snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
			 sizeof(body));
		assert_int_equal(feeds(&s, hdr), 0);
		if (pass == 0)
			assert_int_equal(feed(&s, body, sizeof(body)), 0);
		else
			assert_int_equal(feed_bytes(&s, body, sizeof(body)), 0);
		/* the parser kept in step: the next message parses */
		assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), 0);
		assert_int_equal(c.n, 2);
		assert_true(c.m[0]->body_over_limit);
		assert_int_equal(c.m[0]->body.len, 0);
		assert_int_equal(c.m[0]->body_len, sizeof(body));
		assert_int_equal(c.m[0]->head_len, sizeof(c.m[0]->head));
		assert_memory_equal(c.m[0]->head, body, sizeof(c.m[0]->head));
		assert_body_str(c.m[1], "hello");
		assert_int_equal(c.m[1]->head_len, 5);
		finish(&s, &c);
	}

	/* chunked over the limit, in chunks that straddle it */
	start(&s, &c, false, 10);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "8\r\n01234567\r\n8\r\n89abcdef\r\n2\r\nxy\r\n0\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"),
			 0);
	assert_int_equal(c.n, 2);
	assert_true(c.m[0]->body_over_limit);
	assert_int_equal(c.m[0]->body.len, 0);
	assert_int_equal(c.m[0]->body_len, 18);
	assert_int_equal(c.m[0]->head_len, 18);
	assert_memory_equal(c.m[0]->head, "0123456789abcdefxy", 18);
	/* exactly max_body is not over */
	assert_body_str(c.m[1], "0123456789");
	finish(&s, &c);
}

/* ---- requests ---- */

static void test_requests(void **state)
{
	static const char text[] = "POST /v1/auth/approle/login?foo=bar&x=1 HTTP/1.1\r\n"
				   "Host: vault:8200\r\n"
				   "X-Vault-Request: true\r\n"
				   "Content-Type: application/json\r\n"
				   "Content-Length: 39\r\n"
				   "\r\n"
				   "{\"role_id\":\"r\",\"secret_id\":\"s3cr3t-id\"}"
				   "GET /v1/secret/data/app?version=2 HTTP/1.1\r\n"
				   "Host: vault:8200\r\n\r\n"
				   "PUT /v1/sys/wrapping/unwrap HTTP/1.1\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n"
				   "3\r\n{\"t\r\n4\r\n\":1}\r\n0\r\n\r\n"
				   "HEAD /v1/sys/health HTTP/1.1\r\n\r\n";
	struct http_stream s;
	struct cap c;
	int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		start(&s, &c, true, BIG_BODY);
		if (pass == 0)
			assert_int_equal(feeds(&s, text), 0);
		else
			assert_int_equal(feed_bytes(&s, text, strlen(text)), 0);
		assert_int_equal(c.n, 4);
		assert_true(c.m[0]->is_request);
		assert_string_equal(c.m[0]->method, "POST");
		assert_string_equal(c.m[0]->url, "/v1/auth/approle/login?foo=bar&x=1");
		assert_header(c.m[0], "X-Vault-Request", "true");
		assert_body_str(c.m[0], "{\"role_id\":\"r\",\"secret_id\":\"s3cr3t-id\"}");
		assert_string_equal(c.m[1]->method, "GET");
		assert_string_equal(c.m[1]->url, "/v1/secret/data/app?version=2");
		assert_body_str(c.m[1], "");
		assert_string_equal(c.m[2]->method, "PUT");
		assert_string_equal(c.m[2]->url, "/v1/sys/wrapping/unwrap");
		assert_body_str(c.m[2], "{\"t\":1}");
		assert_string_equal(c.m[3]->method, "HEAD");
		assert_string_equal(c.m[3]->url, "/v1/sys/health");
		assert_true(http_stream_idle(&s));
		finish(&s, &c);
	}
}

/* Vault's own verb (curl -X LIST, hvac's list()): the stream must survive it. */
static void test_list_method(void **state)
{
	static const char text[] = "LIST /v1/secret/metadata/app HTTP/1.1\r\nHost: v\r\n"
				   "X-Vault-Token: hvs.abcdefghijklmnop\r\n\r\n"
				   "GET /v1/secret/data/app HTTP/1.1\r\nHost: v\r\n\r\n";
	struct http_stream s;
	struct cap c;

	(void)state;
	start(&s, &c, true, BIG_BODY);
	assert_int_equal(feeds(&s, text), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.m[0]->method, "LIST");
	assert_string_equal(c.m[0]->url, "/v1/secret/metadata/app");
	assert_string_equal(c.m[1]->method, "GET");
	finish(&s, &c);
}

static void test_request_line_too_long(void **state)
{
	size_t n = HTTP_MAX_HEADER_BYTES + 10;
	char *u = malloc(n + 1);
	struct http_stream s;
	struct cap c;

	(void)state;
	assert_non_null(u);
	memset(u, 'a', n);
	u[n] = 0;
	start(&s, &c, true, BIG_BODY);
	assert_int_equal(feeds(&s, "GET /"), 0);
	assert_int_equal(feeds(&s, u), -1);
	assert_true(s.failed);
	assert_int_equal(c.n, 0);
	finish(&s, &c);
	free(u);
}

/* ---- http_decode_body ---- */

static void check_decodes(const char *encoding, int wbits, const void *plain, size_t n)
{
	struct http_msg *m;
	struct secbuf out;
	uint8_t *z;
	size_t zn = zcompress(plain, n, wbits, &z);
	char err[160];

	m = msg_with(encoding, z, zn);
	assert_int_equal(decode(m, BIG_BODY, &out, err, sizeof(err)), 0);
	assert_int_equal(out.len, n);
	if (n)
		assert_memory_equal(out.data, plain, n);
	secbuf_free(&out);
	http_msg_free(m);
	free(z);
}

static void test_decode_identity(void **state)
{
	struct http_msg *m;
	struct secbuf out;
	char err[160];

	(void)state;
	m = msg_with(NULL, JSON_BODY, strlen(JSON_BODY));
	assert_int_equal(decode(m, BIG_BODY, &out, err, sizeof(err)), 0);
	assert_int_equal(out.len, strlen(JSON_BODY));
	assert_memory_equal(out.data, JSON_BODY, out.len);
	secbuf_free(&out);
	http_msg_free(m);

	m = msg_with("Identity", "abc", 3);
	assert_int_equal(decode(m, BIG_BODY, &out, err, sizeof(err)), 0);
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.data, "abc", 3);
	secbuf_free(&out);
	http_msg_free(m);

	m = msg_with(NULL, NULL, 0);
	assert_int_equal(decode(m, BIG_BODY, &out, err, sizeof(err)), 0);
	assert_int_equal(out.len, 0);
	secbuf_free(&out);
	http_msg_free(m);

	m = msg_with("br", "abc", 3);
	assert_int_equal(decode(m, BIG_BODY, &out, err, sizeof(err)), -1);
	assert_true(err[0] != 0);
	assert_int_equal(out.len, 0);
	secbuf_free(&out);
	http_msg_free(m);
}

/* The header promises "at most max bytes" whatever the encoding. */
static void test_decode_identity_respects_max(void **state)
{
	struct http_msg *m = msg_with(NULL, JSON_BODY, strlen(JSON_BODY));
	struct secbuf out;
	char err[160];
	int rc;

	(void)state;
	rc = decode(m, 16, &out, err, sizeof(err));
	assert_true(rc == -1 || out.len <= 16);
	secbuf_free(&out);
	http_msg_free(m);
}

static void test_decode_gzip_deflate(void **state)
{
	uint8_t *big = malloc(200000);
	size_t i;

	(void)state;
	assert_non_null(big);
	for (i = 0; i < 200000; i++)	/* compressible, but not trivially */
		big[i] = (uint8_t)("abcdefgh"[(i * 13 + i / 7) % 8] ^ (i % 251 == 0));
	check_decodes("gzip", 16 + MAX_WBITS, JSON_BODY, strlen(JSON_BODY));
	check_decodes("x-gzip", 16 + MAX_WBITS, JSON_BODY, strlen(JSON_BODY));
	check_decodes("GZIP", 16 + MAX_WBITS, JSON_BODY, strlen(JSON_BODY));
	check_decodes("deflate", MAX_WBITS, JSON_BODY, strlen(JSON_BODY));
	check_decodes("deflate", -MAX_WBITS, JSON_BODY, strlen(JSON_BODY));
	check_decodes("Deflate", -MAX_WBITS, JSON_BODY, strlen(JSON_BODY));
	/* more than one inflate output chunk */
	check_decodes("gzip", 16 + MAX_WBITS, big, 200000);
	check_decodes("deflate", MAX_WBITS, big, 200000);
	check_decodes("deflate", -MAX_WBITS, big, 200000);
	/* an exact multiple of 16 KiB */
	check_decodes("gzip", 16 + MAX_WBITS, big, 16384 * 3);
	check_decodes("gzip", 16 + MAX_WBITS, "", 0);
	free(big);
}

static void test_gzip_through_stream(void **state)
{
	uint8_t *z;
	size_t zn = zcompress(JSON_BODY, strlen(JSON_BODY), 16 + MAX_WBITS, &z), i;
	char line[64];
	struct http_stream s;
	struct cap c;
	struct secbuf out;
	char err[160];

	(void)state;
	start(&s, &c, false, BIG_BODY);
	assert_int_equal(feeds(&s, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n"),
			 0);
	for (i = 0; i < zn; i += 7) {	/* 7-byte chunks, fed one byte at a time */
		size_t k = zn - i < 7 ? zn - i : 7;

		snprintf(line, sizeof(line), "%zx\r\n", k);
		assert_int_equal(feed_bytes(&s, line, strlen(line)), 0);
		assert_int_equal(feed_bytes(&s, z + i, k), 0);
		assert_int_equal(feed_bytes(&s, "\r\n", 2), 0);
	}
	assert_int_equal(feeds(&s, "0\r\n\r\n"), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(decode(c.m[0], BIG_BODY, &out, err, sizeof(err)), 0);
	assert_int_equal(out.len, strlen(JSON_BODY));
	assert_memory_equal(out.data, JSON_BODY, out.len);
	secbuf_free(&out);
	finish(&s, &c);
	free(z);
}

static void test_decode_truncated(void **state)
{
	static const struct {
		const char *enc;
		int wbits;
	} kinds[] = { { "gzip", 16 + MAX_WBITS }, { "deflate", MAX_WBITS }, { "deflate", -MAX_WBITS } };
	size_t k, cut;

	(void)state;
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		uint8_t *z;
		size_t zn = zcompress(JSON_BODY, strlen(JSON_BODY), kinds[k].wbits, &z);

		for (cut = 0; cut < zn; cut++) {
			struct http_msg *m = msg_with(kinds[k].enc, z, cut);
			struct secbuf out;
			char err[160];

			assert_int_equal(decode(m, BIG_BODY, &out, err, sizeof(err)), -1);
			assert_true(err[0] != 0);
			assert_int_equal(out.len, 0);
			secbuf_free(&out);
			http_msg_free(m);
		}
		free(z);
	}
}

static void test_decode_corrupt(void **state)
{
	uint8_t *z, *bad;
	size_t zn = zcompress(JSON_BODY, strlen(JSON_BODY), 16 + MAX_WBITS, &z), i;
	struct http_msg *m;
	struct secbuf out;
	char err[160];
	int bit;

	(void)state;
	bad = malloc(zn);
	assert_non_null(bad);

	/* bad magic, bad CRC, bad length: errors */
	{
		size_t pos[] = { 0, 1, zn - 8, zn - 5, zn - 4, zn - 1 };

		for (i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
			memcpy(bad, z, zn);
			bad[pos[i]] ^= 0x55;
			m = msg_with("gzip", bad, zn);
			assert_int_equal(decode(m, BIG_BODY, &out, err, sizeof(err)), -1);
			assert_true(err[0] != 0);
			assert_int_equal(out.len, 0);
			secbuf_free(&out);
			http_msg_free(m);
		}
	}
	/* any flipped bit: an error, or (bits zlib ignores) the very same plaintext */
	for (i = 0; i < zn; i++)
		for (bit = 0; bit < 8; bit++) {
			int rc;

			memcpy(bad, z, zn);
			bad[i] ^= (uint8_t)(1 << bit);
			m = msg_with("gzip", bad, zn);
			rc = decode(m, BIG_BODY, &out, err, sizeof(err));
			if (rc == 0) {
				assert_int_equal(out.len, strlen(JSON_BODY));
				assert_memory_equal(out.data, JSON_BODY, out.len);
			} else {
				assert_int_equal(rc, -1);
				assert_int_equal(out.len, 0);
			}
			secbuf_free(&out);
			http_msg_free(m);
		}
	/* not compressed at all */
	m = msg_with("gzip", JSON_BODY, strlen(JSON_BODY));
	assert_int_equal(decode(m, BIG_BODY, &out, err, sizeof(err)), -1);
	secbuf_free(&out);
	http_msg_free(m);
	m = msg_with("deflate", JSON_BODY, strlen(JSON_BODY));
	assert_int_equal(decode(m, BIG_BODY, &out, err, sizeof(err)), -1);
	assert_int_equal(out.len, 0);
	secbuf_free(&out);
	http_msg_free(m);
	free(bad);
	free(z);
}

static void check_bomb(const char *enc, int wbits, size_t plain, size_t max, int want,
		       bool want_limit_msg)
{
	uint8_t *zeros = calloc(1, plain), *z;
	size_t zn;
	struct http_msg *m;
	struct secbuf out;
	char err[160];

	assert_non_null(zeros);
	zn = zcompress(zeros, plain, wbits, &z);
	free(zeros);
	assert_true(zn < plain / 100);
	m = msg_with(enc, z, zn);
	assert_int_equal(decode(m, max, &out, err, sizeof(err)), want);
	if (want) {
		assert_int_equal(out.len, 0);
		assert_true(err[0] != 0);
		if (want_limit_msg)
			assert_non_null(strstr(err, "exceeds"));
	} else {
		assert_int_equal(out.len, plain);
	}
	secbuf_free(&out);
	http_msg_free(m);
	free(z);
}

static void test_decompression_bomb(void **state)
{
	(void)state;
	check_bomb("gzip", 16 + MAX_WBITS, 16 << 20, 1 << 20, -1, true);
	check_bomb("deflate", MAX_WBITS, 16 << 20, 1 << 20, -1, false);
	check_bomb("deflate", -MAX_WBITS, 16 << 20, 1 << 20, -1, true);
	/* the limit itself is allowed, one byte over is not */
	check_bomb("gzip", 16 + MAX_WBITS, 1 << 20, 1 << 20, 0, false);
	check_bomb("gzip", 16 + MAX_WBITS, (1 << 20) + 1, 1 << 20, -1, true);
	check_bomb("gzip", 16 + MAX_WBITS, 100000, 99999, -1, true);
}

/* A zlib-wrapped bomb should be reported as over the limit, not as corrupt. */
static void test_deflate_bomb_reports_limit(void **state)
{
	(void)state;
	check_bomb("deflate", MAX_WBITS, 16 << 20, 1 << 20, -1, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_zero_length_and_no_body_statuses),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_chunked_one_byte_at_a_time),
		cmocka_unit_test(test_chunk_boundaries_split_across_feeds),
		cmocka_unit_test(test_chunked_with_trailers),
		cmocka_unit_test(test_pipelined_in_one_feed),
		cmocka_unit_test(test_split_at_every_byte),
		cmocka_unit_test(test_split_at_every_pair_of_bytes),
		cmocka_unit_test(test_empty_feed),
		cmocka_unit_test(test_head_response_skips_body),
		cmocka_unit_test(test_skip_body_not_asked_for_requests),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_eof_close_delimited),
		cmocka_unit_test(test_eof_mid_message),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_headers_split_across_feeds),
		cmocka_unit_test(test_empty_header_value),
		cmocka_unit_test(test_header_lookup_case_insensitive),
		cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_headers_too_large),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_upgrade_stops_the_stream),
		cmocka_unit_test(test_body_over_limit),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_list_method),
		cmocka_unit_test(test_request_line_too_long),
		cmocka_unit_test(test_decode_identity),
		cmocka_unit_test(test_decode_identity_respects_max),
		cmocka_unit_test(test_decode_gzip_deflate),
		cmocka_unit_test(test_gzip_through_stream),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_corrupt),
		cmocka_unit_test(test_decompression_bomb),
		cmocka_unit_test(test_deflate_bomb_reports_limit),
	};

	return cmocka_run_group_tests_name("learn_http", tests, NULL, NULL);
}
