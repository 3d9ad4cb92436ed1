// SPDX-License-Identifier: GPL-2.0
/*
 * What a traced process may add to the dictionary (dict/limits.c): values refused as
 * protocol text or too plain, the rates per process and server, the unnamed servers' share,
 * and the refusals counted for tracer.anomaly, one kind at a time and rate-limited.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dict/limits.h"

#define S 1000000000ULL

static int value(const char *v)
{
	return limits_value((const uint8_t *)v, strlen(v));
}

static void test_values(void **state)
{
	(void)state;
	assert_int_equal(value("Content-Type: application/json"), LIMIT_COMMON_VALUE);
	assert_int_equal(value("content-type: APPLICATION/JSON"), LIMIT_COMMON_VALUE);
	assert_int_equal(value("application/json"), LIMIT_COMMON_VALUE);
	assert_int_equal(value("User-Agent: anything at all 1.0"), LIMIT_COMMON_VALUE);
	assert_int_equal(value("\"data\":{\"data\":{"), LIMIT_COMMON_VALUE);
	assert_int_equal(value("aaaaaaaaaaaa"), LIMIT_LOW_ENTROPY);
	assert_int_equal(value("0101010101010101"), LIMIT_LOW_ENTROPY);
	assert_int_equal(value("abcdabcdabcd"), LIMIT_LOW_ENTROPY);
	assert_int_equal(value("aaaaaaaaabcd"), LIMIT_LOW_ENTROPY);	/* one byte over half */
	/* what secrets look like */
	assert_int_equal(value("hvs.CAESIJxYz0sTBdNIvp4k"), -1);
	assert_int_equal(value("Authorization: Bearer sk-4f9aXq"), -1);
	assert_int_equal(value("12345678"), -1);
	assert_int_equal(value("s3cr3t-P4ss"), -1);
	assert_int_equal(value("a7Bq9xZ2"), -1);
}

static void test_rates(void **state)
{
	int i, ok = 0;

	(void)state;
	assert_int_equal(limits_init(1 << 20), 0);
	/* a process: its burst, then LIMIT_PROC_PER_S a second */
	for (i = 0; i < LIMIT_PROC_BURST; i++)
		ok += limits_admit(1, 77, false, S) < 0;
	assert_int_equal(ok, LIMIT_PROC_BURST);
	assert_int_equal(limits_admit(1, 77, false, S), LIMIT_PROCESS_RATE);
	assert_int_equal(limits_admit(1, 77, false, 2 * S), -1);
	for (i = 0, ok = 0; i < 100; i++)
		ok += limits_admit(1, 77, false, 2 * S) < 0;
	assert_int_equal(ok, LIMIT_PROC_PER_S - 1);
	/* a second process from the same server: its own burst; a third: what the server has
	 * left (its burst and a second's refill, less the first two's) */
	for (i = 0, ok = 0; i < LIMIT_PROC_BURST; i++)
		ok += limits_admit(2, 77, false, 2 * S) < 0;
	assert_int_equal(ok, LIMIT_PROC_BURST);
	for (i = 0, ok = 0; i < 100; i++)
		ok += limits_admit(3, 77, false, 2 * S) < 0;
	assert_int_equal(ok, LIMIT_SERVER_BURST + LIMIT_SERVER_PER_S - 2 * LIMIT_PROC_BURST -
				     LIMIT_PROC_PER_S);
	assert_int_equal(limits_admit(3, 77, false, 2 * S), LIMIT_SERVER_RATE);
	/* another server; a named one is never refused for room */
	assert_int_equal(limits_admit(3, 78, false, 2 * S), -1);
	for (i = 0, ok = 0; i < 10000; i++)
		ok += limits_admit(1, 79, true, 2 * S) < 0;
	assert_int_equal(ok, 10000);
	limits_free();
}

static void test_unnamed_share(void **state)
{
	(void)state;
	assert_int_equal(limits_init(1000), 0);
	assert_int_equal(limits_admit(1, 5, false, S), -1);
	limits_added(false, 499);
	assert_int_equal(limits_admit(2, 6, false, S), -1);
	limits_added(true, 400);	/* named: not in the share */
	limits_added(false, 1);
	assert_int_equal(limits_admit(3, 7, false, S), LIMIT_UNNAMED_SHARE);
	assert_int_equal(limits_admit(3, 7, true, S), -1);
	limits_free();
}

static void test_refusals(void **state)
{
	enum limit_kind k;
	uint64_t before;

	(void)state;
	assert_int_equal(limits_init(1000), 0);
	before = limits_refused_total();
	assert_int_equal(limits_take_refusals(9, S, S, &k), 0);
	limits_refused(9, LIMIT_COMMON_VALUE);
	limits_refused(9, LIMIT_COMMON_VALUE);
	limits_refused(9, LIMIT_STRICT);
	assert_int_equal(limits_take_refusals(9, S, S, &k), 2);
	assert_int_equal(k, LIMIT_COMMON_VALUE);
	assert_int_equal(limits_take_refusals(9, S, S, &k), 1);
	assert_int_equal(k, LIMIT_STRICT);
	assert_int_equal(limits_take_refusals(9, S, S, &k), 0);
	/* within the gap: held back, counted into the next; without a gap: all */
	limits_refused(9, LIMIT_COMMON_VALUE);
	assert_int_equal(limits_take_refusals(9, S + S / 2, S, &k), 0);
	limits_refused(9, LIMIT_COMMON_VALUE);
	assert_int_equal(limits_take_refusals(9, 2 * S, S, &k), 2);
	limits_refused(9, LIMIT_LOW_ENTROPY);
	assert_int_equal(limits_take_refusals(9, 2 * S, 0, &k), 1);
	assert_int_equal(k, LIMIT_LOW_ENTROPY);
	assert_int_equal(limits_refused_total() - before, 6);
	limits_forget(9);
	assert_int_equal(limits_take_refusals(9, 9 * S, 0, &k), 0);
	assert_string_equal(limits_kind_name(LIMIT_STRICT), "strict_unnamed_server");
	limits_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_unnamed_share),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
