// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for HTTP/2 learning (user/learn/h2.c): the input after its first byte
 * is cut into pieces whose sizes derive from it and fed to one connection (the client's
 * preface is given): all as the server's bytes (first byte 0), all as the client's (1), or
 * each piece to a direction chosen from the input (else), so frames, CONTINUATION runs and
 * HPACK blocks arrive split anywhere, in both directions. Every request and response that comes out
 * is checked and its body parsed as a Vault response. Once the connection fails it must
 * stay failed with a reason, and nothing may come out of it.
 * Build and run: tools/fuzz.sh [seconds] (FUZZ_TARGETS=h2)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/h2.h"
#include "learn/vault.h"
#include "lib/secmem.h"
#include "fuzz.h"

#define MAX_BODY (64 * 1024)

struct ctx {
	const struct h2_conn *conn;
	unsigned msgs;
};

static void check_msg(struct ctx *c, struct http_msg *m, bool request)
{
	struct vault_response r;
	char err[160];
	int i;

	check(!c->conn->failed);
	check(m->is_request == request);
	check(m->nhdr >= 0 && m->nhdr <= HTTP_MAX_HEADERS);
	for (i = 0; i < m->nhdr; i++)
		check(m->hdr[i].name && m->hdr[i].value);
	if (m->body_over_limit)
		check(m->body.len == 0);
	else
		check(m->body.len <= MAX_BODY);
	if (!request && !vault_parse_response(m->body.data, m->body.len, 64, &r, err, sizeof(err)))
		vault_response_free(&r);
	c->msgs++;
	http_msg_free(m);
}

static void on_request(void *ctx, uint32_t stream, struct http_msg *m)
{
	check(stream != 0);
	check_msg(ctx, m, true);
}

static void on_response(void *ctx, uint32_t stream, struct http_msg *m)
{
	check(stream != 0);
	check_msg(ctx, m, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx c = { 0 };
	struct h2_conn conn;
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	size_t at = 0;
	uint8_t mode;

	if (h2_init(&conn, MAX_BODY, on_request, on_response, &c))
		return 0;
	c.conn = &conn;
	check(h2_feed(&conn, false, (const uint8_t *)H2_PREFACE, H2_PREFACE_LEN) == 0);
	if (!size)
		goto out;
	mode = data[0];
	rng ^= (uint64_t)mode << 8 | size;
	at = 1;
	while (at < size) {
		size_t n;
		bool from_server;
		int rc;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		n = 1 + rng % 64;
		if (n > size - at)
			n = size - at;
		from_server = mode == 0 || (mode != 1 && (rng & 0x100));
		rc = h2_feed(&conn, from_server, data + at, n);
		check(rc == 0 || rc == -1);
		check((rc == -1) == conn.failed || conn.failed);
		if (conn.failed) {
			check(conn.error[0]);
			break;
		}
		at += n;
	}
out:
	h2_idle(&conn);
	if (getenv("FUZZ_H2_VERBOSE"))
		fprintf(stderr, "fuzz_h2: %u messages, %s\n", c.msgs,
			conn.failed ? conn.error : "not failed");
	h2_free(&conn);
	return 0;
}
