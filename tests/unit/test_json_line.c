// SPDX-License-Identifier: GPL-2.0
/*
 * The event serializer: byte for byte what jansson's json_dumps(JSON_COMPACT) writes, for
 * every kind of value, every byte a string can hold, nesting, and thousands of random
 * trees; and a tree deeper than any event is refused rather than overflowing the stack.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/json_line.h"

static struct json_line line;

static void same_as_jansson(json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	assert_non_null(want);
	assert_int_equal(json_line_dump(&line, v), 0);
	assert_int_equal(line.len, strlen(want));
	assert_string_equal(line.buf, want);
	free(want);
}

static void test_scalars(void **state)
{
	static const json_int_t ints[] = { 0, 1, -1, 9, 10, 99, 100, 12345, -12345,
					   2147483647LL, -2147483648LL, 9223372036854775807LL,
					   -9223372036854775807LL - 1 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		json_t *v = json_integer(ints[i]);

		same_as_jansson(v);
		json_decref(v);
	}
	same_as_jansson(json_true());
	same_as_jansson(json_false());
	same_as_jansson(json_null());
	{
		json_t *r = json_real(1.5);

		same_as_jansson(r);
		json_decref(r);
	}
}

/* every byte value (bar NUL inside keys) in strings and keys, UTF-8 included */
static void test_every_byte(void **state)
{
	char s[256];
	json_t *o = json_object();
	int c;

	(void)state;
	for (c = 0; c < 256; c++)
		s[c] = (char)c;
	/* jansson only holds valid UTF-8: the ASCII bytes, NUL included, and some UTF-8 */
	json_object_set_new(o, "ascii", json_stringn(s, 128));
	json_object_set_new(o, "utf8", json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 \xe2\x80\xa8"));
	json_object_set_new(o, "quote\"back\\slash/\x01\x1f\x7f", json_string("\"\\/\b\f\n\r\t"));
	json_object_set_new(o, "", json_string(""));
	same_as_jansson(o);
	json_decref(o);
}

static void test_nesting(void **state)
{
	json_t *o = json_pack("{s:{s:i,s:{s:s,s:[i,s,{},[]]}},s:[],s:{},s:b}", "process", "pid",
			      42, "parent", "name", "sh", "args", 1, "two", "empty_array", "empty_object",
			      "flag", 1);

	(void)state;
	assert_non_null(o);
	same_as_jansson(o);
	json_decref(o);
}

static json_t *random_value(int depth)
{
	int kind = rand() % (depth > 4 ? 4 : 7);
	char s[40];
	size_t i, n;
	json_t *v;

	switch (kind) {
	case 0:
		return json_integer((json_int_t)rand() * (rand() % 2 ? 1 : -1) * rand());
	case 1:
		n = rand() % sizeof(s);
		for (i = 0; i < n; i++)
			s[i] = (char)(rand() % 128);
		return json_stringn(s, n);
	case 2:
		return json_boolean(rand() % 2);
	case 3:
		return json_null();
	case 4:
	case 5:
		v = json_object();
		n = rand() % 6;
		for (i = 0; i < n; i++) {
			snprintf(s, sizeof(s), "k%d\t\"%d", rand() % 50, rand() % 3);
			json_object_set_new(v, s, random_value(depth + 1));
		}
		return v;
	default:
		v = json_array();
		n = rand() % 6;
		for (i = 0; i < n; i++)
			json_array_append_new(v, random_value(depth + 1));
		return v;
	}
}

static void test_random_trees(void **state)
{
	int i;

	(void)state;
	srand(7);
	for (i = 0; i < 5000; i++) {
		json_t *v = random_value(0);

		same_as_jansson(v);
		json_decref(v);
	}
}

static void test_too_deep_is_refused(void **state)
{
	json_t *root = json_array(), *v = root;
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		json_t *c = json_array();

		json_array_append_new(v, c);
		v = c;
	}
	assert_int_equal(json_line_dump(&line, root), -1);
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_random_trees),
		cmocka_unit_test(test_too_deep_is_refused),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	json_line_free(&line);
	return ret;
}
