/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The correlator's state, shared by its parts: chains.c files events under their Vault
 * request, audit.c adds what the audit log says of each, flags.c judges the chains,
 * print.c prints them, command.c reads the files; json.c has the typed access to
 * untrusted JSON they all use.
 */
#ifndef SECRETRACE_CORRELATE_CHAINS_H
#define SECRETRACE_CORRELATE_CHAINS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "correlate/correlate.h"

#define MAX_GRANTS 64		/* renewals remembered per lease (the latest are kept) */
#define MAX_FIELDS 64		/* distinct field names listed per chain */
#define MAX_FETCHERS 64		/* receiving processes remembered per chain */
#define MAX_STR 4096		/* longer event strings are dropped from the output */

#define NS 1000000000LL

enum life { LIFE_LEASE, LIFE_TOKEN, LIFE_WRAP, LIFE_N };
extern const char *const life_name[LIFE_N];

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

enum { F_NEVER_USED, F_OTHER_PROCESS, F_AFTER_EXPIRY, F_UNKNOWN_REQUEST, F_N };
extern const char *const flag_name[F_N];

struct correlator {
	struct correlate_opts o;
	struct chain *chains;
	size_t nchains, cap, total_items;
	json_t *by_request, *by_lease, *by_token;	/* key -> chain index */
	/* events named only by vault.audit_hash: hash -> [event, ...], until the audit log
	 * shows the response whose data holds that HMAC (hash -> that entry) */
	json_t *by_hash, *hash_entries;
	size_t deferred;
	bool lease_revokes;	/* any lease to watch renewals and revocations of */
	struct stats ev, au;
	uint64_t au_unrelated;
	bool finished;
	uint64_t flagged[F_N];
};

/* json.c: typed access to untrusted JSON. A value present with the wrong type sets *bad,
 * and so does a step of the dotted path that is there but not an object. */
json_t *json_time(int64_t ns);
json_t *jget(json_t *o, const char *path);
const char *jstr(json_t *o, const char *path, bool *bad);
long long jint(json_t *o, const char *path, bool *bad);	/* a whole number; -1 if absent */
json_t *jobj(json_t *o, const char *path, bool *bad);
/* Into out (dotted keys: nested objects): a string unless it is huge, a number unless < 0. */
void put_str(json_t *out, const char *key, const char *v);
void put_int(json_t *out, const char *key, long long v);
void copy_str(json_t *out, const char *key, json_t *in, const char *path, bool *bad);
void copy_int(json_t *out, const char *key, json_t *in, const char *path, bool *bad);

/* audit.c: what an audit entry (request or response) says of chain ch. */
void audit_attach(struct correlator *c, struct chain *ch, json_t *e);
/* chains.c: the events known by their audit hash alone, filed under the request of the
 * response that carried the value (audit.c found it), before the flags are computed. */
void chains_join_hashes(struct correlator *c);

/* chains.c: the chain an index (by_request, by_lease, by_token) files under key, or NULL;
 * file ch there. */
struct chain *chain_lookup(struct correlator *c, json_t *index, const char *key, size_t len);
void chain_index(struct correlator *c, json_t *index, const char *key, struct chain *ch);

#endif
