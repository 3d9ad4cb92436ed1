/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A policy file as a small tree of libyaml's events (no anchors, aliases or tags: a policy
 * is plain data, and aliases would let a small file expand without bound), and the typed
 * reads the schema (load.c) makes of it. The first problem found is reported with its
 * position ("FILE:LINE:COLUMN: reason") and loading stops there.
 */
#ifndef SECRETRACE_POLICY_YAML_TREE_H
#define SECRETRACE_POLICY_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#define MAX_DEPTH 16		/* the schema needs 5 levels; deeper is a mistake */

enum ykind { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ykind kind;
	yaml_mark_t mark;
	char *value;			/* scalars */
	size_t len;
	bool plain;			/* unquoted: may be null, a boolean or a number */
	struct ynode **kids;		/* sequences: items; mappings: key, value, key, value... */
	size_t n, cap;
};

struct ctx {
	const char *name;
	char *err;
	size_t errlen;
	bool failed;
};

void fail_at(struct ctx *c, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ynode_free(struct ynode *n);
/* The tree of buf (len bytes), or NULL with c->err set. */
struct ynode *load_tree(struct ctx *c, const char *buf, size_t len);
bool is_null(const struct ynode *n);
bool is_bool(const struct ynode *n);
bool is_number(const struct ynode *n);
/* What n is, for messages: "a list", "a mapping", "nothing", "a boolean"... */
const char *kind_name(const struct ynode *n);
/* A scalar's text, or NULL (and c failed) when n is not a string. */
const char *want_string(struct ctx *c, const struct ynode *n, const char *what);
bool want_kind(struct ctx *c, const struct ynode *n, enum ykind k, const char *what);

/*
 * Walks a mapping's keys against a list of known ones: unknown and repeated keys are
 * errors. Calls back with the key's index in `known`.
 */
typedef bool (*key_fn)(struct ctx *c, void *obj, int key, const struct ynode *k,
		       const struct ynode *v);
bool walk_map(struct ctx *c, const struct ynode *map, const char *what,
	      const char *const *known, key_fn fn, void *obj, unsigned *seen_out);

#endif
