// SPDX-License-Identifier: GPL-2.0
/*
 * The audit log, streamed once: a line is parsed only when it names a request or lease a
 * chain holds, or renews or revokes a lease or token (cheap substring tests decide), so a
 * log of many gigabytes costs one read and little memory. Of the HMACs it holds, only the
 * token's is used, as a join key, and never printed.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/chains.h"
#include "output/emit.h"

/*
 * Does the line hold "key": "VALUE" with VALUE in index? A cheap test on the raw text,
 * so that only lines about our requests are parsed. Values with escapes are not looked
 * up: they are passed on to the parser (true).
 */
static bool names_known(const char *line, size_t len, const char *key, json_t *index)
{
	size_t klen = strlen(key);
	const char *p = line, *end = line + len;

	if (!json_object_size(index))
		return false;
	while ((p = memmem(p, (size_t)(end - p), key, klen))) {
		const char *v = p + klen, *q;

		p += klen;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (v == end || *v++ != ':')
			continue;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (v == end || *v++ != '"')
			continue;
		for (q = v; q < end && *q != '"' && *q != '\\'; q++)
			;
		if (q == end)
			return false;
		if (*q == '\\' || json_object_getn(index, v, (size_t)(q - v)))
			return true;
	}
	return false;
}

static bool contains(const char *line, size_t len, const char *s)
{
	return memmem(line, len, s, strlen(s)) != NULL;
}

static void grant(struct lifetime *l, int64_t at, int64_t ttl_s)
{
	if (l->n == MAX_GRANTS) {	/* keep the latest: drop the second oldest */
		memmove(&l->g[1], &l->g[2], sizeof(l->g[0]) * (MAX_GRANTS - 2));
		l->n--;
	}
	l->g[l->n++] = (struct grant){ at, ttl_s };
}

static void revoke(struct lifetime *l, int64_t at)
{
	if (!l->revoked_ns || at < l->revoked_ns)
		l->revoked_ns = at;
}

static bool starts(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

/* The audit entry of one of our requests: who, when, what was issued. Every field read
 * is checked first, so that an entry with a wrong type is skipped whole. */
static void attach(struct correlator *c, struct chain *ch, json_t *e, const char *type,
		   int64_t at, bool *bad)
{
	/* who: the token that made the request; for a login, the identity it created */
	bool own = jget(e, "auth.display_name") != NULL;
	json_t *policies = jget(e, own ? "auth.policies" : "response.auth.policies");
	json_t *corr = jget(e, "request.headers.x-correlation-id");
	struct {
		const char *key, *path;
		const char *s;
	} str[] = {
		{ "time", "time", NULL },
		{ "operation", "request.operation", NULL },
		{ "path", "request.path", NULL },
		{ "namespace", "request.namespace.path", NULL },
		{ "mount_type", "request.mount_type", NULL },
		{ "remote_address", "request.remote_address", NULL },
		{ "display_name", own ? "auth.display_name" : "response.auth.display_name", NULL },
		{ "entity_id", own ? "auth.entity_id" : "response.auth.entity_id", NULL },
		{ "error", "error", NULL },
	};
	long long port = jint(e, "request.remote_port", bad);
	const char *lease = jstr(e, "response.secret.lease_id", bad);
	const char *token = jstr(e, "response.auth.client_token", bad);
	long long token_ttl = jint(e, "response.auth.token_ttl", bad);
	long long wrap_ttl = jint(e, "response.wrap_info.ttl", bad);
	const char *wrap_created = jstr(e, "response.wrap_info.creation_time", bad);
	const char *corr_id = NULL;
	size_t i;
	json_t *a;

	jobj(e, "auth", bad);
	jobj(e, "response.auth", bad);
	jobj(e, "response.secret", bad);
	jobj(e, "response.wrap_info", bad);
	for (i = 0; i < sizeof(str) / sizeof(str[0]); i++)
		str[i].s = jstr(e, str[i].path, bad);
	if (policies && !json_is_array(policies))
		*bad = true;
	for (i = 0; json_is_array(policies) && i < json_array_size(policies); i++)
		if (!json_is_string(json_array_get(policies, i)))
			*bad = true;
	if (corr && (!json_is_array(corr) || !json_is_string(json_array_get(corr, 0))))
		*bad = true;
	else if (corr)
		corr_id = json_string_value(json_array_get(corr, 0));
	if (*bad)
		return;

	if (!ch->audit)
		ch->audit = json_pack("{s:b}", "found", 1);
	a = ch->audit;
	ch->audit_found = true;
	for (i = 0; i < sizeof(str) / sizeof(str[0]); i++) {
		/* the request's time is "when"; the response's is kept beside it */
		if (!strcmp(str[i].key, "time") && !strcmp(type, "response")) {
			put_str(a, "response_time", str[i].s);
			if (json_object_get(a, "time"))
				continue;
		}
		put_str(a, str[i].key, str[i].s);
	}
	put_int(a, "remote_port", port);
	if (json_is_array(policies) && json_array_size(policies) <= 256)
		json_object_set(a, "policies", policies);
	put_str(a, "correlation_id", corr_id);
	if (strcmp(type, "response"))
		return;
	if (lease && *lease) {
		struct lifetime *l = &ch->life[LIFE_LEASE];
		int64_t ttl = ch->lease_duration_s >= 0 ? ch->lease_duration_s : c->o.lease_ttl_s;

		put_str(a, "lease_id", lease);
		if (!ch->lease_id) {
			ch->lease_id = strdup(lease);
			put_str(ch->vault, "lease_id", lease);
		}
		chain_index(c, c->by_lease, lease, ch);
		c->lease_revokes = true;
		if (!l->issued) {
			l->issued = true;
			l->issued_ttl_s = ttl;
			if (ttl >= 0)
				grant(l, at, ttl);
		}
	}
	if (token && *token && !ch->token_hmac) {
		/* only a join key for renewals and revocations; never printed */
		ch->token_hmac = strdup(token);
		chain_index(c, c->by_token, token, ch);
		ch->life[LIFE_TOKEN].issued = true;
		ch->life[LIFE_TOKEN].issued_ttl_s = token_ttl > 0 ? token_ttl : 0;
		grant(&ch->life[LIFE_TOKEN], at, token_ttl > 0 ? token_ttl : 0);
	}
	if (wrap_ttl > 0 && !ch->life[LIFE_WRAP].issued) {
		int64_t created = correlate_parse_time(wrap_created);

		ch->life[LIFE_WRAP].issued = true;
		ch->life[LIFE_WRAP].issued_ttl_s = wrap_ttl;
		grant(&ch->life[LIFE_WRAP], created >= 0 ? created : at, wrap_ttl);
	}
}

void audit_attach(struct correlator *c, struct chain *ch, json_t *e)
{
	const char *type = json_string_value(json_object_get(e, "type"));
	int64_t at = correlate_parse_time(json_string_value(json_object_get(e, "time")));
	bool bad = false;

	if (type && at >= 0)
		attach(c, ch, e, type, at, &bad);
}

/* Does the line hold an HMAC ("hmac-sha256:" and 64 hex digits) that events wait on? */
static bool holds_known_hash(struct correlator *c, const char *line, size_t len)
{
	static const char tag[] = "hmac-sha256:";
	const size_t hlen = sizeof(tag) - 1 + 64;
	const char *p = line, *end = line + len;

	if (!json_object_size(c->by_hash))
		return false;
	while ((p = memmem(p, (size_t)(end - p), tag, sizeof(tag) - 1))) {
		if ((size_t)(end - p) >= hlen && json_object_getn(c->by_hash, p, hlen))
			return true;
		p += sizeof(tag) - 1;
	}
	return false;
}

/* A response whose data carries values events know by their HMAC: remember it as theirs
 * (the first response that carried a value delivered it). */
static void find_hashes(struct correlator *c, json_t *v, json_t *e, int depth)
{
	const char *k;
	json_t *x;
	size_t i;

	if (depth > 32)
		return;
	if (json_is_string(v)) {
		k = json_string_value(v);
		if (json_object_get(c->by_hash, k) && !json_object_get(c->hash_entries, k))
			json_object_set(c->hash_entries, k, e);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, x)
			find_hashes(c, x, e, depth + 1);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			find_hashes(c, x, e, depth + 1);
	}
}

/* sys/leases/renew, sys/leases/revoke*, auth/token/renew*, auth/token/revoke*: for the
 * leases and tokens of our chains. Only successful responses count. */
static bool lifecycle(struct correlator *c, json_t *e, const char *path, int64_t at, bool *bad)
{
	const char *lease = jstr(e, "response.secret.lease_id", bad);
	const char *tok_self = jstr(e, "request.client_token", bad);
	const char *tok_body = jstr(e, "request.data.token", bad);
	long long inc = -1;
	json_t *incv = jget(e, "request.data.increment");
	struct chain *ch;
	bool hit = false;
	size_t i;

	if (*bad || jget(e, "error"))
		return false;
	if (json_is_integer(incv) && json_integer_value(incv) > 0)
		inc = json_integer_value(incv);
	if (starts(path, "sys/leases/renew") || starts(path, "sys/renew")) {
		ch = lease ? chain_lookup(c, c->by_lease, lease, strlen(lease)) : NULL;
		if (ch) {
			int64_t ttl = inc > 0 ? inc : c->o.lease_ttl_s;

			ch->life[LIFE_LEASE].renewals++;
			if (ttl >= 0)
				grant(&ch->life[LIFE_LEASE], at, ttl);
		}
		return ch != NULL;
	}
	if (starts(path, "sys/leases/revoke") || starts(path, "sys/revoke")) {
		const char *rest = strchr(path + 4, '/');
		bool prefix;

		/* sys/leases/revoke/ID, sys/revoke/ID, .../revoke-prefix/P, .../revoke-force/P */
		if (starts(path, "sys/leases/"))
			rest = strchr(path + 11, '/');
		if (!rest || !rest[1])
			return false;	/* the lease in the body is HMAC'd: cannot be matched */
		prefix = strstr(path, "revoke-prefix/") || strstr(path, "revoke-force/");
		rest++;
		for (i = 0; i < c->nchains; i++) {
			ch = &c->chains[i];
			if (ch->lease_id && (prefix ? starts(ch->lease_id, rest) :
						      !strcmp(ch->lease_id, rest))) {
				revoke(&ch->life[LIFE_LEASE], at);
				hit = true;
			}
		}
		return hit;
	}
	if (!starts(path, "auth/token/"))
		return false;
	ch = NULL;
	if (!strcmp(path, "auth/token/renew-self") || !strcmp(path, "auth/token/revoke-self"))
		ch = tok_self ? chain_lookup(c, c->by_token, tok_self, strlen(tok_self)) : NULL;
	else if (!strcmp(path, "auth/token/renew") || !strcmp(path, "auth/token/revoke"))
		ch = tok_body ? chain_lookup(c, c->by_token, tok_body, strlen(tok_body)) : NULL;
	if (!ch)
		return false;
	if (strstr(path, "/revoke")) {
		revoke(&ch->life[LIFE_TOKEN], at);
	} else {
		long long ttl = jint(e, "response.auth.token_ttl", bad);

		ch->life[LIFE_TOKEN].renewals++;
		if (!*bad)
			grant(&ch->life[LIFE_TOKEN], at, ttl > 0 ? ttl : 0);
	}
	return true;
}

void correlator_audit_line(struct correlator *c, const char *line, size_t len)
{
	const char *type, *rid, *path, *lease, *p = line, *q;
	bool bad = false, watch = false, related = false, hashed = false;
	struct chain *ch;
	json_error_t jerr;
	int64_t at;
	json_t *e;

	c->au.lines++;
	if (!line) {
		c->au.too_long++;
		return;
	}
	/* the shape of a JSON object, before anything else (truncated lines fail here) */
	while (p < line + len && isspace((unsigned char)*p))
		p++;
	for (q = line + len; q > p && isspace((unsigned char)q[-1]); q--)
		;
	if (p == q) {
		c->au.lines--;	/* blank lines are not entries */
		return;
	}
	if (*p != '{' || q[-1] != '}') {
		c->au.malformed++;
		return;
	}
	if (c->lease_revokes &&
	    (contains(line, len, "sys/leases/re") || contains(line, len, "sys/renew") ||
	     contains(line, len, "sys/revoke")))
		watch = true;
	if (json_object_size(c->by_token) && contains(line, len, "auth/token/re"))
		watch = true;
	if (holds_known_hash(c, line, len))
		watch = true;
	if (!watch && !names_known(line, len, "\"id\"", c->by_request) &&
	    !names_known(line, len, "\"lease_id\"", c->by_lease)) {
		c->au_unrelated++;
		return;
	}
	e = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!e) {
		c->au.malformed++;
		return;
	}
	type = jstr(e, "type", &bad);
	rid = jstr(e, "request.id", &bad);
	path = jstr(e, "request.path", &bad);
	lease = jstr(e, "response.secret.lease_id", &bad);
	at = correlate_parse_time(jstr(e, "time", &bad));
	if (!json_is_object(e) || bad || !type || !rid || at < 0 ||
	    (strcmp(type, "request") && strcmp(type, "response")) ||
	    !json_is_object(jget(e, "request")) ||
	    (jget(e, "response") && !json_is_object(jget(e, "response")))) {
		c->au.invalid++;
		json_decref(e);
		return;
	}
	ch = chain_lookup(c, c->by_request, rid, strlen(rid));
	if (!ch && lease && !starts(path, "sys/")) {
		/* a chain known by its lease only: this is the response that issued it */
		ch = chain_lookup(c, c->by_lease, lease, strlen(lease));
		if (ch && ch->request_id)
			ch = NULL;
		if (ch) {
			ch->request_id = strdup(rid);
			chain_index(c, c->by_request, rid, ch);
		}
	}
	if (!strcmp(type, "response") && !starts(path, "sys/") && json_object_size(c->by_hash)) {
		size_t before = json_object_size(c->hash_entries);

		find_hashes(c, jget(e, "response"), e, 0);
		hashed = json_object_size(c->hash_entries) > before;
	}
	if (ch) {
		attach(c, ch, e, type, at, &bad);
		related = true;
	} else if (!strcmp(type, "response") && path) {
		related = lifecycle(c, e, path, at, &bad);
	}
	if (bad)
		c->au.invalid++;
	else if (related || hashed)
		c->au.used++;
	else
		c->au_unrelated++;
	json_decref(e);
}
