// SPDX-License-Identifier: GPL-2.0
/*
 * The learner's HTTP/1.1 stage, http_decode_body: identity, gzip, zlib and raw deflate
 * (also through a chunked stream), truncated/corrupt input, decompression bombs.
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
#include "test_learn_http_util.h"

/* ---- helpers ---- */

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
		cmocka_unit_test(test_decode_identity),
		cmocka_unit_test(test_decode_identity_respects_max),
		cmocka_unit_test(test_decode_gzip_deflate),
		cmocka_unit_test(test_gzip_through_stream),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_corrupt),
		cmocka_unit_test(test_decompression_bomb),
		cmocka_unit_test(test_deflate_bomb_reports_limit),
	};

	return cmocka_run_group_tests_name("learn_http_decode", tests, NULL, NULL);
}
