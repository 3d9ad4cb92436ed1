// SPDX-License-Identifier: GPL-2.0
/*
 * Chains, one per Vault request, and the events filed under them: every secret.receive,
 * secret.use, secret.violation and secret.learn_failed, under its vault.request_id (else
 * its lease, vault.lease_id), as a compact record.
 */
#include <stdlib.h>
#include <string.h>

#include "correlate/chains.h"
#include "lib/grow.h"
#include "output/emit.h"

const char *const life_name[LIFE_N] = { "lease", "token", "wrap" };
const char *const flag_name[F_N] = { "never_used", "other_process", "used_after_expiry",
				     "unknown_request" };

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
	c->by_hash = json_object();
	c->hash_entries = json_object();
	if (!c->by_request || !c->by_lease || !c->by_token || !c->by_hash || !c->hash_entries) {
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
	json_decref(c->by_hash);
	json_decref(c->hash_entries);
	free(c);
}

struct chain *chain_lookup(struct correlator *c, json_t *index, const char *key, size_t len)
{
	json_t *v = json_object_getn(index, key, len);

	return v ? &c->chains[json_integer_value(v)] : NULL;
}

void chain_index(struct correlator *c, json_t *index, const char *key, struct chain *ch)
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
	copy_str(out, "source", ev, "secret.source", bad);
	copy_str(out, "delivery_file", ev, "secretrace.delivery.file", bad);
	if (!strcmp(action, "secret.receive"))
		return out;
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

/* An event named by its audit hash alone waits for the audit log; true if it was kept. */
static bool defer(struct correlator *c, json_t *ev, const char *hash)
{
	json_t *list = json_object_get(c->by_hash, hash);

	if (c->deferred + c->total_items >= c->o.max_total)
		return false;
	if (!list) {
		list = json_array();
		if (!list || json_object_set_new(c->by_hash, hash, list))
			return false;
	}
	if (json_array_append(list, ev))
		return false;
	c->deferred++;
	return true;
}

/* One event, under its request (rid: the one its audit hash found, else its own). */
static void event_json(struct correlator *c, json_t *ev, const char *rid_found)
{
	const char *action, *rid, *lease, *ts, *entity, *fp, *source, *field, *hash;
	const char *vpath, *vns, *vcorr;
	json_t *out, *ld;
	struct chain *ch = NULL;
	bool bad = false;
	int64_t ts_ns;
	int i;

	action = jstr(ev, "event.action", &bad);
	for (i = 0; action && actions[i]; i++)
		if (!strcmp(action, actions[i]))
			break;
	if (!action || !actions[i]) {
		if (bad || (!action && !jget(ev, "event")))
			c->ev.invalid++;
		else
			c->ev.other++;
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
	hash = jstr(ev, "vault.audit_hash", &bad);
	ld = jget(ev, "vault.lease_duration");
	if (rid_found)
		rid = rid_found;
	out = event_record(ev, action, &bad);
	if (rid_found && out)	/* not by its own request ID: by the value's audit HMAC */
		put_str(out, "joined_by", "audit_hash");
	ts_ns = ts ? correlate_parse_time(ts) : -1;
	if (bad || !out || (ts && ts_ns < 0) || (ld && !json_is_integer(ld))) {
		c->ev.invalid++;
		goto drop;
	}
	if (rid && *rid)
		ch = chain_lookup(c, c->by_request, rid, strlen(rid));
	else if (lease && *lease)
		ch = chain_lookup(c, c->by_lease, lease, strlen(lease));
	else if (hash && *hash && defer(c, ev, hash))
		goto drop;	/* until chains_join_hashes */
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
			chain_index(c, c->by_request, rid, ch);
		}
	}
	c->ev.used++;
	if (lease && *lease && !ch->lease_id) {
		ch->lease_id = strdup(lease);
		chain_index(c, c->by_lease, lease, ch);
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
	return;
drop:
	json_decref(out);
}

void correlator_event_line(struct correlator *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *ev;

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
	event_json(c, ev, NULL);
	json_decref(ev);
}

void chains_join_hashes(struct correlator *c)
{
	const char *hash;
	json_t *list, *entry, *ev;
	size_t i;

	json_object_foreach(c->by_hash, hash, list) {
		const char *rid;
		struct chain *ch;

		entry = json_object_get(c->hash_entries, hash);
		rid = json_string_value(jget(entry, "request.id"));
		json_array_foreach(list, i, ev) {
			if (rid)
				event_json(c, ev, rid);
			else
				c->ev.no_ids++;	/* no audit entry holds its hash */
		}
		ch = rid ? chain_lookup(c, c->by_request, rid, strlen(rid)) : NULL;
		if (ch && !ch->audit_found)
			audit_attach(c, ch, entry);
	}
	json_object_clear(c->by_hash);
	c->deferred = 0;
}
