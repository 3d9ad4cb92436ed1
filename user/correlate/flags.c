// SPDX-License-Identifier: GPL-2.0
/* The flags of each chain (never_used, other_process, used_after_expiry,
 * unknown_request), the chains as printed, and the summary. */
#include <stdlib.h>
#include <string.h>

#include "correlate/chains.h"
#include "output/emit.h"

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
	chains_join_hashes(c);
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
