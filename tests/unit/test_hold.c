// SPDX-License-Identifier: GPL-2.0
/*
 * detect/hold.c with synthetic held records, in the orders the ring buffer can give them:
 * a call's records with another CPU's between them, or a release between them (its bytes
 * joined by call id, a secret across its records found), and a call whose last record
 * never comes (rescanned with what came; a record after that counted, never silent).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/hold.h"
#include "dict/dict.h"
#include "enrich/procs.h"
#include "lib/redact.h"
#include "lib/secmem.h"
#include "policy/uses.h"

static struct dict d;
static volatile __u64 in_seq = 1, learned_seq, hold_bytes;
static const uint8_t SECRET[] = "sk-held-7Qx2Lw9Vb4Nz8Rt3Ym6Kp1";

static int setup(void **state)
{
	struct hold_shared sh = { .in_seq = &in_seq, .learned_seq = &learned_seq,
				  .hold_bytes = &hold_bytes };
	struct secret_origin o = { .request_id = "req-1", .path = "secret/data/a", .field = "k",
				   .pid = (uint32_t)getpid(), .source = SECRET_FROM_RESPONSE };
	uint32_t idx;

	(void)state;
	if (secmem_init() || redact_init() || procs_init() || dict_init(&d, NULL, NULL, NULL) ||
	    uses_init(&d, 30, NULL) || hold_init(&d, &sh))
		return -1;
	/* learned after the calls below were scanned (their gen is 0) */
	if (dict_add(&d, SECRET, sizeof(SECRET) - 1, &o, &idx) < 0)
		return -1;
	dict_commit(&d);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hold_free();
	uses_free();
	dict_free(&d);
	procs_free();
	redact_free();
	return 0;
}

/* One held record: bytes [offset, offset + len) of call_id's stream, filler but for the
 * secret at stream offset at (if it falls in them). */
static void feed(uint64_t call_id, uint64_t offset, uint32_t len, bool last, uint64_t at,
		 const char *path, bool learner_idle)
{
	struct st_rec_data *r = calloc(1, sizeof(*r));
	uint64_t i;

	assert_non_null(r);
	r->hdr.type = ST_REC_DATA;
	r->hdr.pid = r->hdr.tid = (uint32_t)getpid();
	r->call_id = call_id;
	r->offset = offset;
	r->kind = ST_DATA_HELD;
	r->flags = last ? ST_DATA_LAST : 0;
	r->fd = 3;
	r->len = len;
	r->si.sink = ST_SINK_FILE;
	r->si.path_len = strlen(path);
	memcpy(r->path, path, r->si.path_len);
	for (i = 0; i < len; i++) {
		uint64_t pos = offset + i;

		r->data[i] = pos >= at && pos < at + sizeof(SECRET) - 1 ? SECRET[pos - at] : '.';
	}
	hold_data(r, learner_idle);
	free(r);
}

/* Call A on CPU 0 in two records, call B of CPU 1 between them: the secret across A's
 * records is found, every byte rescanned. */
static void test_interleaved_calls(void **state)
{
	uint64_t rescanned = hold_rescanned_bytes(), reported = uses_reported();
	uint64_t a = 7 << 16 | 0, b = 9 << 16 | 1;

	(void)state;
	feed(a, 0, ST_DATA_CHUNK, false, ST_DATA_CHUNK - 10, "/tmp/held-a", true);
	feed(b, 0, 100, true, UINT64_MAX, "/tmp/held-b", true);
	feed(a, ST_DATA_CHUNK, 200, true, ST_DATA_CHUNK - 10, "/tmp/held-a", true);
	assert_int_equal(hold_rescanned_bytes() - rescanned, ST_DATA_CHUNK + 200 + 100);
	assert_int_equal(uses_reported() - reported, 1);
	assert_int_equal(hold_dropped_bytes(), 0);
}

/* The learner caught up between A's records: A stays held until its last record. */
static void test_release_between_records(void **state)
{
	uint64_t rescanned = hold_rescanned_bytes(), reported = uses_reported();
	uint64_t a = 8 << 16 | 0;

	(void)state;
	feed(a, 0, ST_DATA_CHUNK, false, ST_DATA_CHUNK - 5, "/tmp/held-c", false);
	hold_release(1);
	assert_int_equal(learned_seq, 1);
	assert_int_equal(hold_rescanned_bytes(), rescanned);
	feed(a, ST_DATA_CHUNK, 300, true, ST_DATA_CHUNK - 5, "/tmp/held-c", true);
	assert_int_equal(hold_rescanned_bytes() - rescanned, ST_DATA_CHUNK + 300);
	assert_int_equal(uses_reported() - reported, 1);
	assert_int_equal(hold_dropped_bytes(), 0);
}

/* A's last record never comes (lost to a full ring, counted by the kernel): after a
 * second tick A is rescanned with what came; a record of it coming later after all is
 * counted as not rescanned. */
static void test_call_whose_rest_was_lost(void **state)
{
	uint64_t rescanned = hold_rescanned_bytes(), reported = uses_reported();
	uint64_t a = 12 << 16 | 1;

	(void)state;
	feed(a, 0, ST_DATA_CHUNK, false, 40, "/tmp/held-f", true);
	hold_tick(1000, 1);
	assert_int_equal(hold_rescanned_bytes(), rescanned);	/* may still come */
	hold_tick(2000, 1);
	assert_int_equal(hold_rescanned_bytes() - rescanned, ST_DATA_CHUNK);
	assert_int_equal(uses_reported() - reported, 1);
	feed(a, ST_DATA_CHUNK, 300, true, 40, "/tmp/held-f", true);
	assert_int_equal(hold_dropped_bytes(), 300);
	assert_int_equal(hold_rescanned_bytes() - rescanned, ST_DATA_CHUNK);
}

/* A call with its records in order, held until the learner is idle. */
static void test_held_until_learned(void **state)
{
	uint64_t rescanned = hold_rescanned_bytes(), reported = uses_reported();
	uint64_t a = 10 << 16 | 1;

	(void)state;
	feed(a, 0, 64, true, 20, "/tmp/held-d", false);
	assert_int_equal(hold_rescanned_bytes(), rescanned);	/* the learner is busy */
	feed(11 << 16 | 1, 0, 64, true, UINT64_MAX, "/tmp/held-e", true);
	assert_int_equal(hold_rescanned_bytes() - rescanned, 128);
	assert_int_equal(uses_reported() - reported, 1);
	assert_int_equal(hold_dropped_bytes(), 300);	/* the previous test's, no more */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interleaved_calls),
		cmocka_unit_test(test_release_between_records),
		cmocka_unit_test(test_call_whose_rest_was_lost),
		cmocka_unit_test(test_held_until_learned),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
