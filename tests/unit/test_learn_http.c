// SPDX-License-Identifier: GPL-2.0
/*
 * The learner's HTTP/1.1 stage, well-formed input: http_stream_* framing across arbitrary
 * feed boundaries (Content-Length, chunked, trailers), pipelining, HEAD, keep-alive,
 * close-delimited bodies, end of stream, headers, requests. Limits and broken input are in
 * test_learn_http_hostile.c, http_decode_body in test_learn_http_decode.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/http.h"
#include "test_learn_http_util.h"

/* ---- helpers ---- */

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
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_list_method),
	};

	return cmocka_run_group_tests_name("learn_http", tests, NULL, NULL);
}
