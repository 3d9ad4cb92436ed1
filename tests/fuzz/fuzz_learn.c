// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the learning path: the input is one direction of a Vault
 * connection, fed to an http_stream (as responses, then as requests) in pieces whose sizes
 * derive from the input; every complete message goes through http_decode_body and
 * vault_parse_response, and requests through vault_parse_request too. The input is also
 * given to vault_parse_response and vault_sniff_request_id as it is.
 * Invariants that do not hold abort, so libFuzzer reports them as crashes.
 * Build and run: tools/fuzz.sh [seconds]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/http.h"
#include "learn/vault.h"
#include "lib/secmem.h"
#include "fuzz.h"

#define DECODE_MAX (256 * 1024)
#define MAX_ITEMS 64

struct ctx {
	uint64_t rng;
	size_t max_body;
	unsigned msgs;
};

static uint64_t next(struct ctx *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

static bool err_is_fixed(const char *err)
{
	/* vault_parse_response's reasons never carry input */
	return !strncmp(err, "response body is not valid JSON (at byte ", 41) ||
	       !strcmp(err, "response body is not a JSON object") || !strcmp(err, "out of memory");
}

static void parse_response_body(const uint8_t *p, size_t n)
{
	struct vault_response r;
	char err[160];
	size_t i;

	err[0] = 0;
	if (vault_parse_response(p, n, MAX_ITEMS, &r, err, sizeof(err))) {
		check(err_is_fixed(err));
		check(r.items.n == 0 && !r.request_id);
	} else {
		check(r.items.n <= MAX_ITEMS);
		check(r.is_vault || r.items.n == 0);
		for (i = 0; i < r.items.n; i++) {
			check(r.items.v[i].len >= 8);
			check(strlen(r.items.v[i].field) < VAULT_FIELD_MAX);
		}
	}
	vault_response_free(&r);
	free(vault_sniff_request_id(p, n < 256 ? n : 256));
}

static void check_msg(struct ctx *c, const struct http_msg *m)
{
	int i;

	check(m->nhdr >= 0 && m->nhdr <= HTTP_MAX_HEADERS);
	for (i = 0; i < m->nhdr; i++)
		check(m->hdr[i].name && m->hdr[i].value);
	check(m->head_len <= sizeof(m->head));
	check(m->head_len == (m->body_len < sizeof(m->head) ? m->body_len : sizeof(m->head)));
	if (m->body_over_limit) {
		check(m->body.len == 0);
		check(m->body_len > c->max_body);
	} else {
		check(m->body.len == m->body_len);
		check(m->body.len <= c->max_body);
		if (m->body.len)
			check(!memcmp(m->body.data, m->head, m->head_len));
	}
}

static void decode_and_parse(const struct http_msg *m)
{
	struct secbuf body = { 0 };
	char err[160];

	if (http_decode_body(m, DECODE_MAX, &body, err, sizeof(err)) == 0) {
		check(body.len <= DECODE_MAX);
		parse_response_body(body.data, body.len);
	} else {
		check(body.len == 0);
		check(err[0]);
		free(vault_sniff_request_id(m->head, m->head_len));
	}
	secbuf_free(&body);
}

static void on_response(void *ctx, struct http_msg *m)
{
	struct ctx *c = ctx;

	c->msgs++;
	check(!m->is_request);
	check_msg(c, m);
	http_header(m, "Content-Type");
	decode_and_parse(m);
	http_msg_free(m);
}

static void on_request(void *ctx, struct http_msg *m)
{
	struct ctx *c = ctx;
	struct vault_request r;
	size_t i;

	c->msgs++;
	check(m->is_request && m->method);
	check_msg(c, m);
	if (vault_parse_request(m, &r) == 0) {
		check(r.path);
		for (i = 0; i < r.presented.n; i++)
			check(r.presented.v[i].len >= 8);
	}
	vault_request_free(&r);
	decode_and_parse(m);
	http_msg_free(m);
}

static bool skip_body(void *ctx)
{
	struct ctx *c = ctx;

	return (next(c) & 7) == 0;	/* now and then, a response to HEAD */
}

static void run(const uint8_t *data, size_t size, bool requests, uint64_t seed)
{
	struct ctx c = { .rng = seed | 1 };
	struct http_stream s;
	size_t off = 0;
	int rc = 0;

	c.max_body = (next(&c) & 3) == 0 ? 64 : 64 * 1024;
	http_stream_init(&s, requests, c.max_body, requests ? on_request : on_response,
			 requests ? NULL : skip_body, &c);
	while (off < size) {
		uint64_t r = next(&c);
		/* mostly small pieces, sometimes the rest in one go */
		size_t n = (r & 15) == 0 ? size - off : 1 + (r >> 8) % (1 + (r >> 4 & 63));

		if (n > size - off)
			n = size - off;
		rc = http_stream_feed(&s, data + off, n);
		if (rc) {
			check(s.failed && s.error[0]);
			check(http_stream_idle(&s));
			/* later bytes are ignored */
			check(http_stream_feed(&s, data, size) == -1);
			break;
		}
		off += n;
	}
	if (!rc)
		http_stream_eof(&s);
	http_stream_idle(&s);
	http_stream_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 1099511628211ULL;
	run(data, size, false, seed);
	run(data, size, true, seed ^ 0x9e3779b97f4a7c15ULL);
	parse_response_body(data, size);
	return 0;
}
