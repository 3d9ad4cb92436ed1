// SPDX-License-Identifier: GPL-2.0
/* Policy files as a tree of libyaml's events, and typed reads of it (yaml_tree.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"
#include "policy/policy.h"
#include "policy/yaml_tree.h"

void fail_at(struct ctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (m)
		snprintf(c->err, c->errlen, "%s:%lu:%lu: %s", c->name,
			 (unsigned long)m->line + 1, (unsigned long)m->column + 1, why);
	else
		snprintf(c->err, c->errlen, "%s: %s", c->name, why);
}

void ynode_free(struct ynode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->value);
	free(n);
}

static int ynode_add(struct ynode *parent, struct ynode *kid)
{
	if (grow(&parent->kids, &parent->cap, parent->n, sizeof(*parent->kids), 8))
		return -1;
	parent->kids[parent->n++] = kid;
	return 0;
}

/* Anchors, aliases and tags are refused: they are never needed in a policy. */
static bool plain_data(struct ctx *c, const yaml_event_t *e, const yaml_char_t *anchor,
		       const yaml_char_t *tag)
{
	if (anchor) {
		fail_at(c, &e->start_mark, "anchors (&%s) are not supported", (const char *)anchor);
		return false;
	}
	if (tag) {
		fail_at(c, &e->start_mark, "tags (%s) are not supported", (const char *)tag);
		return false;
	}
	return true;
}

/* libyaml's messages, with what usually causes them */
static const char *hint(const yaml_parser_t *p, const char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "";

	if (p->problem_mark.index < len && buf[p->problem_mark.index] == '\t')
		return " (indent with spaces, not tabs)";
	if (strstr(problem, "alphabetic or numeric character"))
		return " (a value that starts with * or & must be quoted: \"*.example.com\")";
	if (strstr(problem, "expected key") || strstr(problem, "expected ',' or"))
		return " (quote values that start with [ or {: \"[2001:db8::/32]:443\")";
	return "";
}

/* Returns the document's root node (NULL with c->failed set on error). */
struct ynode *load_tree(struct ctx *c, const char *buf, size_t len)
{
	struct ynode *stack[MAX_DEPTH + 1], *root = NULL, *node;
	yaml_parser_t parser;
	yaml_event_t e;
	int depth = 0, docs = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser)) {
		fail_at(c, NULL, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && !c->failed) {
		if (!yaml_parser_parse(&parser, &e)) {
			fail_at(c, &parser.problem_mark, "%s%s%s%s",
				parser.context ? parser.context : "",
				parser.context ? ", " : "",
				parser.problem ? parser.problem : "syntax error",
				hint(&parser, buf, len));
			break;
		}
		node = NULL;
		switch (e.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				fail_at(c, &e.start_mark, "more than one YAML document");
			break;
		case YAML_ALIAS_EVENT:
			fail_at(c, &e.start_mark, "aliases (*%s) are not supported",
				(const char *)e.data.alias.anchor);
			break;
		case YAML_SCALAR_EVENT:
			if (!plain_data(c, &e, e.data.scalar.anchor, e.data.scalar.tag))
				break;
			node = calloc(1, sizeof(*node));
			if (node)
				node->value = malloc(e.data.scalar.length + 1);
			if (!node || !node->value) {
				free(node);
				node = NULL;
				fail_at(c, NULL, "out of memory");
				break;
			}
			node->kind = Y_SCALAR;
			memcpy(node->value, e.data.scalar.value, e.data.scalar.length);
			node->value[e.data.scalar.length] = 0;
			node->len = e.data.scalar.length;
			node->plain = e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (e.type == YAML_SEQUENCE_START_EVENT ?
				    !plain_data(c, &e, e.data.sequence_start.anchor,
						e.data.sequence_start.tag) :
				    !plain_data(c, &e, e.data.mapping_start.anchor,
						e.data.mapping_start.tag))
				break;
			if (depth == MAX_DEPTH) {
				fail_at(c, &e.start_mark, "nested more than %d levels deep",
					MAX_DEPTH);
				break;
			}
			node = calloc(1, sizeof(*node));
			if (!node) {
				fail_at(c, NULL, "out of memory");
				break;
			}
			node->kind = e.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
		if (node) {
			node->mark = e.start_mark;
			if (depth == 0 && !root) {
				root = node;
			} else if (depth == 0 || ynode_add(stack[depth - 1], node)) {
				/* depth 0 with a root: cannot happen with one document */
				ynode_free(node);
				fail_at(c, NULL, "out of memory");
				node = NULL;
			}
			if (node && node->kind != Y_SCALAR)
				stack[depth++] = node;
		}
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&parser);
	if (c->failed) {
		ynode_free(root);
		return NULL;
	}
	if (!root) {
		yaml_mark_t m = { 0 };

		fail_at(c, &m, "empty policy: expected a mapping with default and rules");
	}
	return root;
}

bool is_null(const struct ynode *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	int i;

	for (i = 0; n->plain && nulls[i]; i++)
		if (!strcmp(n->value, nulls[i]))
			return true;
	return false;
}

bool is_bool(const struct ynode *n)
{
	static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE",
					     NULL };
	int i;

	for (i = 0; n->plain && bools[i]; i++)
		if (!strcmp(n->value, bools[i]))
			return true;
	return false;
}

/* A YAML 1.2 core schema number (int, float, .inf, .nan). */
bool is_number(const struct ynode *n)
{
	const char *s = n->value;
	bool digits = false;

	if (!n->plain)
		return false;
	if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
		return true;
	if (*s == '+' || *s == '-')
		s++;
	if (!strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF"))
		return true;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o') && s[2]) {
		for (s += 2; *s; s++)
			if (!isxdigit((unsigned char)*s))
				return false;
		return true;
	}
	for (; isdigit((unsigned char)*s); s++)
		digits = true;
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++)
			digits = true;
	if (digits && (*s == 'e' || *s == 'E')) {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return digits && !*s;
}

const char *kind_name(const struct ynode *n)
{
	if (n->kind == Y_SEQ)
		return "a list";
	if (n->kind == Y_MAP)
		return "a mapping";
	if (is_null(n))
		return "nothing";
	if (is_bool(n))
		return "a boolean";
	if (is_number(n))
		return "a number";
	return "a string";
}

/* A string value (plain scalars that YAML would read as null, boolean or number are not). */
const char *want_string(struct ctx *c, const struct ynode *n, const char *what)
{
	if (n->kind != Y_SCALAR || is_null(n) || is_bool(n) || is_number(n)) {
		bool quotable = n->kind == Y_SCALAR && !is_null(n);

		fail_at(c, &n->mark, "%s: expected a string, got %s%s", what, kind_name(n),
			quotable ? " (quote it to make it a string)" : "");
		return NULL;
	}
	if (strlen(n->value) != n->len) {
		fail_at(c, &n->mark, "%s: contains a NUL character", what);
		return NULL;
	}
	return n->value;
}

bool want_kind(struct ctx *c, const struct ynode *n, enum ykind k, const char *what)
{
	if (n->kind == k)
		return true;
	fail_at(c, &n->mark, "%s: expected %s, got %s", what, k == Y_SEQ ? "a list" : "a mapping",
		kind_name(n));
	return false;
}

bool walk_map(struct ctx *c, const struct ynode *map, const char *what,
		     const char *const *known, key_fn fn, void *obj, unsigned *seen_out)
{
	unsigned seen = 0;
	size_t i;
	int k;

	if (!want_kind(c, map, Y_MAP, what))
		return false;
	for (i = 0; i + 1 < map->n; i += 2) {
		const struct ynode *key = map->kids[i], *val = map->kids[i + 1];
		const char *name;

		if (key->kind != Y_SCALAR || strlen(key->value) != key->len) {
			fail_at(c, &key->mark, "%s: keys must be plain names", what);
			return false;
		}
		name = key->value;
		for (k = 0; known[k]; k++)
			if (!strcmp(name, known[k]))
				break;
		if (!known[k]) {
			char list[160] = "";
			int j;

			for (j = 0; known[j]; j++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 j ? ", " : "", known[j]);
			fail_at(c, &key->mark, "%s: unknown key \"%.64s\" (known: %s)", what, name,
				list);
			return false;
		}
		if (seen & (1u << k)) {
			fail_at(c, &key->mark, "%s: duplicate key \"%s\"", what, name);
			return false;
		}
		seen |= 1u << k;
		if (!fn(c, obj, k, key, val))
			return false;
	}
	if (seen_out)
		*seen_out = seen;
	return true;
}
