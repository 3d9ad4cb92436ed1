/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the unit tests of the dictionary's forms share: one dictionary `d` with fresh keys
 * (and the locked memory and redactor it needs), as a cmocka group's setup and teardown.
 */
#ifndef SECRETRACE_TEST_DICT_UTIL_H
#define SECRETRACE_TEST_DICT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dict/dict.h"
#include "lib/redact.h"
#include "lib/secmem.h"

static struct dict d;

static int dict_setup(void **state)
{
	(void)state;
	assert_int_equal(secmem_init(), 0);
	assert_int_equal(redact_init(), 0);
	return dict_init(&d, NULL, NULL, NULL);
}

static int dict_teardown(void **state)
{
	(void)state;
	dict_free(&d);
	redact_free();
	return 0;
}

#endif
