// SPDX-License-Identifier: GPL-2.0
/*
 * The state file (dict/state.c): a dictionary written and read back into another, under
 * the same installation key, finds the same secrets (raw and encoded) with the same
 * fingerprints and deliveries; expired and forgotten ones are left out; the redactor's runs come back,
 * but not those of the expired and forgotten secrets;
 * the file is 0600, locked against a second user, refused (and set aside) under another key.
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
#include <sys/stat.h>
#include <unistd.h>

#include "dict/state.h"
#include "lib/redact.h"
#include "lib/secmem.h"

#define NOW 1800000000LL

static const uint8_t key[DICT_FP_KEY_BYTES] = "unit test installation key, 32B";
static const char *const secrets[] = { "sk-live-0123456789abcdefghijklmnop", "Sh0rtPw!9x",
				       "expired-lease-secret-XYZ123456",
				       "rotated-out-and-forgotten-0001" };

static void fresh(struct dict *d)
{
	struct st_keys k;
	uint8_t run_key[REDACT_KEY_BYTES];

	state_derive_keys(key, &k, run_key);
	redact_free();
	assert_int_equal(redact_init(), 0);
	assert_int_equal(redact_set_key(run_key), 0);
	assert_int_equal(dict_init(d, NULL, &k, key), 0);
	dict_keep_windows(d);
}

static void learn(struct dict *d)
{
	uint32_t i, idx;

	for (i = 0; i < 4; i++) {
		struct secret_origin o = { .request_id = "req-1", .path = "secret/data/app",
					   .field = "f", .pid = 100 + i, .ts_ns = 5 };

		assert_int_equal(dict_add(d, (const uint8_t *)secrets[i], strlen(secrets[i]), &o,
					  &idx), 1);
		if (i == 2)
			dict_set_lease_end(d, idx, NOW - 1);
		if (i == 3)
			assert_int_equal(dict_forget(d, idx), 0);
	}
	dict_commit(d);
}

struct hits {
	uint32_t idx;
	int n;
};

static void on_found(void *ctx, uint32_t idx, uint64_t off)
{
	struct hits *h = ctx;

	(void)off;
	h->idx = idx;
	h->n++;
}

/* How often d finds s in a buffer (and the fingerprint of the last find). */
static int found(const struct dict *d, const char *s, const char **fp)
{
	char buf[256];
	struct hits h = { 0 };
	int n = snprintf(buf, sizeof(buf), "xx %s yy", s);

	dict_scan(d, (const uint8_t *)buf, n, on_found, &h);
	if (h.n)
		*fp = dict_fp(d, h.idx);
	return h.n;
}

static void test_round_trip(void **state)
{
	struct dict a, b;
	struct state_result r = { 0 };
	uint8_t *body;
	size_t n;
	int64_t written;
	const char *fa, *fb;
	const struct delivery *v;
	uint32_t idx;

	(void)state;
	fresh(&a);
	learn(&a);
	/* written before the lease ended, read after */
	assert_int_equal(state_encode(&a, NOW - 10, &body, &n), 0);
	fresh(&b);
	assert_int_equal(state_decode(NULL, body, n, STATE_VERSION, NOW, false, &written, &r), 0);
	assert_int_equal(state_decode(&b, body, n, STATE_VERSION, NOW, true, &written, &r), 0);
	dict_commit(&b);
	assert_int_equal(written, NOW - 10);
	assert_int_equal(r.restored, 2);
	assert_int_equal(r.expired, 1);
	assert_int_equal(found(&b, secrets[0], &fb), 1);
	assert_int_equal(found(&a, secrets[0], &fa), 1);
	assert_string_equal(fa, fb);
	assert_int_equal(found(&b, secrets[1], &fb), 1);	/* the 4-byte windows */
	assert_int_equal(found(&b, "c2stbGl2ZS0wMTIzNDU2Nzg5YWJjZGVmZ2hpamtsbW5vcA", &fb), 1);
	assert_int_equal(found(&b, secrets[2], &fb), 0);
	assert_int_equal(found(&b, secrets[3], &fb), 0);	/* forgotten: not written */
	assert_true(dict_find(&b, (const uint8_t *)secrets[0], strlen(secrets[0]), &idx));
	v = dict_delivery_for(&b, idx, 100, 0);
	assert_non_null(v);
	assert_string_equal(v->request_id, "req-1");
	assert_int_equal(v->pid, 100);
	assert_true(redact_contains(secrets[0], strlen(secrets[0])));
	assert_true(redact_contains(secrets[1] + 1, 8));
	/* the runs of the expired and the forgotten secret are not written, so not restored */
	assert_false(redact_contains(secrets[2], strlen(secrets[2])));
	assert_false(redact_contains(secrets[3], strlen(secrets[3])));
	/* the same state decoded a second time: known already, skipped */
	r = (struct state_result){ 0 };
	assert_int_equal(state_decode(&b, body, n, STATE_VERSION, NOW, true, &written, &r), 0);
	assert_int_equal(r.restored, 0);
	assert_int_equal(r.skipped, 2);
	/* a body cut short, or with a byte more, does not decode */
	assert_int_equal(state_decode(NULL, body, n - 1, STATE_VERSION, NOW, false, &written, &r), -EINVAL);
	free(body);
	dict_free(&a);
	dict_free(&b);
}

static void test_file(void **state)
{
	char dir[] = "/tmp/test_state.XXXXXX", path[64], refused[80];
	uint8_t other[DICT_FP_KEY_BYTES] = { 1 };
	struct state s, s2, s3;
	struct state_result r;
	struct dict a, b;
	char err[256];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/state", dir);
	assert_int_equal(state_open(&s, path, key, err, sizeof(err)), 0);
	assert_int_equal(state_open(&s2, path, key, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "in use by another tracer (PID "));
	state_close(&s2);
	fresh(&a);
	learn(&a);
	assert_int_equal(state_save(&s, &a, NOW), 0);	/* the expired one is left out */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	state_close(&s);
	/* the next run, same key */
	assert_int_equal(state_open(&s, path, key, err, sizeof(err)), 0);
	fresh(&b);
	state_load(&s, &b, NOW + 7, &r);
	assert_true(r.found);
	assert_string_equal(r.refused, "");
	assert_int_equal(r.restored, 2);
	assert_int_equal(r.gap_s, 7);
	assert_true(redact_contains(secrets[0], strlen(secrets[0])));
	assert_false(redact_contains(secrets[3], strlen(secrets[3])));	/* forgotten */
	state_close(&s);
	dict_free(&b);
	/* another key: refused, set aside */
	assert_int_equal(state_open(&s3, path, other, err, sizeof(err)), 0);
	fresh(&b);
	state_load(&s3, &b, NOW, &r);
	assert_true(r.found);
	assert_non_null(strstr(r.refused, "another --key-file"));
	assert_int_equal(r.restored, 0);
	assert_int_equal(b.ninfos, 0);
	snprintf(refused, sizeof(refused), "%s.refused", path);
	assert_int_equal(access(refused, F_OK), 0);
	assert_int_equal(access(path, F_OK), -1);
	state_close(&s3);
	dict_free(&a);
	dict_free(&b);
	unlink(refused);
	snprintf(refused, sizeof(refused), "%s.lock", path);
	unlink(refused);
	snprintf(refused, sizeof(refused), "%s/sub", dir);
	rmdir(refused);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_file),
	};

	if (secmem_init() || redact_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
