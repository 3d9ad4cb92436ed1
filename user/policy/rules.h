/* SPDX-License-Identifier: GPL-2.0 */
/* A loaded policy (load.c builds it, decide.c reads it), and the matchers both use. */
#ifndef SECRETRACE_POLICY_RULES_H
#define SECRETRACE_POLICY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

enum dest_kind { DEST_IP4, DEST_IP6, DEST_HOST, DEST_UNIX };

struct pol_dest {
	enum dest_kind kind;
	uint8_t addr[16];
	unsigned prefix;		/* bits of addr that must match */
	char *name;			/* DEST_HOST: lower case, no "*." / DEST_UNIX: glob */
	bool wildcard;			/* DEST_HOST: "*.name" (one or more labels before name) */
	unsigned port_lo, port_hi;	/* 0: any port */
};

struct pol_entry {
	bool has_dest, has_sink;
	struct pol_dest dest;
	char *sink;
	char *exe;			/* glob, NULL if not named */
};

struct pol_rule {
	char *name;
	char *path;			/* glob, '/' separated */
	char *field;			/* glob, '.' separated; NULL: any field */
	struct pol_entry *allow;
	size_t nallow;
};

struct policy {
	bool deny;
	struct pol_rule *rules;
	size_t nrules;
};

/* glob.c: '*' any run but sep, '**' any run; the subject is the concatenation of nseg
 * pieces. */
bool glob_match_segs(const char *pat, const char *const *seg, const size_t *seglen, int nseg,
		     char sep);
bool glob_match(const char *pat, const char *s, char sep);

/* dest.c: "203.0.113.0/24:443", "[2001:db8::/32]:443", "*.example.com:1000-2000",
 * "unix:/run/x.sock" into d (false with why); does a use go there? */
bool dest_parse(const char *s, struct pol_dest *d, char *why, size_t wl);
bool dest_match(const struct pol_dest *d, const struct policy_use *u);

#endif
