// SPDX-License-Identifier: GPL-2.0
/*
 * secretrace correlate --vault-audit FILE [EVENTS_FILE]
 *
 * Events first: every secret.receive, secret.use, secret.violation and
 * secret.learn_failed is filed under its Vault request (vault.request_id, else its lease,
 * vault.lease_id) as a compact record. Then the audit log, streamed once: a line is parsed
 * only when it names a request or lease we hold, or renews or revokes a lease or token
 * (cheap substring tests decide), so a log of many gigabytes costs one read and little
 * memory. Then the flags, and one chain per request. Nothing here sees a secret value:
 * events carry none and the audit log holds HMACs, of which only the token's is used, as
 * a join key, and never printed.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "correlate/correlate.h"
#include "output/emit.h"
#include "lib/grow.h"

#define MAX_GRANTS 64		/* renewals remembered per lease (the latest are kept) */
#define MAX_FIELDS 64		/* distinct field names listed per chain */
#define MAX_FETCHERS 64		/* receiving processes remembered per chain */
#define MAX_STR 4096		/* longer event strings are dropped from the output */

#define NS 1000000000LL

enum life { LIFE_LEASE, LIFE_TOKEN, LIFE_WRAP, LIFE_N };
static const char *const life_name[LIFE_N] = { "lease", "token", "wrap" };

struct grant {
	int64_t at_ns;
	int64_t ttl_s;		/* 0: never expires */
};

/* What the audit log says about how long one credential of a chain lives. */
struct lifetime {
	struct grant g[MAX_GRANTS];
	int n;
	int renewals;
	bool issued;		/* the issuing response was seen */
	int64_t issued_ttl_s;	/* its duration, -1 if not known (0: never expires) */
	int64_t revoked_ns;	/* 0: not revoked */
};

enum item_kind { IT_RECEIVE, IT_USE, IT_LEARN_FAILED };

struct item {
	enum item_kind kind;
	int64_t ts_ns;		/* -1 if unknown */
	bool repeat;		/* a repeat summary (secretrace.repeat_count) */
	json_t *out;		/* the record printed */
	char *key;		/* uses: process|secret|sink, to find a repeat's first use */
};

struct chain {
	char *request_id;	/* NULL for a chain known only by its lease (until the audit) */
	char *lease_id;
	json_t *vault;		/* path, namespace, fields, lease_id, correlation_id */
	json_t *fetchers;	/* entity_id -> true, of the receiving processes */
	json_t *presented;	/* fingerprint -> true, of presented credentials */
	struct item *items;
	size_t nitems, cap;
	size_t receives, uses, violations, learn_failed, omitted;
	int64_t lease_duration_s;	/* from the events (vault.lease_duration), -1 if none */
	/* from the audit log */
	bool audit_found;
	json_t *audit;
	char *token_hmac;
	struct lifetime life[LIFE_N];
	/* results */
	json_t *flags;
	json_t *out;
};

struct stats {
	uint64_t lines, used, other, malformed, invalid, too_long, no_ids, over_limit, omitted;
};

struct correlator {
	struct correlate_opts o;
	struct chain *chains;
	size_t nchains, cap, total_items;
	json_t *by_request, *by_lease, *by_token;	/* key -> chain index */
	bool lease_revokes;	/* any lease to watch renewals and revocations of */
	struct stats ev, au;
	uint64_t au_unrelated;
	bool finished;
	uint64_t flagged[4];
};

enum { F_NEVER_USED, F_OTHER_PROCESS, F_AFTER_EXPIRY, F_UNKNOWN_REQUEST };
static const char *const flag_name[] = { "never_used", "other_process", "used_after_expiry",
					 "unknown_request" };

/* ---- small helpers ---- */

int64_t correlate_parse_time(const char *s)
{
	struct tm tm = { 0 };
	int64_t frac = 0, scale = NS, off = 0;
	int n = 0;
	time_t t;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	s += n;
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++)
			if (scale > 1) {
				scale /= 10;
				frac += (*s - '0') * scale;
			}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if ((*s == '+' || *s == '-') && isdigit((unsigned char)s[1]) &&
		   isdigit((unsigned char)s[2]) && s[3] == ':' && isdigit((unsigned char)s[4]) &&
		   isdigit((unsigned char)s[5])) {
		off = ((s[1] - '0') * 10 + (s[2] - '0')) * 3600 +
		      ((s[4] - '0') * 10 + (s[5] - '0')) * 60;
		if (*s == '+')
			off = -off;
		s += 6;
	} else {
		return -1;
	}
	if (*s || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return ((int64_t)t + off) * NS + frac;
}

static void fmt_time(int64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / NS);
	struct tm tm;

	if (ns < 0 || !gmtime_r(&t, &tm)) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ns % NS / 1000));
}

static json_t *json_time(int64_t ns)
{
	char buf[64];

	fmt_time(ns, buf, sizeof(buf));
	return json_string(buf);
}

/*
 * Typed access to untrusted JSON: a value that is present with the wrong type sets *bad,
 * and so does a step of the dotted path that is there but not an object.
 */
static json_t *jget_t(json_t *o, const char *path, bool *bad)
{
	char part[64];
	const char *dot;

	while (o && *path) {
		size_t n;

		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(part))
			return NULL;
		if (!json_is_object(o)) {
			if (bad && !json_is_null(o))
				*bad = true;
			return NULL;
		}
		memcpy(part, path, n);
		part[n] = 0;
		o = json_object_get(o, part);
		path += n + (dot ? 1 : 0);
	}
	return o;
}

static json_t *jget(json_t *o, const char *path)
{
	return jget_t(o, path, NULL);
}

static const char *jstr(json_t *o, const char *path, bool *bad)
{
	json_t *v = jget_t(o, path, bad);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

/* A whole number; -1 if absent. */
static long long jint(json_t *o, const char *path, bool *bad)
{
	json_t *v = jget_t(o, path, bad);

	if (!v || json_is_null(v))
		return -1;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		*bad = true;
		return -1;
	}
	return json_integer_value(v);
}

static json_t *jobj(json_t *o, const char *path, bool *bad)
{
	json_t *v = jget_t(o, path, bad);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_object(v)) {
		*bad = true;
		return NULL;
	}
	return v;
}

/* A string field into out (dotted key: nested objects), unless it is huge. */
static void put_str(json_t *out, const char *key, const char *v)
{
	if (v && strlen(v) <= MAX_STR)
		ev_set(out, key, json_string(v));
}

static void put_int(json_t *out, const char *key, long long v)
{
	if (v >= 0)
		ev_set(out, key, json_integer(v));
}

static void copy_str(json_t *out, const char *key, json_t *in, const char *path, bool *bad)
{
	put_str(out, key, jstr(in, path, bad));
}

static void copy_int(json_t *out, const char *key, json_t *in, const char *path, bool *bad)
{
	put_int(out, key, jint(in, path, bad));
}

/* ---- chains ---- */

void correlate_default_opts(struct correlate_opts *o)
{
	*o = (struct correlate_opts){
		.lease_ttl_s = -1,
		.max_requests = 100000,
		.max_items = 1000,
		.max_total = 500000,
		.max_line = CORRELATE_MAX_LINE,
	};
}

struct correlator *correlator_new(const struct correlate_opts *o)
{
	struct correlator *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->o = *o;
	c->by_request = json_object();
	c->by_lease = json_object();
	c->by_token = json_object();
	if (!c->by_request || !c->by_lease || !c->by_token) {
		correlator_free(c);
		return NULL;
	}
	return c;
}

static void chain_free(struct chain *ch)
{
	size_t i;

	for (i = 0; i < ch->nitems; i++) {
		json_decref(ch->items[i].out);
		free(ch->items[i].key);
	}
	free(ch->items);
	free(ch->request_id);
	free(ch->lease_id);
	free(ch->token_hmac);
	json_decref(ch->vault);
	json_decref(ch->fetchers);
	json_decref(ch->presented);
	json_decref(ch->audit);
	json_decref(ch->flags);
	json_decref(ch->out);
}

void correlator_free(struct correlator *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nchains; i++)
		chain_free(&c->chains[i]);
	free(c->chains);
	json_decref(c->by_request);
	json_decref(c->by_lease);
	json_decref(c->by_token);
	free(c);
}

static struct chain *lookup(struct correlator *c, json_t *index, const char *key, size_t len)
{
	json_t *v = json_object_getn(index, key, len);

	return v ? &c->chains[json_integer_value(v)] : NULL;
}

static void index_add(struct correlator *c, json_t *index, const char *key, struct chain *ch)
{
	if (key && *key && !json_object_get(index, key))
		json_object_set_new(index, key, json_integer(ch - c->chains));
}

static struct chain *chain_new(struct correlator *c)
{
	struct chain *ch;

	if (c->nchains == c->o.max_requests)
		return NULL;
	if (grow(&c->chains, &c->cap, c->nchains, sizeof(*c->chains), 64))
		return NULL;
	ch = &c->chains[c->nchains];
	memset(ch, 0, sizeof(*ch));
	ch->vault = json_object();
	ch->fetchers = json_object();
	ch->presented = json_object();
	ch->lease_duration_s = -1;
	if (!ch->vault || !ch->fetchers || !ch->presented) {
		chain_free(ch);
		return NULL;
	}
	c->nchains++;
	return ch;
}

static void add_field(struct chain *ch, const char *field)
{
	json_t *fields = json_object_get(ch->vault, "fields");
	size_t i;

	if (!field || strlen(field) > MAX_STR)
		return;
	if (!fields) {
		fields = json_array();
		json_object_set_new(ch->vault, "fields", fields);
	}
	for (i = 0; i < json_array_size(fields); i++)
		if (!strcmp(json_string_value(json_array_get(fields, i)), field))
			return;
	if (json_array_size(fields) < MAX_FIELDS)
		json_array_append_new(fields, json_string(field));
}

/* ---- events ---- */

static const char *const actions[] = { "secret.receive", "secret.use", "secret.violation",
				       "secret.learn_failed", NULL };

/* The record of one event as printed: what it is, who, where to, with which verdict. */
static json_t *event_record(json_t *ev, const char *action, bool *bad)
{
	json_t *out = json_object();
	const char *kind = jstr(ev, "event.kind", bad);
	const char *rule = jstr(ev, "rule.name", bad);

	put_str(out, "@timestamp", jstr(ev, "@timestamp", bad));
	put_str(out, "action", action);
	copy_str(out, "field", ev, "vault.field", bad);
	copy_str(out, "fingerprint", ev, "secret.fingerprint", bad);
	copy_int(out, "process.pid", ev, "process.pid", bad);
	copy_str(out, "process.entity_id", ev, "process.entity_id", bad);
	copy_str(out, "process.name", ev, "process.name", bad);
	copy_str(out, "process.executable", ev, "process.executable", bad);
	copy_str(out, "destination.ip", ev, "destination.ip", bad);
	copy_int(out, "destination.port", ev, "destination.port", bad);
	copy_str(out, "destination.address", ev, "destination.address", bad);
	copy_str(out, "destination.domain", ev, "destination.domain", bad);
	if (!strcmp(action, "secret.receive")) {
		copy_str(out, "source", ev, "secret.source", bad);
		return out;
	}
	if (!strcmp(action, "secret.learn_failed")) {
		copy_str(out, "error", ev, "error.message", bad);
		return out;
	}
	copy_str(out, "sink", ev, "secretrace.sink", bad);
	copy_str(out, "syscall", ev, "secretrace.syscall", bad);
	copy_str(out, "transport", ev, "network.transport", bad);
	copy_str(out, "file.path", ev, "file.path", bad);
	copy_str(out, "encoding", ev, "secret.encoding", bad);
	copy_int(out, "repeat_count", ev, "secretrace.repeat_count", bad);
	if (!strcmp(action, "secret.violation") || (kind && !strcmp(kind, "alert")))
		put_str(out, "verdict", "violation");
	else
		put_str(out, "verdict", rule ? "allowed" : "none");
	put_str(out, "rule", rule);
	return out;
}

/* process|secret|sink of a use: its repeat summaries carry the same. */
static char *use_key(json_t *out)
{
	static const char *const parts[] = { "process.entity_id", "fingerprint", "field", "sink",
					     "destination.ip", "destination.address", "file.path",
					     NULL };
	char buf[MAX_STR * 2], *p = buf;
	json_t *port = jget(out, "destination.port");
	bool bad = false;
	int i;

	for (i = 0; parts[i]; i++) {
		const char *v = jstr(out, parts[i], &bad);
		size_t left = sizeof(buf) - (size_t)(p - buf);
		int n = snprintf(p, left, "%s|", v ? v : "");

		if (n < 0 || (size_t)n >= left)
			break;
		p += n;
	}
	if (json_is_integer(port) && (size_t)(p - buf) + 24 < sizeof(buf))
		p += sprintf(p, "%" JSON_INTEGER_FORMAT, json_integer_value(port));
	*p = 0;
	return strdup(buf);
}

static void add_item(struct correlator *c, struct chain *ch, enum item_kind kind, json_t *out,
		     int64_t ts, bool repeat)
{
	struct item *it;

	if (ch->nitems == c->o.max_items || c->total_items == c->o.max_total)
		goto omit;
	if (grow(&ch->items, &ch->cap, ch->nitems, sizeof(*ch->items), 8))
		goto omit;
	it = &ch->items[ch->nitems++];
	c->total_items++;
	*it = (struct item){ .kind = kind, .ts_ns = ts, .repeat = repeat, .out = out };
	if (kind == IT_USE)
		it->key = use_key(out);
	return;
omit:
	/* counted; the chain's flags then rest on the records kept */
	ch->omitted++;
	c->ev.omitted++;
	json_decref(out);
}

void correlator_event_line(struct correlator *c, const char *line, size_t len)
{
	const char *action, *rid, *lease, *ts, *entity, *fp, *source, *field;
	const char *vpath, *vns, *vcorr;
	json_t *ev, *out, *ld;
	struct chain *ch = NULL;
	json_error_t jerr;
	bool bad = false;
	int64_t ts_ns;
	int i;

	c->ev.lines++;
	if (!line) {
		c->ev.too_long++;
		return;
	}
	ev = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(ev)) {
		json_decref(ev);
		c->ev.malformed++;
		return;
	}
	action = jstr(ev, "event.action", &bad);
	for (i = 0; action && actions[i]; i++)
		if (!strcmp(action, actions[i]))
			break;
	if (!action || !actions[i]) {
		if (bad || (!action && !jget(ev, "event")))
			c->ev.invalid++;
		else
			c->ev.other++;
		json_decref(ev);
		return;
	}
	rid = jstr(ev, "vault.request_id", &bad);
	lease = jstr(ev, "vault.lease_id", &bad);
	ts = jstr(ev, "@timestamp", &bad);
	entity = jstr(ev, "process.entity_id", &bad);
	fp = jstr(ev, "secret.fingerprint", &bad);
	source = jstr(ev, "secret.source", &bad);
	field = jstr(ev, "vault.field", &bad);
	vpath = jstr(ev, "vault.path", &bad);
	vns = jstr(ev, "vault.namespace", &bad);
	vcorr = jstr(ev, "vault.correlation_id", &bad);
	ld = jget(ev, "vault.lease_duration");
	out = event_record(ev, action, &bad);
	ts_ns = ts ? correlate_parse_time(ts) : -1;
	if (bad || !out || (ts && ts_ns < 0) || (ld && !json_is_integer(ld))) {
		c->ev.invalid++;
		goto drop;
	}
	if (rid && *rid)
		ch = lookup(c, c->by_request, rid, strlen(rid));
	else if (lease && *lease)
		ch = lookup(c, c->by_lease, lease, strlen(lease));
	else {
		c->ev.no_ids++;
		goto drop;
	}
	if (!ch) {
		ch = chain_new(c);
		if (!ch) {
			c->ev.over_limit++;
			goto drop;
		}
		if (rid && *rid) {
			ch->request_id = strdup(rid);
			index_add(c, c->by_request, rid, ch);
		}
	}
	c->ev.used++;
	if (lease && *lease && !ch->lease_id) {
		ch->lease_id = strdup(lease);
		index_add(c, c->by_lease, lease, ch);
		put_str(ch->vault, "lease_id", lease);
		c->lease_revokes = true;
	}
	if (ld && json_integer_value(ld) >= 0 && ch->lease_duration_s < 0)
		ch->lease_duration_s = json_integer_value(ld);
	if (!json_object_get(ch->vault, "path"))
		put_str(ch->vault, "path", vpath);
	if (!json_object_get(ch->vault, "namespace"))
		put_str(ch->vault, "namespace", vns);
	if (!json_object_get(ch->vault, "correlation_id"))
		put_str(ch->vault, "correlation_id", vcorr);
	add_field(ch, field);
	if (!strcmp(action, "secret.receive")) {
		ch->receives++;
		if (entity && json_object_size(ch->fetchers) < MAX_FETCHERS)
			json_object_set_new(ch->fetchers, entity, json_true());
		if (fp && source && strcmp(source, "response"))
			json_object_set_new(ch->presented, fp, json_true());
		add_item(c, ch, IT_RECEIVE, out, ts_ns, false);
	} else if (!strcmp(action, "secret.learn_failed")) {
		ch->learn_failed++;
		add_item(c, ch, IT_LEARN_FAILED, out, ts_ns, false);
	} else {
		ch->uses++;
		if (!strcmp(json_string_value(json_object_get(out, "verdict")), "violation"))
			ch->violations++;
		add_item(c, ch, IT_USE, out, ts_ns, !!json_object_get(out, "repeat_count"));
	}
	json_decref(ev);
	return;
drop:
	json_decref(out);
	json_decref(ev);
}

/* ---- the audit log ---- */

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
		index_add(c, c->by_lease, lease, ch);
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
		index_add(c, c->by_token, token, ch);
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
		ch = lease ? lookup(c, c->by_lease, lease, strlen(lease)) : NULL;
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
		ch = tok_self ? lookup(c, c->by_token, tok_self, strlen(tok_self)) : NULL;
	else if (!strcmp(path, "auth/token/renew") || !strcmp(path, "auth/token/revoke"))
		ch = tok_body ? lookup(c, c->by_token, tok_body, strlen(tok_body)) : NULL;
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
	bool bad = false, watch = false, related = false;
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
	ch = lookup(c, c->by_request, rid, strlen(rid));
	if (!ch && lease && !starts(path, "sys/")) {
		/* a chain known by its lease only: this is the response that issued it */
		ch = lookup(c, c->by_lease, lease, strlen(lease));
		if (ch && ch->request_id)
			ch = NULL;
		if (ch) {
			ch->request_id = strdup(rid);
			index_add(c, c->by_request, rid, ch);
		}
	}
	if (ch) {
		attach(c, ch, e, type, at, &bad);
		related = true;
	} else if (!strcmp(type, "response") && path) {
		related = lifecycle(c, e, path, at, &bad);
	}
	if (bad)
		c->au.invalid++;
	else if (related)
		c->au.used++;
	else
		c->au_unrelated++;
	json_decref(e);
}

/* ---- flags ---- */

/* Is the credential of kind k dead at t (past every grant seen before t, or revoked)? */
static bool expired(const struct lifetime *l, int64_t t)
{
	int64_t best = INT64_MIN;
	bool any = false;
	int i;

	if (t < 0)
		return false;
	if (l->revoked_ns && t > l->revoked_ns)
		return true;
	for (i = 0; i < l->n; i++) {
		if (l->g[i].at_ns > t)
			continue;
		if (!l->g[i].ttl_s)
			return false;
		any = true;
		if (l->g[i].at_ns + l->g[i].ttl_s * NS > best)
			best = l->g[i].at_ns + l->g[i].ttl_s * NS;
	}
	return any && t > best;
}

static int life_of(const struct chain *ch, const struct item *it)
{
	const char *field = json_string_value(json_object_get(it->out, "field"));
	const char *fp = json_string_value(json_object_get(it->out, "fingerprint"));

	if (fp && json_object_get(ch->presented, fp))
		return -1;	/* what the process presented is not what the response issued */
	if (field && !strcmp(field, "client_token"))
		return LIFE_TOKEN;
	if (field && !strcmp(field, "wrap_info.token"))
		return LIFE_WRAP;
	return ch->lease_id ? LIFE_LEASE : -1;
}

/* The earliest time the uses a repeat summary counts may have happened: its first use's. */
static int64_t repeat_floor(const struct chain *ch, size_t idx)
{
	const struct item *it = &ch->items[idx];
	size_t i;

	for (i = idx; i-- > 0;)
		if (ch->items[i].kind == IT_USE && ch->items[i].key && it->key &&
		    !strcmp(ch->items[i].key, it->key))
			return ch->items[i].ts_ns;
	return -1;
}

static json_t *life_json(const struct lifetime *l)
{
	json_t *o = json_object();
	int64_t until = -1;
	int i;

	for (i = 0; i < l->n; i++) {
		if (!l->g[i].ttl_s) {
			until = -2;
			break;
		}
		if (l->g[i].at_ns + l->g[i].ttl_s * NS > until)
			until = l->g[i].at_ns + l->g[i].ttl_s * NS;
	}
	if (l->issued && l->issued_ttl_s >= 0)
		json_object_set_new(o, "duration", json_integer(l->issued_ttl_s));
	else
		json_object_set_new(o, "duration", json_null());
	if (until >= 0)
		json_object_set_new(o, "expires", json_time(until));
	else
		json_object_set_new(o, "expires", json_null());
	if (l->renewals)
		json_object_set_new(o, "renewals", json_integer(l->renewals));
	if (l->revoked_ns)
		json_object_set_new(o, "revoked", json_time(l->revoked_ns));
	return o;
}

static void flag(struct correlator *c, struct chain *ch, int f)
{
	size_t i;

	for (i = 0; i < json_array_size(ch->flags); i++)
		if (!strcmp(json_string_value(json_array_get(ch->flags, i)), flag_name[f]))
			return;
	json_array_append_new(ch->flags, json_string(flag_name[f]));
	c->flagged[f]++;
}

static void item_flag(json_t *out, const char *name)
{
	json_t *f = json_object_get(out, "flags");

	if (!f) {
		f = json_array();
		json_object_set_new(out, "flags", f);
	}
	json_array_append_new(f, json_string(name));
}

static void finish_chain(struct correlator *c, struct chain *ch)
{
	json_t *out = json_object(), *items = json_array(), *counts = json_object();
	size_t i;
	int k;

	ch->flags = json_array();
	for (i = 0; i < ch->nitems; i++) {
		struct item *it = &ch->items[i];
		const char *entity = json_string_value(jget(it->out, "process.entity_id"));

		if (it->kind == IT_USE) {
			int64_t t = it->repeat ? repeat_floor(ch, i) : it->ts_ns;
			int life = life_of(ch, it);

			if (entity && json_object_size(ch->fetchers) &&
			    !json_object_get(ch->fetchers, entity)) {
				item_flag(it->out, "other_process");
				flag(c, ch, F_OTHER_PROCESS);
			}
			if (life >= 0 && expired(&ch->life[life], t)) {
				item_flag(it->out, "used_after_expiry");
				flag(c, ch, F_AFTER_EXPIRY);
			}
		}
		json_array_append(items, it->out);
	}
	if (ch->receives && !ch->uses)
		flag(c, ch, F_NEVER_USED);
	if (!ch->audit_found)
		flag(c, ch, F_UNKNOWN_REQUEST);

	json_object_set_new(out, "request_id",
			    ch->request_id ? json_string(ch->request_id) : json_null());
	json_object_set(out, "flags", ch->flags);
	json_object_set(out, "vault", ch->vault);
	if (ch->audit) {
		json_object_set(out, "audit", ch->audit);
	} else {
		json_object_set_new(out, "audit", json_pack("{s:b}", "found", 0));
	}
	for (k = 0; k < LIFE_N; k++)
		if (ch->life[k].issued || ch->life[k].revoked_ns ||
		    (k == LIFE_LEASE && ch->lease_id))
			json_object_set_new(out, life_name[k], life_json(&ch->life[k]));
	json_object_set_new(out, "events", items);
	json_object_set_new(counts, "receives", json_integer((json_int_t)ch->receives));
	json_object_set_new(counts, "uses", json_integer((json_int_t)ch->uses));
	json_object_set_new(counts, "violations", json_integer((json_int_t)ch->violations));
	if (ch->learn_failed)
		json_object_set_new(counts, "learn_failed",
				    json_integer((json_int_t)ch->learn_failed));
	if (ch->omitted)
		json_object_set_new(counts, "omitted", json_integer((json_int_t)ch->omitted));
	json_object_set_new(out, "counts", counts);
	ch->out = out;
}

void correlator_finish(struct correlator *c)
{
	size_t i;

	if (c->finished)
		return;
	c->finished = true;
	for (i = 0; i < c->nchains; i++)
		finish_chain(c, &c->chains[i]);
}

size_t correlator_count(const struct correlator *c)
{
	return c->nchains;
}

json_t *correlator_chain(const struct correlator *c, size_t i)
{
	return i < c->nchains ? c->chains[i].out : NULL;
}

static json_t *stats_json(const struct stats *s, bool events)
{
	json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I}", "lines", (json_int_t)s->lines, "used",
			      (json_int_t)s->used, "malformed", (json_int_t)s->malformed,
			      "invalid", (json_int_t)s->invalid, "too_long",
			      (json_int_t)s->too_long);

	if (o && events) {
		json_object_set_new(o, "other", json_integer((json_int_t)s->other));
		json_object_set_new(o, "no_vault_ids", json_integer((json_int_t)s->no_ids));
		json_object_set_new(o, "over_limit", json_integer((json_int_t)s->over_limit));
		json_object_set_new(o, "omitted", json_integer((json_int_t)s->omitted));
	}
	return o;
}

json_t *correlator_summary(const struct correlator *c)
{
	json_t *flags = json_object(), *audit = stats_json(&c->au, false), *s;
	int f;

	for (f = 0; f < 4; f++)
		json_object_set_new(flags, flag_name[f], json_integer((json_int_t)c->flagged[f]));
	json_object_set_new(audit, "unrelated", json_integer((json_int_t)c->au_unrelated));
	s = json_pack("{s:I,s:o,s:o,s:o}", "requests", (json_int_t)c->nchains, "flagged", flags,
		      "events", stats_json(&c->ev, true), "audit", audit);
	return json_pack("{s:o}", "summary", s);
}

/* ---- output ---- */

static const char *js(json_t *o, const char *path)
{
	const char *s = json_string_value(jget(o, path));

	return s ? s : "";
}

static void print_flags(FILE *out, json_t *flags)
{
	size_t i;

	for (i = 0; i < json_array_size(flags); i++)
		fprintf(out, "%s%s", i ? ", " : "  [", json_string_value(json_array_get(flags, i)));
	if (json_array_size(flags))
		fputs("]", out);
}

static void print_table(const struct correlator *c, FILE *out)
{
	size_t i, j;

	for (i = 0; i < c->nchains; i++) {
		json_t *ch = c->chains[i].out, *a = json_object_get(ch, "audit");
		json_t *fields = jget(ch, "vault.fields"), *pol = json_object_get(a, "policies");
		const char *path = *js(a, "path") ? js(a, "path") : js(ch, "vault.path");
		int k;

		fprintf(out, "request %s  %s",
			json_is_string(json_object_get(ch, "request_id")) ? js(ch, "request_id") :
			"(unknown)", path);
		print_flags(out, json_object_get(ch, "flags"));
		fputc('\n', out);
		if (json_is_true(json_object_get(a, "found"))) {
			fprintf(out, "  fetched  %s by %s", js(a, "time"),
				*js(a, "display_name") ? js(a, "display_name") : "(no identity)");
			if (*js(a, "entity_id"))
				fprintf(out, " (entity %s)", js(a, "entity_id"));
			for (j = 0; j < json_array_size(pol); j++)
				fprintf(out, "%s%s", j ? "," : " policies ",
					json_string_value(json_array_get(pol, j)));
			if (*js(a, "remote_address"))
				fprintf(out, " from %s", js(a, "remote_address"));
			if (*js(a, "error"))
				fprintf(out, " error: %s", js(a, "error"));
			fputc('\n', out);
		} else {
			fputs("  fetched  (not in the audit log)\n", out);
		}
		for (j = 0; j < json_array_size(fields); j++)
			fprintf(out, "%s%s", j ? ", " : "  fields   ",
				json_string_value(json_array_get(fields, j)));
		if (json_array_size(fields))
			fputc('\n', out);
		for (k = 0; k < LIFE_N; k++) {
			json_t *l = json_object_get(ch, life_name[k]);
			const char *until;

			if (!l)
				continue;
			until = js(l, "expires");
			if (!*until)
				until = json_is_null(json_object_get(l, "duration")) ?
						"(duration unknown)" : "never";
			fprintf(out, "  %-8s %s%sexpires %s", life_name[k],
				k == LIFE_LEASE ? js(ch, "vault.lease_id") : "",
				k == LIFE_LEASE ? " " : "", until);
			if (*js(l, "revoked"))
				fprintf(out, ", revoked %s", js(l, "revoked"));
			fputc('\n', out);
		}
		for (j = 0; j < json_array_size(json_object_get(ch, "events")); j++) {
			json_t *it = json_array_get(json_object_get(ch, "events"), j);
			const char *act = js(it, "action"), *ip = js(it, "destination.ip");
			json_t *port = jget(it, "destination.port");

			fprintf(out, "  %-8s %s  %s[%" JSON_INTEGER_FORMAT "]  %s",
				!strcmp(act, "secret.receive") ? "receive" :
				!strcmp(act, "secret.learn_failed") ? "failed" : "use",
				js(it, "@timestamp"), js(it, "process.name"),
				json_integer_value(jget(it, "process.pid")), js(it, "field"));
			if (*js(it, "sink"))
				fprintf(out, "  %s", js(it, "sink"));
			else if (!strcmp(act, "secret.receive") && *ip)
				fputs("  from", out);
			if (*js(it, "destination.domain"))
				fprintf(out, " %s", js(it, "destination.domain"));
			if (*ip)
				fprintf(out, strchr(ip, ':') ? " [%s]" : " %s", ip);
			if (json_is_integer(port))
				fprintf(out, ":%" JSON_INTEGER_FORMAT, json_integer_value(port));
			if (*js(it, "destination.address"))
				fprintf(out, " %s", js(it, "destination.address"));
			if (*js(it, "file.path"))
				fprintf(out, " %s", js(it, "file.path"));
			if (!strcmp(js(it, "verdict"), "violation"))
				fprintf(out, "  VIOLATION%s%s", *js(it, "rule") ? " of " : "",
					js(it, "rule"));
			else if (!strcmp(js(it, "verdict"), "allowed"))
				fprintf(out, "  allowed by %s", js(it, "rule"));
			if (json_is_integer(json_object_get(it, "repeat_count")))
				fprintf(out, "  x%" JSON_INTEGER_FORMAT " more",
					json_integer_value(json_object_get(it, "repeat_count")));
			if (*js(it, "error"))
				fprintf(out, "  %s", js(it, "error"));
			print_flags(out, json_object_get(it, "flags"));
			fputc('\n', out);
		}
		if (json_integer_value(jget(ch, "counts.omitted")))
			fprintf(out, "  ... %" JSON_INTEGER_FORMAT " more receives and uses not kept\n",
				json_integer_value(jget(ch, "counts.omitted")));
		fputc('\n', out);
	}
}

void correlator_print(const struct correlator *c, FILE *out, bool table)
{
	json_t *sum = correlator_summary(c);
	size_t i;

	if (table) {
		json_t *s = json_object_get(sum, "summary");

		print_table(c, out);
		fprintf(out, "%zu requests: %" JSON_INTEGER_FORMAT " never used, %" JSON_INTEGER_FORMAT
			" used by another process, %" JSON_INTEGER_FORMAT " used after expiry, %"
			JSON_INTEGER_FORMAT " unknown to the audit log\n", c->nchains,
			json_integer_value(jget(s, "flagged.never_used")),
			json_integer_value(jget(s, "flagged.other_process")),
			json_integer_value(jget(s, "flagged.used_after_expiry")),
			json_integer_value(jget(s, "flagged.unknown_request")));
	} else {
		for (i = 0; i < c->nchains; i++)
			if (!json_dumpf(c->chains[i].out, out, JSON_COMPACT))
				fputc('\n', out);
		if (!json_dumpf(sum, out, JSON_COMPACT))
			fputc('\n', out);
	}
	json_decref(sum);
}

/* ---- input ---- */

int correlate_read_lines(FILE *f, size_t max_line,
			 void (*fn)(struct correlator *c, const char *line, size_t len),
			 struct correlator *c)
{
	char chunk[65536], *buf = NULL;
	size_t len = 0, cap = 0, n;
	bool skipping = false;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		const char *p = chunk, *end = chunk + n;

		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t take = (size_t)((nl ? nl : end) - p);

			if (!skipping && len + take > max_line) {
				skipping = true;	/* a line too long: skip to its end */
				len = 0;
			}
			if (!skipping && take) {
				if (len + take + 1 > cap) {
					size_t ncap = cap ? cap : 65536;
					char *b;

					while (ncap < len + take + 1)
						ncap *= 2;
					b = realloc(buf, ncap);
					if (!b) {
						free(buf);
						errno = ENOMEM;
						return -1;
					}
					buf = b;
					cap = ncap;
				}
				memcpy(buf + len, p, take);
				len += take;
			}
			if (!nl)
				break;
			if (skipping)
				fn(c, NULL, 0);
			else if (len)
				fn(c, buf, len);
			skipping = false;
			len = 0;
			p = nl + 1;
		}
	}
	if (skipping)
		fn(c, NULL, 0);
	else if (len)
		fn(c, buf, len);
	free(buf);
	return ferror(f) ? -1 : 0;
}

/* ---- the command ---- */

static const char usage[] =
	"Usage: secretrace correlate --vault-audit FILE [OPTIONS] [EVENTS_FILE]\n"
	"\n"
	"Joins secretrace's events (EVENTS_FILE, or standard input) with a Vault file-audit log on\n"
	"request ID and lease ID, and prints per Vault request one JSON line: who fetched it,\n"
	"when, which fields, then every receive and use with its destination and verdict. Flags:\n"
	"never_used, other_process (used by a process other than the one that fetched it),\n"
	"used_after_expiry (its lease or token had expired or was revoked), unknown_request (the\n"
	"audit log does not know the request ID). A final line sums up, with the input lines\n"
	"that were skipped. Needs no root.\n"
	"\n"
	"Options:\n"
	"      --vault-audit FILE   the Vault file-audit log (required; streamed, never loaded)\n"
	"      --table              a table for a person instead of JSON lines\n"
	"      --lease-ttl SECONDS  lease duration to assume where neither the audit log (which\n"
	"                           records lease IDs, not durations) nor the events say\n"
	"      --max-requests N     requests followed (default 100000); more are counted\n"
	"      --max-uses N         receives and uses kept per request (default 1000)\n"
	"      --max-line BYTES     longer input lines are skipped and counted (default 16 MiB)\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit status: 0 on success, 1 if a file cannot be read, 2 on a usage error.\n";

static bool cnum(const char *opt, const char *s, unsigned long long lo, unsigned long long hi,
		 unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *out < lo || *out > hi) {
		fprintf(stderr, "secretrace: correlate: %s %s: expected a number from %llu to %llu\n",
			opt, s, lo, hi);
		return false;
	}
	return true;
}

int correlate_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vault-audit", required_argument, NULL, 'a' },
		{ "table", no_argument, NULL, 't' },
		{ "lease-ttl", required_argument, NULL, 'l' },
		{ "max-requests", required_argument, NULL, 'r' },
		{ "max-uses", required_argument, NULL, 'm' },
		{ "max-line", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *audit_path = NULL, *events_path = NULL;
	struct correlate_opts o;
	struct correlator *c;
	FILE *af, *ef = stdin;
	unsigned long long v;
	bool table = false;
	int opt, rc = 0;

	correlate_default_opts(&o);
	opterr = 0;
	optind = 0;	/* a full reset: correlate_main may run more than once (tests) */
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			audit_path = optarg;
			break;
		case 't':
			table = true;
			break;
		case 'l':
			if (!cnum("--lease-ttl", optarg, 1, 100LL * 365 * 86400, &v))
				return 2;
			o.lease_ttl_s = (int64_t)v;
			break;
		case 'r':
			if (!cnum("--max-requests", optarg, 1, 100000000, &v))
				return 2;
			o.max_requests = v;
			break;
		case 'm':
			if (!cnum("--max-uses", optarg, 1, 100000000, &v))
				return 2;
			o.max_items = v;
			break;
		case 'L':
			if (!cnum("--max-line", optarg, 256, 1024ULL * 1024 * 1024, &v))
				return 2;
			o.max_line = v;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "secretrace: correlate: %s needs a value (see secretrace "
				"correlate --help)\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "secretrace: correlate: unknown option %s (see secretrace "
				"correlate --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc)
		events_path = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "secretrace: correlate: unexpected argument %s (one events file)\n",
			argv[optind]);
		return 2;
	}
	if (!audit_path) {
		fprintf(stderr, "secretrace: correlate: --vault-audit FILE is required (see "
			"secretrace correlate --help)\n");
		return 2;
	}
	af = fopen(audit_path, "re");
	if (!af) {
		fprintf(stderr, "secretrace: correlate: %s: %s\n", audit_path, strerror(errno));
		return 1;
	}
	if (events_path && strcmp(events_path, "-")) {
		ef = fopen(events_path, "re");
		if (!ef) {
			fprintf(stderr, "secretrace: correlate: %s: %s\n", events_path,
				strerror(errno));
			fclose(af);
			return 1;
		}
	}
	c = correlator_new(&o);
	if (!c) {
		fprintf(stderr, "secretrace: correlate: out of memory\n");
		rc = 1;
		goto out;
	}
	if (correlate_read_lines(ef, o.max_line, correlator_event_line, c)) {
		fprintf(stderr, "secretrace: correlate: %s: %s\n",
			events_path ? events_path : "standard input", strerror(errno));
		rc = 1;
		goto out;
	}
	if (correlate_read_lines(af, o.max_line, correlator_audit_line, c)) {
		fprintf(stderr, "secretrace: correlate: %s: %s\n", audit_path, strerror(errno));
		rc = 1;
		goto out;
	}
	correlator_finish(c);
	correlator_print(c, stdout, table);
	if (fflush(stdout)) {
		fprintf(stderr, "secretrace: correlate: writing the output: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	if (c->ev.malformed + c->ev.invalid + c->ev.too_long + c->ev.over_limit + c->ev.omitted +
	    c->au.malformed + c->au.invalid + c->au.too_long)
		fprintf(stderr, "secretrace: correlate: skipped events: %" PRIu64 " malformed, %"
			PRIu64 " invalid, %" PRIu64 " too long, %" PRIu64 " over --max-requests, %"
			PRIu64 " over --max-uses; skipped audit lines: %" PRIu64 " malformed, %"
			PRIu64 " invalid, %" PRIu64 " too long\n", c->ev.malformed,
			c->ev.invalid, c->ev.too_long, c->ev.over_limit, c->ev.omitted,
			c->au.malformed, c->au.invalid, c->au.too_long);
out:
	correlator_free(c);
	fclose(af);
	if (ef != stdin)
		fclose(ef);
	return rc;
}
