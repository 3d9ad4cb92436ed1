/* SPDX-License-Identifier: GPL-2.0 */
/* What the fuzz harnesses share: an invariant that aborts (libFuzzer keeps the input). */
#ifndef SECRETRACE_FUZZ_H
#define SECRETRACE_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define check(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,         \
				__LINE__, #cond);                                          \
			abort();                                                           \
		}                                                                          \
	} while (0)

#endif
