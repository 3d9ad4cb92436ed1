// SPDX-License-Identifier: GPL-2.0
/*
 * Policy files: libyaml's event stream is built into a small tree (no anchors, aliases or
 * tags: a policy is plain data, and aliases would let a small file expand without bound),
 * then checked against the schema in docs/policy.md. The first problem found is reported
 * with its position and loading stops there.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "lib/grow.h"
#include "policy/policy.h"

#define MAX_DEPTH 16		/* the schema needs 5 levels; deeper is a mistake */

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

/* ---- the YAML tree ---- */

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

static void fail_at(struct ctx *c, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail_at(struct ctx *c, const yaml_mark_t *m, const char *fmt, ...)
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

static void ynode_free(struct ynode *n)
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
static struct ynode *load_tree(struct ctx *c, const char *buf, size_t len)
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

/* ---- typed values ---- */

static bool is_null(const struct ynode *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	int i;

	for (i = 0; n->plain && nulls[i]; i++)
		if (!strcmp(n->value, nulls[i]))
			return true;
	return false;
}

static bool is_bool(const struct ynode *n)
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
static bool is_number(const struct ynode *n)
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

static const char *kind_name(const struct ynode *n)
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
static const char *want_string(struct ctx *c, const struct ynode *n, const char *what)
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

static bool want_kind(struct ctx *c, const struct ynode *n, enum ykind k, const char *what)
{
	if (n->kind == k)
		return true;
	fail_at(c, &n->mark, "%s: expected %s, got %s", what, k == Y_SEQ ? "a list" : "a mapping",
		kind_name(n));
	return false;
}

/*
 * Walks a mapping's keys against a list of known ones: unknown and repeated keys are
 * errors. Calls back with the key's index in `known`.
 */
typedef bool (*key_fn)(struct ctx *c, void *obj, int key, const struct ynode *k,
		       const struct ynode *v);

static bool walk_map(struct ctx *c, const struct ynode *map, const char *what,
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

/* ---- globs ---- */

/*
 * Checks a glob: '*' and '**' are the only wildcards; the other glob characters are
 * reserved so that a pattern never silently means something else than it seems to.
 */
static bool check_glob(struct ctx *c, const struct ynode *n, const char *what, const char *s,
		       char sep)
{
	const char *p;

	if (!*s) {
		fail_at(c, &n->mark, "%s: empty", what);
		return false;
	}
	if (strlen(s) > POLICY_MAX_GLOB) {
		fail_at(c, &n->mark, "%s: longer than %d characters", what, POLICY_MAX_GLOB);
		return false;
	}
	for (p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			fail_at(c, &n->mark, "%s: control character in \"%.64s\"", what, s);
			return false;
		}
		if (strchr("?[]{}\\", *p)) {
			fail_at(c, &n->mark,
				"%s: bad glob \"%.64s\": '%c' is reserved (only * and ** are wildcards)",
				what, s, *p);
			return false;
		}
	}
	if (strstr(s, "***")) {
		fail_at(c, &n->mark, "%s: bad glob \"%.64s\": *** (use * or **)", what, s);
		return false;
	}
	if (sep) {
		char two[3] = { sep, sep, 0 };

		if (s[0] == sep || s[strlen(s) - 1] == sep || strstr(s, two)) {
			fail_at(c, &n->mark, "%s: bad glob \"%.64s\": empty %s at %s", what, s,
				sep == '/' ? "path segment" : "field name",
				s[0] == sep ? "the start" : strstr(s, two) ? "a doubled separator" :
				"the end");
			return false;
		}
	}
	return true;
}

/*
 * A glob as a set of positions (an NFA): no backtracking, so any pattern runs in
 * O(len(pattern) * len(subject)). The subject is the concatenation of nseg pieces.
 */
static bool glob_match_segs(const char *pat, const char *const *seg, const size_t *seglen,
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

static bool glob_match(const char *pat, const char *s, char sep)
{
	size_t n = strlen(s);

	return glob_match_segs(pat, &s, &n, 1, sep);
}

bool policy_glob_match(const char *pattern, const char *s, char sep)
{
	return glob_match(pattern, s, sep);
}

/* ---- destinations ---- */

/* "443" or "1000-2000" */
static bool parse_ports(const char *s, struct pol_dest *d, char *why, size_t wl)
{
	unsigned long v[2] = { 0, 0 };
	const char *p = s;
	int i;

	for (i = 0; i < 2; i++) {
		const char *start = p;

		while (isdigit((unsigned char)*p) && p - start < 6)
			v[i] = v[i] * 10 + (unsigned long)(*p++ - '0');
		if (p == start || isdigit((unsigned char)*p) || v[i] < 1 || v[i] > 65535) {
			snprintf(why, wl, "bad port \"%.32s\" (ports are 1 to 65535, or LOW-HIGH)", s);
			return false;
		}
		if (i == 0 && *p == '-') {
			p++;
			continue;
		}
		if (i == 0)
			v[1] = v[0];
		break;
	}
	if (*p) {
		snprintf(why, wl, "bad port \"%.32s\" (ports are 1 to 65535, or LOW-HIGH)", s);
		return false;
	}
	if (v[0] > v[1]) {
		snprintf(why, wl, "bad port range \"%.32s\" (low end above high end)", s);
		return false;
	}
	d->port_lo = v[0];
	d->port_hi = v[1];
	return true;
}

/* "ADDR" or "ADDR/PREFIX", family af; rejects host bits set below the prefix. */
static bool parse_cidr(const char *s, int af, struct pol_dest *d, char *why, size_t wl)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	unsigned max = af == AF_INET ? 32 : 128, bits = max, i;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	const char *fam = af == AF_INET ? "IPv4" : "IPv6";

	if (alen >= sizeof(addr)) {
		snprintf(why, wl, "bad %s address \"%.64s\"", fam, s);
		return false;
	}
	memcpy(addr, s, alen);
	addr[alen] = 0;
	if (inet_pton(af, addr, d->addr) != 1) {
		snprintf(why, wl, "bad %s address \"%.64s\"", fam, addr);
		return false;
	}
	if (slash) {
		const char *p = slash + 1;

		bits = 0;
		if (!*p || (p[0] == '0' && p[1]))
			bits = max + 1;
		for (; *p && bits <= max; p++)
			bits = isdigit((unsigned char)*p) ? bits * 10 + (unsigned)(*p - '0') :
							     max + 1;
		if (bits > max) {
			snprintf(why, wl, "bad CIDR \"%.64s\": the prefix length must be 0 to %u", s,
				 max);
			return false;
		}
	}
	for (i = bits; i < max; i++)
		if (d->addr[i / 8] & (0x80 >> (i % 8))) {
			snprintf(why, wl, "bad CIDR \"%.64s\": bits are set past the /%u prefix", s,
				 bits);
			return false;
		}
	d->kind = af == AF_INET ? DEST_IP4 : DEST_IP6;
	d->prefix = bits;
	return true;
}

/* A DNS name, optionally "*." + name; stored lower case without "*." or a final dot. */
static bool parse_host(const char *s, size_t len, struct pol_dest *d, char *why, size_t wl)
{
	size_t label = 0, i, start = 0;

	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		d->wildcard = true;
		start = 2;
	}
	if (len > start && s[len - 1] == '.')
		len--;
	if (len <= start || len - start > 253) {
		snprintf(why, wl, "bad host name \"%.64s\"", s);
		return false;
	}
	for (i = start; i <= len; i++) {
		char ch = i < len ? s[i] : '.';

		if (ch == '.') {
			if (!label || s[i - 1] == '-' || s[i - label] == '-') {
				snprintf(why, wl, "bad host name \"%.64s\" (empty label, or one that "
					 "starts or ends with -)", s);
				return false;
			}
			label = 0;
			continue;
		}
		if (ch == '*') {
			snprintf(why, wl, "bad host name \"%.64s\": * is allowed only as the whole "
				 "first label (\"*.example.com\")", s);
			return false;
		}
		if (!isalnum((unsigned char)ch) && ch != '-' && ch != '_') {
			snprintf(why, wl, "bad host name \"%.64s\": '%c' is not allowed", s, ch);
			return false;
		}
		if (++label > 63) {
			snprintf(why, wl, "bad host name \"%.64s\": a label is longer than 63", s);
			return false;
		}
	}
	d->name = strndup(s + start, len - start);
	if (!d->name) {
		snprintf(why, wl, "out of memory");
		return false;
	}
	for (i = 0; d->name[i]; i++)
		d->name[i] = tolower((unsigned char)d->name[i]);
	d->kind = DEST_HOST;
	return true;
}

static bool parse_dest(const char *s, struct pol_dest *d, char *why, size_t wl)
{
	const char *colon, *p;
	char host[POLICY_MAX_GLOB + 1];
	size_t hlen;
	int colons = 0;

	memset(d, 0, sizeof(*d));
	if (!strncmp(s, "unix:", 5)) {
		p = s + 5;
		if (*p != '/' && *p != '@') {
			snprintf(why, wl, "bad unix destination \"%.64s\": want unix:/absolute/path "
				 "or unix:@abstract-name", s);
			return false;
		}
		d->kind = DEST_UNIX;
		d->name = strdup(p);
		if (!d->name)
			snprintf(why, wl, "out of memory");
		return d->name != NULL;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close == s + 1) {
			snprintf(why, wl, "bad IPv6 destination \"%.64s\": want [ADDR]:PORT", s);
			return false;
		}
		hlen = (size_t)(close - s - 1);
		if (hlen >= sizeof(host)) {
			snprintf(why, wl, "bad IPv6 address in \"%.64s\"", s);
			return false;
		}
		memcpy(host, s + 1, hlen);
		host[hlen] = 0;
		if (!parse_cidr(host, AF_INET6, d, why, wl))
			return false;
		if (!close[1])
			return true;
		if (close[1] != ':') {
			snprintf(why, wl, "bad IPv6 destination \"%.64s\": want [ADDR]:PORT", s);
			return false;
		}
		return parse_ports(close + 2, d, why, wl);
	}
	for (p = s; *p; p++)
		colons += *p == ':';
	if (colons > 1)		/* a bare IPv6 address or network, no port */
		return parse_cidr(s, AF_INET6, d, why, wl);
	colon = strchr(s, ':');
	hlen = colon ? (size_t)(colon - s) : strlen(s);
	if (!hlen || hlen >= sizeof(host)) {
		snprintf(why, wl, "bad destination \"%.64s\"", s);
		return false;
	}
	memcpy(host, s, hlen);
	host[hlen] = 0;
	if (strspn(host, "0123456789./") == hlen) {
		if (!parse_cidr(host, AF_INET, d, why, wl))
			return false;
	} else if (strchr(host, '/')) {
		snprintf(why, wl, "bad destination \"%.64s\": a CIDR needs an IP address", s);
		return false;
	} else if (!parse_host(host, hlen, d, why, wl)) {
		return false;
	}
	return colon ? parse_ports(colon + 1, d, why, wl) : true;
}

/* ---- the schema ---- */

static const char *const sinks[] = { "socket", "file", "pipe", "tty", "argv", "env", NULL };

static void entry_free(struct pol_entry *e)
{
	free(e->dest.name);
	free(e->sink);
	free(e->exe);
}

static void rule_free(struct pol_rule *r)
{
	size_t i;

	for (i = 0; i < r->nallow; i++)
		entry_free(&r->allow[i]);
	free(r->allow);
	free(r->name);
	free(r->path);
	free(r->field);
}

void policy_free(struct policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nrules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	free(p);
}

static char *dup_or_fail(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		fail_at(c, NULL, "out of memory");
	return d;
}

enum { E_DEST, E_SINK, E_EXE };
static const char *const entry_keys[] = { "destination", "sink", "executable", NULL };

static bool entry_key(struct ctx *c, void *obj, int key, const struct ynode *k,
		      const struct ynode *v)
{
	struct pol_entry *e = obj;
	const char *s;
	char why[256];
	int i;

	(void)k;
	switch (key) {
	case E_DEST:
		if (v->kind == Y_SEQ) {
			fail_at(c, &v->mark, "destination: expected a string, got a list (quote "
				"IPv6 destinations: \"[2001:db8::/32]:443\")");
			return false;
		}
		s = want_string(c, v, "destination");
		if (!s)
			return false;
		if (strlen(s) > POLICY_MAX_GLOB) {
			fail_at(c, &v->mark, "destination: longer than %d characters",
				POLICY_MAX_GLOB);
			return false;
		}
		e->has_dest = true;
		if (!parse_dest(s, &e->dest, why, sizeof(why))) {
			fail_at(c, &v->mark, "destination: %s", why);
			return false;
		}
		if (e->dest.kind == DEST_UNIX && !check_glob(c, v, "destination", s + 5, 0))
			return false;
		return true;
	case E_SINK:
		s = want_string(c, v, "sink");
		if (!s)
			return false;
		for (i = 0; sinks[i]; i++)
			if (!strcmp(s, sinks[i]))
				break;
		if (!sinks[i]) {
			fail_at(c, &v->mark, "sink: unknown sink \"%.32s\" (known: file, pipe, tty, "
				"argv, env, socket)", s);
			return false;
		}
		e->has_sink = true;
		e->sink = dup_or_fail(c, s);
		return e->sink != NULL;
	case E_EXE:
		s = want_string(c, v, "executable");
		if (!s)
			return false;
		if (s[0] != '/') {
			fail_at(c, &v->mark, "executable: \"%.64s\" is not an absolute path", s);
			return false;
		}
		if (!check_glob(c, v, "executable", s, 0))
			return false;
		e->exe = dup_or_fail(c, s);
		return e->exe != NULL;
	}
	return false;
}

static bool parse_allow(struct ctx *c, struct pol_rule *r, const struct ynode *list)
{
	size_t i;

	if (!want_kind(c, list, Y_SEQ, "allow"))
		return false;
	r->allow = calloc(list->n ? list->n : 1, sizeof(*r->allow));
	if (!r->allow) {
		fail_at(c, NULL, "out of memory");
		return false;
	}
	for (i = 0; i < list->n; i++) {
		const struct ynode *n = list->kids[i];
		struct pol_entry *e = &r->allow[i];
		unsigned seen;

		r->nallow++;
		if (!walk_map(c, n, "allow entry", entry_keys, entry_key, e, &seen))
			return false;
		if (!seen) {
			fail_at(c, &n->mark, "allow entry: empty (name a destination, a sink or an "
				"executable)");
			return false;
		}
		if (e->has_dest && e->has_sink && strcmp(e->sink, "socket")) {
			fail_at(c, &n->mark, "allow entry: sink %s can never match together with a "
				"destination (destinations are sockets)", e->sink);
			return false;
		}
	}
	return true;
}

enum { R_NAME, R_PATH, R_FIELD, R_ALLOW };
static const char *const rule_keys[] = { "name", "vault_path", "field", "allow", NULL };

static bool rule_key(struct ctx *c, void *obj, int key, const struct ynode *k,
		     const struct ynode *v)
{
	struct pol_rule *r = obj;
	const char *s;

	(void)k;
	switch (key) {
	case R_NAME:
		s = want_string(c, v, "name");
		if (!s)
			return false;
		if (!*s || strlen(s) > 256) {
			fail_at(c, &v->mark, "name: must be 1 to 256 characters");
			return false;
		}
		r->name = dup_or_fail(c, s);
		return r->name != NULL;
	case R_PATH:
		s = want_string(c, v, "vault_path");
		if (!s || !check_glob(c, v, "vault_path", s, '/'))
			return false;
		r->path = dup_or_fail(c, s);
		return r->path != NULL;
	case R_FIELD:
		s = want_string(c, v, "field");
		if (!s || !check_glob(c, v, "field", s, '.'))
			return false;
		r->field = dup_or_fail(c, s);
		return r->field != NULL;
	case R_ALLOW:
		return parse_allow(c, r, v);
	}
	return false;
}

struct name_pos {
	const char *name;
	size_t idx;
};

static int name_cmp(const void *a, const void *b)
{
	const struct name_pos *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	return d ? d : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Rule names are unique: sorted, so that a file of many rules is checked in n log n. */
static bool unique_names(struct ctx *c, const struct policy *p, const struct ynode *list)
{
	struct name_pos *v;
	size_t i, dup = SIZE_MAX;

	if (p->nrules < 2)
		return true;
	v = malloc(p->nrules * sizeof(*v));
	if (!v) {
		fail_at(c, NULL, "out of memory");
		return false;
	}
	for (i = 0; i < p->nrules; i++)
		v[i] = (struct name_pos){ p->rules[i].name, i };
	qsort(v, p->nrules, sizeof(*v), name_cmp);
	for (i = 1; i < p->nrules; i++)
		if (!strcmp(v[i].name, v[i - 1].name) && v[i].idx < dup)
			dup = v[i].idx;
	free(v);
	if (dup == SIZE_MAX)
		return true;
	fail_at(c, &list->kids[dup]->mark, "rule \"%.64s\": another rule has the same name",
		p->rules[dup].name);
	return false;
}

static bool parse_rules(struct ctx *c, struct policy *p, const struct ynode *list)
{
	size_t i;

	if (!want_kind(c, list, Y_SEQ, "rules"))
		return false;
	p->rules = calloc(list->n ? list->n : 1, sizeof(*p->rules));
	if (!p->rules) {
		fail_at(c, NULL, "out of memory");
		return false;
	}
	for (i = 0; i < list->n; i++) {
		const struct ynode *n = list->kids[i];
		struct pol_rule *r = &p->rules[i];
		unsigned seen;

		p->nrules++;
		if (!walk_map(c, n, "rule", rule_keys, rule_key, r, &seen))
			return false;
		if (!(seen & (1u << R_NAME))) {
			fail_at(c, &n->mark, "rule: name is required");
			return false;
		}
		if (!(seen & (1u << R_PATH))) {
			fail_at(c, &n->mark, "rule \"%.64s\": vault_path is required", r->name);
			return false;
		}
	}
	return unique_names(c, p, list);
}

enum { T_DEFAULT, T_RULES };
static const char *const top_keys[] = { "default", "rules", NULL };

static bool top_key(struct ctx *c, void *obj, int key, const struct ynode *k,
		    const struct ynode *v)
{
	struct policy *p = obj;
	const char *s;

	(void)k;
	if (key == T_RULES)
		return parse_rules(c, p, v);
	s = want_string(c, v, "default");
	if (!s)
		return false;
	if (strcmp(s, "report") && strcmp(s, "deny")) {
		fail_at(c, &v->mark, "default: expected report or deny, got \"%.32s\"", s);
		return false;
	}
	p->deny = !strcmp(s, "deny");
	return true;
}

int policy_load_buf(const char *buf, size_t len, const char *name, struct policy **out,
		    char *err, size_t errlen)
{
	struct ctx c = { .name = name, .err = err, .errlen = errlen };
	struct policy *p;
	struct ynode *root;

	*out = NULL;
	if (errlen)
		err[0] = 0;
	if (len > POLICY_MAX_BYTES) {
		fail_at(&c, NULL, "larger than %d bytes", POLICY_MAX_BYTES);
		return -1;
	}
	root = load_tree(&c, buf, len);
	if (!root)
		return -1;
	p = calloc(1, sizeof(*p));
	if (!p) {
		ynode_free(root);
		fail_at(&c, NULL, "out of memory");
		return -1;
	}
	if (root->kind != Y_MAP) {
		fail_at(&c, &root->mark,
			"policy: expected a mapping with default and rules, got %s", kind_name(root));
	} else {
		walk_map(&c, root, "policy", top_keys, top_key, p, NULL);
	}
	ynode_free(root);
	if (c.failed) {
		policy_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int policy_load(const char *path, struct policy **out, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t n;
	FILE *f;
	int ret;

	*out = NULL;
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		fclose(f);
		return -1;
	}
	if (st.st_size > POLICY_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, POLICY_MAX_BYTES);
		fclose(f);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	ret = policy_load_buf(buf, n, path, out, err, errlen);
	free(buf);
	return ret;
}

/* ---- decisions ---- */

static bool port_ok(const struct pol_dest *d, int port)
{
	return !d->port_lo || (port >= (int)d->port_lo && port <= (int)d->port_hi);
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || !((a[full] ^ b[full]) & (0xff00 >> rest));
}

static bool ip_match(const struct pol_dest *d, const char *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char buf[INET6_ADDRSTRLEN + 1];
	uint8_t a[16];
	size_t n = strcspn(ip, "%");	/* no zone index */

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, ip, n);
	buf[n] = 0;
	if (inet_pton(AF_INET, buf, a + 12) == 1) {
		if (d->kind == DEST_IP4)
			return prefix_eq(a + 12, d->addr, d->prefix);
		memcpy(a, mapped, sizeof(mapped));	/* against an IPv6 rule: ::ffff:a.b.c.d */
		return prefix_eq(a, d->addr, d->prefix);
	}
	if (inet_pton(AF_INET6, buf, a) != 1)
		return false;
	if (d->kind == DEST_IP6)
		return prefix_eq(a, d->addr, d->prefix);
	/* an IPv4 peer of a dual-stack socket: ::ffff:a.b.c.d */
	return !memcmp(a, mapped, sizeof(mapped)) && prefix_eq(a + 12, d->addr, d->prefix);
}

static bool host_match(const struct pol_dest *d, const char *domain)
{
	size_t n = strlen(domain), k = strlen(d->name);

	if (n && domain[n - 1] == '.')
		n--;
	if (!d->wildcard)
		return n == k && !strncasecmp(domain, d->name, k);
	return n > k + 1 && domain[n - k - 1] == '.' && !strncasecmp(domain + n - k, d->name, k);
}

static bool dest_match(const struct pol_dest *d, const struct policy_use *u)
{
	if (!u->sink || strcmp(u->sink, "socket"))
		return false;
	switch (d->kind) {
	case DEST_UNIX:
		return u->unix_path && glob_match(d->name, u->unix_path, '/');
	case DEST_IP4:
	case DEST_IP6:
		return u->dest_ip && ip_match(d, u->dest_ip) && port_ok(d, u->dest_port);
	case DEST_HOST:
		return u->dest_domain && host_match(d, u->dest_domain) && port_ok(d, u->dest_port);
	}
	return false;
}

static bool entry_match(const struct pol_entry *e, const struct policy_use *u)
{
	if (e->has_sink && (!u->sink || strcmp(e->sink, u->sink)))
		return false;
	if (e->exe && (!u->executable || !glob_match(e->exe, u->executable, '/')))
		return false;
	return !e->has_dest || dest_match(&e->dest, u);
}

enum policy_verdict policy_decide(const struct policy *p, const struct policy_use *u,
				  const char **rule_name)
{
	const char *seg[3] = { "", "/", u->vault_path ? u->vault_path : "" };
	size_t len[3] = { 0, 1, strlen(seg[2]) }, i, j;

	if (rule_name)
		*rule_name = NULL;
	if (u->to_vault_server)
		return POLICY_ALLOW;
	if (!p)
		return POLICY_NONE;
	if (u->ns) {
		/* "team-a", "/team-a/" -> "team-a/" + path */
		seg[0] = u->ns + strspn(u->ns, "/");
		len[0] = strlen(seg[0]);
		while (len[0] && seg[0][len[0] - 1] == '/')
			len[0]--;
	}
	for (i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];

		if (len[0] ? !glob_match_segs(r->path, seg, len, 3, '/') :
			     !glob_match_segs(r->path, &seg[2], &len[2], 1, '/'))
			continue;
		if (r->field && (!u->field || !glob_match(r->field, u->field, '.')))
			continue;
		if (rule_name)
			*rule_name = r->name;
		for (j = 0; j < r->nallow; j++)
			if (entry_match(&r->allow[j], u))
				return POLICY_ALLOW;
		return POLICY_VIOLATION;
	}
	if (!p->deny)
		return POLICY_NONE;
	if (rule_name)
		*rule_name = "default";
	return POLICY_VIOLATION;
}

bool policy_default_deny(const struct policy *p)
{
	return p && p->deny;
}

size_t policy_rule_count(const struct policy *p)
{
	return p ? p->nrules : 0;
}
