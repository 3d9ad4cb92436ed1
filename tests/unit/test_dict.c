// SPDX-License-Identifier: GPL-2.0
/*
 * The dictionary and its userspace scan (the twin of the kernel's), against a plain
 * substring search: every secret length from 8 bytes up, at every offset modulo the
 * stride, at both ends of the buffer, repeated, overlapping, near misses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict/dict.h"
#include "lib/redact.h"
#include "lib/secmem.h"

#define FILLER "abcdefghij"	/* buffer bytes never found in the secrets below */

struct hits {
	uint32_t idx[64];
	uint64_t off[64];
	int n;
};

static void on_found(void *ctx, uint32_t idx, uint64_t off)
{
	struct hits *h = ctx;

	if (h->n < 64) {
		h->idx[h->n] = idx;
		h->off[h->n++] = off;
	}
}

static int setup(void **state)
{
	static struct dict d;

	assert_int_equal(secmem_init(), 0);
	assert_int_equal(redact_init(), 0);
	assert_int_equal(dict_init(&d, NULL, NULL, NULL), 0);
	*state = &d;
	return 0;
}

static int teardown(void **state)
{
	dict_free(*state);
	redact_free();
	return 0;
}

/* Secret bytes from an alphabet disjoint from FILLER. */
static void make_secret(uint8_t *s, size_t len, uint32_t seed)
{
	static const char alpha[] = "KLMNOPQRSTUVWXYZ0123456789-_+/=";
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		s[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
	}
}

static uint32_t add(struct dict *d, const uint8_t *s, size_t len)
{
	struct secret_origin o = { .request_id = "r-1", .path = "secret/data/x", .field = "f" };
	uint32_t idx;

	assert_true(dict_add(d, s, len, &o, &idx) >= 0);
	dict_commit(d);
	return idx;
}

static void fill(uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = FILLER[i % (sizeof(FILLER) - 1)];
}

/* Every length 8..80 and some long ones, at offsets 0..31, in buffers ending right
 * after the secret and with trailing bytes of every length modulo 8. */
static void test_every_offset_and_length(void **state)
{
	static const size_t longer[] = { 100, 255, 256, 1000, 4095, 4096, 4097, 6000 };
	struct dict *d = *state;
	uint8_t secret[6000], buf[6100];
	size_t lens[80 - 8 + 1 + 8], nlens = 0, li, off, tail;

	for (li = 8; li <= 80; li++)
		lens[nlens++] = li;
	for (li = 0; li < sizeof(longer) / sizeof(longer[0]); li++)
		lens[nlens++] = longer[li];
	for (li = 0; li < nlens; li++) {
		size_t len = lens[li];
		uint32_t idx;

		make_secret(secret, len, len * 7919);
		idx = add(d, secret, len);
		for (off = 0; off < 32; off++) {
			for (tail = 0; tail < 9; tail++) {
				struct hits h = { 0 };

				fill(buf, sizeof(buf));
				memcpy(buf + off, secret, len);
				dict_scan(d, buf, off + len + tail, on_found, &h);
				assert_int_equal(h.n, 1);
				assert_int_equal(h.idx[0], idx);
				assert_int_equal(h.off[0], off);
			}
		}
	}
}

static void test_near_misses_and_truncation(void **state)
{
	struct dict *d = *state;
	uint8_t secret[40], buf[128];
	size_t len, k;

	for (len = 8; len <= 40; len++) {
		make_secret(secret, len, 1000 + len);
		add(d, secret, len);
		for (k = 0; k < len; k++) {
			struct hits h = { 0 };

			fill(buf, sizeof(buf));
			memcpy(buf + 5, secret, len);
			buf[5 + k] ^= 1;	/* one byte differs */
			dict_scan(d, buf, sizeof(buf), on_found, &h);
			assert_int_equal(h.n, 0);
		}
		{
			struct hits h = { 0 };

			fill(buf, sizeof(buf));
			memcpy(buf + 9, secret, len);
			dict_scan(d, buf, 9 + len - 1, on_found, &h);	/* cut by one byte */
			assert_int_equal(h.n, 0);
		}
	}
}

static void test_repeats_overlaps_and_several(void **state)
{
	struct dict *d = *state;
	uint8_t a[20], b[12], buf[200];
	struct hits h = { 0 };
	uint32_t ia, ib;
	int i, na = 0, nb = 0;

	make_secret(a, sizeof(a), 42);
	make_secret(b, sizeof(b), 43);
	ia = add(d, a, sizeof(a));
	ib = add(d, b, sizeof(b));
	fill(buf, sizeof(buf));
	memcpy(buf + 3, a, sizeof(a));
	memcpy(buf + 3 + sizeof(a), a, sizeof(a));	/* back to back */
	memcpy(buf + 100, b, sizeof(b));
	memcpy(buf + 150, a, sizeof(a));
	dict_scan(d, buf, sizeof(buf), on_found, &h);
	for (i = 0; i < h.n; i++) {
		na += h.idx[i] == ia;
		nb += h.idx[i] == ib;
	}
	assert_int_equal(na, 3);
	assert_int_equal(nb, 1);
}

static void test_repetitive_secret(void **state)
{
	struct dict *d = *state;
	uint8_t s[24], buf[64];
	struct hits h = { 0 };
	int off;

	memset(s, 'Z', sizeof(s));	/* every window is the same */
	add(d, s, sizeof(s));
	for (off = 0; off < 16; off++) {
		fill(buf, sizeof(buf));
		memcpy(buf + off, s, sizeof(s));
		h.n = 0;
		dict_scan(d, buf, sizeof(buf), on_found, &h);
		assert_int_equal(h.n, 1);
		assert_int_equal(h.off[0], off);
	}
}

static void test_known_secret_is_a_new_delivery(void **state)
{
	struct dict *d = *state;
	struct secret_origin o1 = { .request_id = "req-1", .field = "a", .pid = 10 };
	struct secret_origin o2 = { .request_id = "req-2", .field = "b", .pid = 20 };
	const uint8_t v[] = "s3cr3t-value-xyz";
	uint32_t i1, i2;

	assert_int_equal(dict_add(d, v, sizeof(v) - 1, &o1, &i1), 1);
	assert_int_equal(dict_add(d, v, sizeof(v) - 1, &o2, &i2), 0);
	assert_int_equal(i1, i2);
	assert_string_equal(dict_delivery_for(d, i1, 10, 0)->request_id, "req-1");
	assert_string_equal(dict_delivery_for(d, i1, 20, 0)->request_id, "req-2");
	assert_string_equal(dict_delivery_for(d, i1, 99, 0)->request_id, "req-2");
}

/* A use names the delivery its process had when it wrote: a token sent to Vault before
 * lookup-self returned it again (a held write rescanned after that answer) is the login's. */
static void test_delivery_at_the_use_time(void **state)
{
	struct dict *d = *state;
	struct secret_origin login = { .request_id = "login", .pid = 10, .ts_ns = 1000 };
	struct secret_origin self = { .request_id = "lookup-self", .pid = 10, .ts_ns = 3000 };
	const uint8_t v[] = "hvs.token-value-xyz";
	uint32_t i;

	assert_int_equal(dict_add(d, v, sizeof(v) - 1, &login, &i), 1);
	assert_int_equal(dict_add(d, v, sizeof(v) - 1, &self, &i), 0);
	assert_string_equal(dict_delivery_for(d, i, 10, 2000)->request_id, "login");
	assert_string_equal(dict_delivery_for(d, i, 10, 3000)->request_id, "lookup-self");
	assert_string_equal(dict_delivery_for(d, i, 10, 0)->request_id, "lookup-self");
	/* written before every delivery to it (two CPUs' clocks): its newest, as before */
	assert_string_equal(dict_delivery_for(d, i, 10, 500)->request_id, "lookup-self");
}

/* The newest DICT_MAX_DELIVERIES deliveries are kept, oldest dropped; deliveries of
 * different secrets from one response share their strings. */
static void test_deliveries_kept_and_shared(void **state)
{
	struct dict *d = *state;
	const uint8_t v[] = "s3cr3t-value-xyz", w[] = "another-value-123";
	char req[16], pid_req[16];
	uint32_t idx, other;
	int i;

	for (i = 1; i <= DICT_MAX_DELIVERIES + 3; i++) {
		struct secret_origin o = { .request_id = req, .path = "secret/data/app",
					   .field = "password", .pid = 100 + i };

		snprintf(req, sizeof(req), "req-%d", i);
		assert_true(dict_add(d, v, sizeof(v) - 1, &o, &idx) >= 0);
	}
	snprintf(req, sizeof(req), "req-%d", DICT_MAX_DELIVERIES + 3);
	assert_string_equal(dict_newest_delivery(d, idx)->request_id, req);
	for (i = 1; i <= DICT_MAX_DELIVERIES + 3; i++) {
		const struct delivery *dl = dict_delivery_for(d, idx, 100 + i, 0);

		snprintf(pid_req, sizeof(pid_req), "req-%d", i);
		/* the three oldest are gone: their pids get the newest delivery */
		assert_string_equal(dl->request_id, i > 3 ? pid_req : req);
		assert_string_equal(dl->path, "secret/data/app");
	}
	{
		struct secret_origin o = { .request_id = req, .path = "secret/data/app",
					   .field = "api_key", .pid = 7 };

		assert_int_equal(dict_add(d, w, sizeof(w) - 1, &o, &other), 1);
		assert_ptr_equal(dict_newest_delivery(d, other)->request_id,
				 dict_newest_delivery(d, idx)->request_id);
		assert_ptr_equal(dict_newest_delivery(d, other)->path,
				 dict_newest_delivery(d, idx)->path);
		assert_string_equal(dict_newest_delivery(d, other)->field, "api_key");
	}
	/* a request ID named later, once */
	{
		struct secret_origin o = { .field = "token", .pid = 8 };
		const uint8_t t[] = "presented-token-0001";
		struct delivery *dl;

		assert_int_equal(dict_add(d, t, sizeof(t) - 1, &o, &other), 1);
		dl = dict_newest_delivery(d, other);
		assert_null(dl->request_id);
		assert_int_equal(dict_set_request_id(d, dl, "req-late"), 0);
		assert_int_equal(dict_set_request_id(d, dl, "req-later"), 0);
		assert_string_equal(dl->request_id, "req-late");
	}
}

static void test_short_values_refused(void **state)
{
	struct dict *d = *state;
	struct secret_origin o = { 0 };
	uint32_t idx;

	assert_int_equal(dict_add(d, (const uint8_t *)"1234567", 7, &o, &idx), -EINVAL);
}

static void test_fingerprint_is_keyed_and_stable(void **state)
{
	struct dict *d = *state, other;
	char a[DICT_FP_HEX], b[DICT_FP_HEX], c[DICT_FP_HEX];
	uint8_t key[DICT_FP_KEY_BYTES] = { 1, 2, 3 };

	dict_fingerprint(d, (const uint8_t *)"value-123", 9, a);
	dict_fingerprint(d, (const uint8_t *)"value-123", 9, b);
	assert_string_equal(a, b);
	assert_int_equal(dict_init(&other, NULL, NULL, key), 0);
	dict_fingerprint(&other, (const uint8_t *)"value-123", 9, c);
	assert_string_not_equal(a, c);
	assert_null(strstr(a, "value"));
	dict_free(&other);
}

/* The carry a write keeps for the next is the longest indexed form less one (the raw
 * value or a longer encoding of it), up to ST_CARRY. */
static uint32_t longest_form(const struct dict *d)
{
	uint32_t i, max = 0;

	for (i = 0; i < d->nsecrets; i++)
		if (d->secrets[i].len > max)
			max = d->secrets[i].len;
	return max;
}

static void test_carry_follows_longest_form(void **state)
{
	struct dict *d = *state;
	uint8_t s[600];

	assert_int_equal(*d->bpf.carry_want, 0);
	make_secret(s, 20, 42);
	add(d, s, 20);
	assert_true(longest_form(d) >= 40);	/* its hex form */
	assert_int_equal(*d->bpf.carry_want, longest_form(d) - 1);
	make_secret(s, 12, 43);
	add(d, s, 12);	/* shorter: the carry stays */
	assert_int_equal(*d->bpf.carry_want, longest_form(d) - 1);
	make_secret(s, sizeof(s), 44);
	add(d, s, sizeof(s));
	assert_int_equal(*d->bpf.carry_want, ST_CARRY);
}

/* The bitmap grows with the dictionary up to its full size, where it drops the hashes kept
 * for growing; nothing indexed before, during or after is lost. */
static void test_prefilter_growth(void **state)
{
	struct dict *d = *state;
	uint8_t s[32], buf[64];
	uint32_t first_mask = *d->bpf.mask, idx[6000];
	int i;

	for (i = 0; i < 6000; i++) {
		make_secret(s, sizeof(s), 500000 + i);
		idx[i] = add(d, s, sizeof(s));
	}
	assert_true(*d->bpf.mask > first_mask);
	assert_int_equal(*d->bpf.mask, (1u << ST_PREFILTER_BITS_LOG2_MAX) - 1);
	assert_null(d->pf_hashes);
	assert_true(d->npf > 6000 * 8 * 5);
	for (i = 0; i < 6000; i += 37) {
		struct hits h = { 0 };

		make_secret(s, sizeof(s), 500000 + i);
		fill(buf, sizeof(buf));
		memcpy(buf + 11, s, sizeof(s));
		dict_scan(d, buf, sizeof(buf), on_found, &h);
		assert_int_equal(h.n, 1);
		assert_int_equal(h.idx[0], idx[i]);
	}
}

/* A forgotten secret (rotated out of a file) is found no more, in no form; the others are;
 * learned again, it is a new secret. */
static void test_forget(void **state)
{
	struct dict *d = *state;
	uint8_t a[24], b[24], buf[160];
	char a64[64];
	struct hits h = { 0 };
	uint32_t ia, ib, again, found;
	int i, na = 0, nb = 0;

	make_secret(a, sizeof(a), 7);
	make_secret(b, sizeof(b), 8);
	ia = add(d, a, sizeof(a));
	ib = add(d, b, sizeof(b));
	sodium_bin2base64(a64, sizeof(a64), a, sizeof(a), sodium_base64_VARIANT_ORIGINAL);
	fill(buf, sizeof(buf));
	memcpy(buf + 5, a, sizeof(a));
	memcpy(buf + 40, a64, strlen(a64));
	memcpy(buf + 100, b, sizeof(b));
	dict_scan(d, buf, sizeof(buf), on_found, &h);
	assert_int_equal(h.n, 3);	/* a, its base64 form, b */
	assert_int_equal(dict_forget(d, ia), 0);
	assert_false(dict_find(d, a, sizeof(a), &found));
	assert_true(dict_find(d, b, sizeof(b), &found));
	h.n = 0;
	dict_scan(d, buf, sizeof(buf), on_found, &h);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.idx[0], ib);
	assert_int_equal(dict_forget(d, ia + 1), -EINVAL);	/* a form: not a secret */
	again = add(d, a, sizeof(a));
	assert_true(again != ia);
	h.n = 0;
	dict_scan(d, buf, sizeof(buf), on_found, &h);
	for (i = 0; i < h.n; i++) {
		na += dict_secret(d, h.idx[i]) == dict_get(d, again);
		nb += h.idx[i] == ib;
	}
	assert_int_equal(na, 2);
	assert_int_equal(nb, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_offset_and_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_near_misses_and_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeats_overlaps_and_several, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repetitive_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_secret_is_a_new_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery_at_the_use_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliveries_kept_and_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_values_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fingerprint_is_keyed_and_stable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_carry_follows_longest_form, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefilter_growth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
	};

	return cmocka_run_group_tests_name("dict", tests, NULL, NULL);
}
