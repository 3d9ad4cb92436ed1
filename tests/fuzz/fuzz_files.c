// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for delivered files (learn/file_formats.c): the input is parsed as a
 * --learn-file file. Invariants: no crash, leak or undefined behaviour; every value is
 * 8 bytes or more and has a field; the limit holds; a one-value file's value is the input
 * less its final newline; parsing is deterministic.
 * Build and run: tools/fuzz.sh [seconds] (FUZZ_TARGETS=files for this one alone)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/file_formats.h"
#include "lib/secmem.h"
#include "fuzz.h"

#define MAX_ITEMS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct file_values a, b;
	size_t i;

	if (file_parse("fuzz", data, size, MAX_ITEMS, &a))
		return 0;	/* out of memory */
	check(a.items.n <= MAX_ITEMS);
	check(!a.skipped_limit || a.items.n == MAX_ITEMS);
	for (i = 0; i < a.items.n; i++) {
		check(a.items.v[i].field && a.items.v[i].value);
		check(a.items.v[i].len >= 8);
		check(a.items.v[i].len <= size);
	}
	if (a.format == FILE_FMT_RAW && a.items.n) {
		check(a.items.n == 1 && !strcmp(a.items.v[0].field, "fuzz"));
		check(!memcmp(a.items.v[0].value, data, a.items.v[0].len));
		check(size - a.items.v[0].len <= 2);
	}
	check(!file_parse("fuzz", data, size, MAX_ITEMS, &b));
	check(a.format == b.format && a.items.n == b.items.n);
	for (i = 0; i < a.items.n; i++) {
		check(a.items.v[i].len == b.items.v[i].len);
		check(!memcmp(a.items.v[i].value, b.items.v[i].value, a.items.v[i].len));
		check(!strcmp(a.items.v[i].field, b.items.v[i].field));
	}
	file_values_free(&a);
	file_values_free(&b);
	return 0;
}
