// SPDX-License-Identifier: GPL-2.0
/*
 * Policy files checked against the schema in docs/policy.md, into a struct policy
 * (rules.h). Strict: an unknown or repeated key, a bad value, a file that does not parse
 * is refused with its position and the reason.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/grow.h"
#include "policy/rules.h"
#include "policy/yaml_tree.h"

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
		if (!dest_parse(s, &e->dest, why, sizeof(why))) {
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
