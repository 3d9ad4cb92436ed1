// SPDX-License-Identifier: GPL-2.0
/*
 * HPACK's Huffman code: the table against RFC 7541 Appendix C.4's vectors and, symbol by
 * symbol, against nghttp2's own encoder (so that a typo in the table cannot pass); the
 * forms indexed for a secret found in a real Huffman-coded header value after any prefix.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict/encodings.h"
#include "dict/huffman.h"

#include "test_dict_util.h"

static void unhex(const char *hex, uint8_t *out, size_t *len)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;

		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		out[n++] = v;
	}
	*len = n;
}

/* RFC 7541 C.4.1-C.4.3: the Huffman-coded string literals of the requests. */
static void test_rfc_vectors(void **state)
{
	static const struct {
		const char *text, *hex;
	} v[] = {
		{ "www.example.com", "f1e3c2e5f23a6ba0ab90f4ff" },
		{ "no-cache", "a8eb10649cbf" },
		{ "custom-key", "25a849e95ba97d7f" },
		{ "custom-value", "25a849e95bb8e8b4bf" },
	};
	uint8_t want[64], got[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = strlen(v[i].text);

		unhex(v[i].hex, want, &n);
		assert_int_equal((hpack_huffman_bits((const uint8_t *)v[i].text, len) + 7) / 8, n);
		assert_int_equal(hpack_huffman_encode((const uint8_t *)v[i].text, len, 0, got), n);
		assert_memory_equal(got, want, n);
	}
}

/* The value string of a header block nghttp2 made for one header (literal without
 * indexing, new name): 0x00, name length and name, then the value's length byte (with the
 * Huffman bit) and its bytes. */
static size_t nghttp2_value(const uint8_t *value, size_t len, uint8_t *out, size_t cap,
			    bool *huffman)
{
	nghttp2_hd_deflater *def;
	nghttp2_nv nv = { (uint8_t *)"x-k", (uint8_t *)value, 3, len, NGHTTP2_NV_FLAG_NO_INDEX };
	uint8_t block[512];
	ssize_t n;
	size_t vlen, at = 2 + 3;

	assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
	n = nghttp2_hd_deflate_hd(def, block, sizeof(block), &nv, 1);
	nghttp2_hd_deflate_del(def);
	assert_true(n > (ssize_t)at);
	*huffman = block[at] & 0x80;
	vlen = block[at] & 0x7f;
	assert_true(vlen < 0x7f && at + 1 + vlen == (size_t)n && vlen <= cap);
	memcpy(out, block + at + 1, vlen);
	return vlen;
}

/* Every symbol's code against nghttp2's: each symbol inside 39 'a's (5 bits each), which
 * nghttp2 always Huffman-codes (at most 225 bits for 40 bytes), must come out the same. */
static void test_table_against_nghttp2(void **state)
{
	uint8_t in[40], want[256], got[256];
	bool huffman;
	int c;

	(void)state;
	for (c = 0; c < 256; c++) {
		size_t n;

		memset(in, 'a', sizeof(in));
		in[20] = c;
		n = nghttp2_value(in, sizeof(in), want, sizeof(want), &huffman);
		assert_true(huffman);
		assert_int_equal(hpack_huffman_encode(in, sizeof(in), 0, got), n);
		assert_memory_equal(got, want, n);
	}
}

struct hit {
	bool hpack;
	uint32_t raw;
};

static void on_found(void *ctx, uint32_t idx, uint64_t off)
{
	struct hit *h = ctx;
	const struct secret_entry *e = dict_get(&d, idx);

	(void)off;
	if (e->encoding == ENC_HPACK && e->link == h->raw)
		h->hpack = true;
}

/* A secret in a header value after prefixes of every length mod 8 bits, as nghttp2 codes
 * it: always found, and named hpack. */
static void test_found_after_any_prefix(void **state)
{
	static const char secret[] = "s3cr3t-Vault-KV-value-9f2c";
	static const char pool[] = "Bearer xyz0123456789=/+:;";
	uint8_t value[128], wire[256];
	struct hit h = { 0 };
	bool huffman;
	size_t p;

	(void)state;
	assert_int_equal(dict_add(&d, (const uint8_t *)secret, strlen(secret),
				  &(struct secret_origin){ .path = "kv/x" }, &h.raw), 1);
	for (p = 0; p < sizeof(pool); p++) {
		size_t n = 0, w;

		memcpy(value, pool, p);
		memcpy(value + p, secret, strlen(secret));
		n = p + strlen(secret);
		w = nghttp2_value(value, n, wire, sizeof(wire), &huffman);
		assert_true(huffman);
		h.hpack = false;
		dict_scan(&d, wire, w, on_found, &h);
		assert_true(h.hpack);
	}
}

/* Forms are indexed only when ST_LONG_MIN_LEN bytes or more come from the secret alone
 * (shorter ones would turn on the kernel's short-window scan): none for 8 characters, nor
 * for these 20 (113 bits: 14 whole bytes at any offset), all 8 bit offsets for 40. */
static void test_form_lengths(void **state)
{
	struct variant v[VARIANTS_MAX];
	int n, i, hp;

	(void)state;
	n = variants_of((const uint8_t *)"abcd1234", 8, v);
	for (i = hp = 0; i < n; i++)
		hp += v[i].encoding == ENC_HPACK;
	variants_free(v, n);
	assert_int_equal(hp, 0);
	n = variants_of((const uint8_t *)"abcdefghil0123456789", 20, v);
	for (i = hp = 0; i < n; i++)
		hp += v[i].encoding == ENC_HPACK;
	variants_free(v, n);
	assert_int_equal(hp, 0);
	n = variants_of((const uint8_t *)"abcdefghil0123456789abcdefghil0123456789", 40, v);
	for (i = hp = 0; i < n; i++)
		if (v[i].encoding == ENC_HPACK) {
			hp++;
			assert_true(v[i].len >= ST_LONG_MIN_LEN);
		}
	variants_free(v, n);
	assert_int_equal(hp, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_vectors),
		cmocka_unit_test(test_table_against_nghttp2),
		cmocka_unit_test(test_found_after_any_prefix),
		cmocka_unit_test(test_form_lengths),
	};

	return cmocka_run_group_tests(tests, dict_setup, dict_teardown);
}
