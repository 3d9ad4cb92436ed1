/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the test_learn_vault*.c unit tests share: a request ID, finding a learned item by
 * its field name and checking its value, and the group setup (secmem_init first, as the
 * tracer does).
 */
#ifndef SECRETRACE_TEST_LEARN_VAULT_UTIL_H
#define SECRETRACE_TEST_LEARN_VAULT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "learn/vault.h"
#include "lib/secmem.h"

#define RID "8f1a2b3c-0000-4d5e-9f00-112233445566"

static inline const struct vault_item *find(const struct vault_items *it, const char *field)
{
	size_t i;

	for (i = 0; i < it->n; i++)
		if (!strcmp(it->v[i].field, field))
			return &it->v[i];
	return NULL;
}

static inline void assert_item(const struct vault_items *it, const char *field, const char *value)
{
	const struct vault_item *x = find(it, field);

	if (!x)
		fail_msg("no item \"%s\"", field);
	assert_int_equal(x->len, strlen(value));
	assert_memory_equal(x->value, value, x->len);
}

static inline int setup(void **state)
{
	(void)state;
	return secmem_init();
}

#endif
