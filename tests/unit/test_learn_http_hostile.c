// SPDX-License-Identifier: GPL-2.0
/*
 * The learner's HTTP/1.1 stage, hostile input: http_stream_* given too many or too large
 * headers, malformed messages, a connection upgraded to another protocol, bodies over the
 * limit and a request line too long: it fails or keeps in step, never delivers a broken
 * message.
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

/* ---- headers ---- */

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_headers_too_large),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_upgrade_stops_the_stream),
		cmocka_unit_test(test_body_over_limit),
		cmocka_unit_test(test_request_line_too_long),
	};

	return cmocka_run_group_tests_name("learn_http_hostile", tests, NULL, NULL);
}
