// SPDX-License-Identifier: GPL-2.0
/* Globs of the policy: '*' and '**', matched without backtracking. */
#include <stdlib.h>
#include <string.h>

#include "policy/rules.h"

/*
 * A glob as a set of positions (an NFA): no backtracking, so any pattern runs in
 * O(len(pattern) * len(subject)). The subject is the concatenation of nseg pieces.
 */
bool glob_match_segs(const char *pat, const char *const *seg, const size_t *seglen,
			    int nseg, char sep)
{
	size_t m = strlen(pat), i, j;
	unsigned char stack_a[POLICY_MAX_GLOB + 2], stack_b[POLICY_MAX_GLOB + 2];
	unsigned char *cur = stack_a, *next = stack_b, *tmp;
	bool ok = false, any;
	int k;

	if (m > POLICY_MAX_GLOB) {
		cur = calloc(m + 2, 1);
		next = calloc(m + 2, 1);
		if (!cur || !next)
			goto done;
	}
	memset(cur, 0, m + 1);
	cur[0] = 1;
	/* closure: a star may match nothing; "**" is one token of two characters */
#define CLOSE(set)                                                                              \
	for (i = 0; i < m; i++)                                                                 \
		if ((set)[i] && pat[i] == '*')                                                  \
			(set)[i + (pat[i + 1] == '*' ? 2 : 1)] = 1;
	CLOSE(cur);
	for (k = 0; k < nseg; k++) {
		for (j = 0; j < seglen[k]; j++) {
			char ch = seg[k][j];

			memset(next, 0, m + 1);
			any = false;
			for (i = 0; i < m; i++) {
				if (!cur[i])
					continue;
				if (pat[i] == '*') {
					if (pat[i + 1] == '*' || ch != sep) {
						next[i] = 1;
						any = true;
					}
				} else if (pat[i] == ch) {
					next[i + 1] = 1;
					any = true;
				}
			}
			if (!any)
				goto done;
			CLOSE(next);
			tmp = cur;
			cur = next;
			next = tmp;
		}
	}
#undef CLOSE
	ok = cur[m];
done:
	if (m > POLICY_MAX_GLOB) {	/* both on the heap then */
		free(cur);
		free(next);
	}
	return ok;
}

bool glob_match(const char *pat, const char *s, char sep)
{
	size_t n = strlen(s);

	return glob_match_segs(pat, &s, &n, 1, sep);
}

bool policy_glob_match(const char *pattern, const char *s, char sep)
{
	return glob_match(pattern, s, sep);
}
