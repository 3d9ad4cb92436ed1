// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP/2 learning (user/learn/h2.c): requests and responses come out of frames however the
 * bytes are cut, header blocks are decoded with each direction's own HPACK table (blocks
 * made by nghttp2's encoder, entries reused across streams), CONTINUATION, padding and
 * SETTINGS_HEADER_TABLE_SIZE are followed, and protocol errors fail the connection with a
 * reason instead of being learned.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/h2.h"

enum { DATA = 0, HEADERS = 1, SETTINGS = 4, CONTINUATION = 9 };
enum { END_STREAM = 0x1, END_HEADERS = 0x4, PADDED = 0x8 };

struct got {
	struct http_msg *req[4], *resp[4];
	uint32_t req_id[4], resp_id[4];
	int nreq, nresp;
};

static void on_req(void *ctx, uint32_t stream, struct http_msg *m)
{
	struct got *g = ctx;

	assert_true(g->nreq < 4);
	g->req_id[g->nreq] = stream;
	g->req[g->nreq++] = m;
}

static void on_resp(void *ctx, uint32_t stream, struct http_msg *m)
{
	struct got *g = ctx;

	assert_true(g->nresp < 4);
	g->resp_id[g->nresp] = stream;
	g->resp[g->nresp++] = m;
}

static void got_free(struct got *g)
{
	int i;

	for (i = 0; i < g->nreq; i++)
		http_msg_free(g->req[i]);
	for (i = 0; i < g->nresp; i++)
		http_msg_free(g->resp[i]);
}

struct wire {
	uint8_t b[8192];
	size_t n;
};

static void frame(struct wire *w, uint8_t type, uint8_t flags, uint32_t id, const void *p,
		  size_t len)
{
	uint8_t h[9] = { len >> 16, len >> 8, len, type, flags, id >> 24, id >> 16, id >> 8, id };

	assert_true(w->n + 9 + len <= sizeof(w->b));
	memcpy(w->b + w->n, h, 9);
	memcpy(w->b + w->n + 9, p, len);
	w->n += 9 + len;
}

/* One header block from nghttp2's own encoder (its table carries over between calls). */
static size_t block(nghttp2_hd_deflater *hd, uint8_t *out, size_t cap, const char *const *nv)
{
	nghttp2_nv v[8];
	size_t n = 0;
	ssize_t len;

	for (; nv[2 * n]; n++)
		v[n] = (nghttp2_nv){ (uint8_t *)nv[2 * n], (uint8_t *)nv[2 * n + 1],
				     strlen(nv[2 * n]), strlen(nv[2 * n + 1]), NGHTTP2_NV_FLAG_NONE };
	len = nghttp2_hd_deflate_hd(hd, out, cap, v, n);
	assert_true(len > 0);
	return len;
}

static const char *const req_nv[] = { ":method", "GET", ":scheme", "https", ":path",
				      "/v1/secret/data/app", ":authority", "vault:8200",
				      "x-vault-token", "hvs.CAESIExampleTokenValue0123", NULL };
static const char *const resp_nv[] = { ":status", "200", "content-type", "application/json",
				       NULL };
static const char body[] = "{\"request_id\":\"r-1\",\"data\":{\"data\":{\"k\":\"v\"}}}";

/* Both sides of two requests on streams 1 and 3; the second blocks reuse the tables. */
static void exchange(struct wire *cli, struct wire *srv, bool split_continuation)
{
	nghttp2_hd_deflater *c, *s;
	uint8_t hb[512];
	size_t n;
	uint32_t id;

	assert_int_equal(nghttp2_hd_deflate_new(&c, 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&s, 4096), 0);
	memcpy(cli->b, H2_PREFACE, H2_PREFACE_LEN);
	cli->n = H2_PREFACE_LEN;
	frame(cli, SETTINGS, 0, 0, "", 0);
	frame(srv, SETTINGS, 0, 0, "", 0);
	for (id = 1; id <= 3; id += 2) {
		frame(cli, HEADERS, END_HEADERS | END_STREAM, id, hb,
		      block(c, hb, sizeof(hb), req_nv));
		n = block(s, hb, sizeof(hb), resp_nv);
		if (split_continuation && n > 1) {
			frame(srv, HEADERS, 0, id, hb, 1);
			frame(srv, CONTINUATION, END_HEADERS, id, hb + 1, n - 1);
		} else {
			frame(srv, HEADERS, END_HEADERS, id, hb, n);
		}
		frame(srv, DATA, 0, id, body, 10);
		frame(srv, DATA, END_STREAM, id, body + 10, strlen(body) - 10);
	}
	nghttp2_hd_deflate_del(c);
	nghttp2_hd_deflate_del(s);
}

static void check_exchange(struct got *g)
{
	int i;

	assert_int_equal(g->nreq, 2);
	assert_int_equal(g->nresp, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(g->req_id[i], 1 + 2 * i);
		assert_int_equal(g->resp_id[i], 1 + 2 * i);
		assert_string_equal(http_header(g->req[i], "x-vault-token"),
				    "hvs.CAESIExampleTokenValue0123");
		assert_int_equal(g->resp[i]->status, 200);
		assert_string_equal(http_header(g->resp[i], "content-type"), "application/json");
		assert_int_equal(g->resp[i]->body.len, strlen(body));
		assert_memory_equal(g->resp[i]->body.data, body, strlen(body));
	}
}

static void feed_in_pieces(struct h2_conn *h, const struct wire *cli, const struct wire *srv,
			   size_t piece)
{
	size_t i;

	for (i = 0; i < cli->n || i < srv->n; i += piece) {
		if (i < cli->n)
			assert_int_equal(h2_feed(h, false, cli->b + i,
						 piece < cli->n - i ? piece : cli->n - i), 0);
		if (i < srv->n)
			assert_int_equal(h2_feed(h, true, srv->b + i,
						 piece < srv->n - i ? piece : srv->n - i), 0);
	}
}

static void test_any_cut(void **state)
{
	static const size_t pieces[] = { 1, 2, 7, 9, 64, 8192 };
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		struct wire cli = { 0 }, srv = { 0 };
		struct got g = { 0 };
		struct h2_conn h;

		exchange(&cli, &srv, k % 2);
		assert_int_equal(h2_init(&h, 1 << 20, on_req, on_resp, &g), 0);
		feed_in_pieces(&h, &cli, &srv, pieces[k]);
		check_exchange(&g);
		assert_true(h2_idle(&h));
		h2_free(&h);
		got_free(&g);
	}
}

static void test_padding_and_body_limit(void **state)
{
	static const char *const nv[] = { ":status", "200", NULL };
	struct wire srv = { 0 };
	nghttp2_hd_deflater *s;
	uint8_t hb[256], padded[300];
	struct got g = { 0 };
	struct h2_conn h;
	size_t n;

	(void)state;
	assert_int_equal(nghttp2_hd_deflate_new(&s, 4096), 0);
	n = block(s, hb, sizeof(hb), nv);
	padded[0] = 5;	/* pad length, then the block, then 5 bytes of padding */
	memcpy(padded + 1, hb, n);
	memset(padded + 1 + n, 0, 5);
	frame(&srv, HEADERS, END_HEADERS | PADDED, 1, padded, n + 6);
	frame(&srv, DATA, END_STREAM, 1, body, strlen(body));
	assert_int_equal(h2_init(&h, 16, on_req, on_resp, &g), 0);
	assert_int_equal(h2_feed(&h, true, srv.b, srv.n), 0);
	assert_int_equal(g.nresp, 1);
	assert_int_equal(g.resp[0]->status, 200);
	assert_true(g.resp[0]->body_over_limit);	/* over max_body: counted, not kept */
	assert_int_equal(g.resp[0]->body.len, 0);
	assert_int_equal(g.resp[0]->body_len, strlen(body));
	h2_free(&h);
	got_free(&g);
	nghttp2_hd_deflate_del(s);
}

static void expect_failure(const struct wire *w, bool from_server, const char *why)
{
	struct got g = { 0 };
	struct h2_conn h;

	assert_int_equal(h2_init(&h, 1 << 20, on_req, on_resp, &g), 0);
	assert_int_equal(h2_feed(&h, from_server, w->b, w->n), -1);
	assert_true(h.failed);
	assert_non_null(strstr(h.error, why));
	assert_int_equal(h2_feed(&h, from_server, w->b, 1), -1);	/* stays failed */
	assert_int_equal(g.nreq + g.nresp, 0);
	h2_free(&h);
}

static void test_protocol_errors(void **state)
{
	struct wire w = { 0 };

	(void)state;
	frame(&w, HEADERS, END_HEADERS | END_STREAM, 0, "\x88", 1);
	expect_failure(&w, true, "stream 0");

	w.n = 0;
	frame(&w, HEADERS, 0, 1, "\x88", 1);
	frame(&w, DATA, END_STREAM, 1, "x", 1);
	expect_failure(&w, true, "interrupted");

	w.n = 0;
	frame(&w, CONTINUATION, END_HEADERS, 1, "\x88", 1);
	expect_failure(&w, true, "CONTINUATION without");

	w.n = 0;
	frame(&w, DATA, END_STREAM | PADDED, 1, "\x09x", 2);
	expect_failure(&w, true, "padding");

	w.n = 0;
	memcpy(w.b, "GET / HTTP/1.1\r\n\r\n", 18);
	w.n = 18;
	expect_failure(&w, false, "preface");

	w.n = 0;
	frame(&w, HEADERS, END_HEADERS, 1, "\xff\xff\xff\xff\x0f", 5);	/* index far past the table */
	expect_failure(&w, true, "HTTP/2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any_cut),
		cmocka_unit_test(test_padding_and_body_limit),
		cmocka_unit_test(test_protocol_errors),
	};

	return cmocka_run_group_tests_name("h2", tests, NULL, NULL);
}
