// SPDX-License-Identifier: GPL-2.0
/*
 * Which secrets in a decoded HTTP/2 header field are uses the kernel could not see: header
 * blocks made by nghttp2's own encoder (one connection, two requests), decoded by nghttp2's
 * decoder as learn/h2.c does, each field given to hpack_unseen() with its representation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <nghttp2/nghttp2.h>
#include <string.h>

#include "detect/hpack.h"

#include "test_dict_util.h"

/* 40 characters: Huffman forms indexed; 10 of 5- and 6-bit codes: none; 10 control
 * characters: nghttp2 sends them raw (their Huffman code is longer) */
static const char LONG1[] = "sk-Zq8ahWvN3xY7pLk2RmT9bC4dF6gH1jK5nQ0s";
static const char LONG2[] = "tk-8fJ2kQ9wX4mZ7vB1nC6yH3gT5rL0pDsEaUoi";
static const char SHORT[] = "abc0123def";
static const char RARE[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0b";

struct field {
	const char *name, *value;
	uint8_t flags;
};

/* Encode the fields as one header block, decode it, and count per field the secrets that
 * hpack_unseen() reports. */
static void block(nghttp2_hd_deflater *def, nghttp2_hd_inflater *inf, const struct field *f,
		  int n, int *unseen)
{
	nghttp2_nv nv[8];
	uint8_t buf[1024];
	const uint8_t *in = buf;
	ssize_t len;
	int i, k = 0;

	for (i = 0; i < n; i++)
		nv[i] = (nghttp2_nv){ (uint8_t *)f[i].name, (uint8_t *)f[i].value, strlen(f[i].name),
				      strlen(f[i].value), f[i].flags };
	len = nghttp2_hd_deflate_hd(def, buf, sizeof(buf), nv, n);
	assert_true(len > 0);
	while (len > 0) {
		nghttp2_nv out;
		int flags = 0;
		uint32_t idx[HPACK_FIELD_SECRETS];
		ssize_t m = nghttp2_hd_inflate_hd2(inf, &out, &flags, in, len, 1);

		assert_true(m >= 0);
		if (flags & NGHTTP2_HD_INFLATE_EMIT) {
			assert_true(k < n);
			assert_int_equal(out.valuelen, strlen(f[k].value));
			unseen[k++] = hpack_unseen(&d, &out, in, m, idx);
		}
		in += m;
		len -= m;
		if (flags & NGHTTP2_HD_INFLATE_FINAL)
			break;
	}
	nghttp2_hd_inflate_end_headers(inf);
	assert_int_equal(k, n);
}

static void test_two_requests(void **state)
{
	static const struct field f[] = {
		{ "authorization", "Bearer sk-Zq8ahWvN3xY7pLk2RmT9bC4dF6gH1jK5nQ0s", 0 },
		{ "x-token", LONG2, 0 },
		{ "x-pin", SHORT, 0 },
		{ "x-rare", RARE, 0 },
		{ "x-never", LONG2, NGHTTP2_NV_FLAG_NO_INDEX },
		{ "x-decoy", "sk-Zq8ahWvN3xY7pLk2RmT9bC4dF6gH1jK5nQ0t", 0 },
	};
	/* first request: only the short secret (Huffman-coded, no form); then what the table
	 * sends by index: x-token, x-pin (nghttp2 never indexes authorization) and x-rare,
	 * which went raw (its Huffman code is longer) and so was seen the first time */
	static const int want1[] = { 0, 0, 1, 0, 0, 0 }, want2[] = { 0, 1, 1, 1, 0, 0 };
	nghttp2_hd_deflater *def;
	nghttp2_hd_inflater *inf;
	int got[6];
	uint32_t idx;

	(void)state;
	assert_int_equal(dict_add(&d, (const uint8_t *)LONG1, strlen(LONG1),
				  &(struct secret_origin){ .path = "kv/a" }, &idx), 1);
	assert_int_equal(dict_add(&d, (const uint8_t *)LONG2, strlen(LONG2),
				  &(struct secret_origin){ .path = "kv/b" }, &idx), 1);
	assert_int_equal(dict_add(&d, (const uint8_t *)SHORT, strlen(SHORT),
				  &(struct secret_origin){ .path = "kv/c" }, &idx), 1);
	assert_int_equal(dict_add(&d, (const uint8_t *)RARE, strlen(RARE),
				  &(struct secret_origin){ .path = "kv/d" }, &idx), 1);
	assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
	assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
	block(def, inf, f, 6, got);
	assert_memory_equal(got, want1, sizeof(want1));
	block(def, inf, f, 6, got);
	assert_memory_equal(got, want2, sizeof(want2));
	nghttp2_hd_deflate_del(def);
	nghttp2_hd_inflate_del(inf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_requests),
	};

	return cmocka_run_group_tests(tests, dict_setup, dict_teardown);
}
