/* SPDX-License-Identifier: GPL-2.0 */
/* Arrays that double when full. */
#ifndef SECRETRACE_GROW_H
#define SECRETRACE_GROW_H

#include <errno.h>
#include <stdlib.h>

/*
 * Room for element n of the array *arrp (a T ** passed as void *) of *cap elements of
 * elem bytes: doubles it when full (first elements at first). 0, or -ENOMEM with the
 * array and *cap unchanged.
 */
static inline int grow(void *arrp, size_t *cap, size_t n, size_t elem, size_t first)
{
	void **arr = arrp, *p;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : first;
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

#endif
