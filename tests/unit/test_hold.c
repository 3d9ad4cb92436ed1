// SPDX-License-Identifier: GPL-2.0
/*
 * detect/hold.c with synthetic held records, in the orders the ring buffer can give them:
 * a call's records with another CPU's between them, or a release between them (its bytes
 * joined by call id, a secret across its records found), and a call whose last record
 * never comes (rescanned with what came; a record after that counted, never silent), and
 * a held call whose process exited and was forgotten before the rescan (still named).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/hold.h"
#include "test_sink_util.h"
#include "dict/dict.h"
#include "enrich/procs.h"
#include "lib/redact.h"
#include "lib/secmem.h"
#include "policy/uses.h"

static struct dict d;
static volatile __u64 in_seq = 1, learned_seq, hold_bytes;
static const uint8_t SECRET[] = "sk-held-7Qx2Lw9Vb4Nz8Rt3Ym6Kp1";
static char out_path[] = "/tmp/test_hold.XXXXXX";

static int setup(void **state)
{
	struct hold_shared sh = { .in_seq = &in_seq, .learned_seq = &learned_seq,
				  .hold_bytes = &hold_bytes };
	struct secret_origin o = { .request_id = "req-1", .path = "secret/data/a", .field = "k",
				   .pid = (uint32_t)getpid(), .source = SECRET_FROM_RESPONSE };
	uint32_t idx;

	(void)state;
	if (file_sink_open(out_path))
		return -1;
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
	sinks_close();
	redact_free();
	unlink(out_path);
	return 0;
}

/* One held record: bytes [offset, offset + len) of call_id's stream, filler but for the
 * secret at stream offset at (if it falls in them). */
static void feed_pid(uint32_t pid, uint64_t call_id, uint64_t offset, uint32_t len, bool last,
		     uint64_t at, const char *path, bool learner_idle)
{
	struct st_rec_data *r = calloc(1, sizeof(*r));
	uint64_t i;

	assert_non_null(r);
	r->hdr.type = ST_REC_DATA;
	r->hdr.pid = r->hdr.tid = pid;
	r->hdr.start_ns = 1000000000ULL;
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

static void feed(uint64_t call_id, uint64_t offset, uint32_t len, bool last, uint64_t at,
		 const char *path, bool learner_idle)
{
	feed_pid((uint32_t)getpid(), call_id, offset, len, last, at, path, learner_idle);
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

/* The process record of a process that is not running (pid past any pid_max). */
static void exec_exit(uint32_t pid, const char *exe, bool exec)
{
	static struct st_rec_exec x;
	struct st_rec_exit e = { .hdr = { .type = ST_REC_EXIT, .pid = pid, .tid = pid,
					  .start_ns = 1000000000ULL } };

	if (exec) {
		memset(&x, 0, sizeof(x));
		x.hdr = e.hdr;
		x.hdr.type = ST_REC_EXEC;
		x.ppid = 1;
		x.exe_len = strlen(exe);
		memcpy(x.exe, exe, x.exe_len);
		assert_non_null(procs_exec(&x));
	}
	assert_non_null(procs_exit(&e));
}

/* The held call's process exits, then 5,000 others (more than procs.c remembers) before
 * the learner catches up: the rescanned use still names its executable. */
static void test_process_forgotten_before_rescan(void **state)
{
	uint32_t pid = 4200000, i;
	json_t *evs, *last;

	(void)state;
	exec_exit(pid, "/opt/agent/bin/held-agent", true);
	feed_pid(pid, 13 << 16 | 0, 0, 80, true, 10, "/tmp/held-g", false);
	for (i = 1; i <= 5000; i++)
		exec_exit(pid + i, "/bin/true", false);
	assert_null(procs_lookup(pid));
	hold_release(2);
	evs = file_sink_events(out_path);
	last = json_array_get(evs, json_array_size(evs) - 1);
	assert_string_equal(json_string_value(json_at(last, "event", "action")), "secret.use");
	assert_string_equal(json_string_value(json_at(last, "process", "executable")),
			    "/opt/agent/bin/held-agent");
	json_decref(evs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interleaved_calls),
		cmocka_unit_test(test_release_between_records),
		cmocka_unit_test(test_call_whose_rest_was_lost),
		cmocka_unit_test(test_held_until_learned),
		cmocka_unit_test(test_process_forgotten_before_rescan),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
