// SPDX-License-Identifier: GPL-2.0
/*
 * The string pool: equal texts share one copy, each holder counts, the last one out frees
 * it, and a pool emptied by its holders holds nothing (checked against a model over
 * thousands of random gets and puts).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strpool.h"

static int setup(void **state)
{
	static struct strpool p;

	assert_int_equal(strpool_init(&p), 0);
	*state = &p;
	return 0;
}

static int teardown(void **state)
{
	strpool_free(*state);
	return 0;
}

static void test_equal_texts_share(void **state)
{
	struct strpool *p = *state;
	char buf[32];
	char *a, *b, *c;

	strcpy(buf, "secret/data/app");
	a = strpool_get(p, buf);
	b = strpool_get(p, "secret/data/app");
	c = strpool_get(p, "secret/data/other");
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, buf);
	assert_ptr_not_equal(a, c);
	assert_string_equal(c, "secret/data/other");
	strpool_put(p, a);
	assert_string_equal(b, "secret/data/app");	/* still held by b */
	strpool_put(p, b);
	strpool_put(p, c);
	assert_int_equal(p->by_hash.live, 0);
}

static void test_empty_and_null(void **state)
{
	struct strpool *p = *state;

	assert_null(strpool_get(p, NULL));
	assert_null(strpool_get(p, ""));
	strpool_put(p, NULL);
	assert_int_equal(p->by_hash.live, 0);
}

/* Random gets and puts of 50 texts against a count of holders per text. */
static void test_model(void **state)
{
	struct strpool *p = *state;
	char *held[50][64];
	int refs[50] = { 0 }, i, t;
	uint32_t seed = 7;

	for (i = 0; i < 20000; i++) {
		char text[24];

		seed = seed * 1103515245 + 12345;
		t = (seed >> 8) % 50;
		snprintf(text, sizeof(text), "text-%d", t);
		if (refs[t] < 64 && ((seed >> 20) & 1 || !refs[t])) {
			held[t][refs[t]] = strpool_get(p, text);
			assert_non_null(held[t][refs[t]]);
			assert_string_equal(held[t][refs[t]], text);
			if (refs[t])
				assert_ptr_equal(held[t][refs[t]], held[t][0]);
			refs[t]++;
		} else {
			strpool_put(p, held[t][--refs[t]]);
		}
	}
	for (t = 0; t < 50; t++)
		while (refs[t])
			strpool_put(p, held[t][--refs[t]]);
	assert_int_equal(p->by_hash.live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_equal_texts_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model, setup, teardown),
	};

	return cmocka_run_group_tests_name("strpool", tests, NULL, NULL);
}
