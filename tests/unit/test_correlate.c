// SPDX-License-Identifier: GPL-2.0
/*
 * secretrace correlate: the join of events with audit entries on request ID and lease ID,
 * each flag (never used, another process, after expiry: lease, renewal, revocation,
 * token, unknown request), and hostile input skipped and counted, never trusted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "correlate/correlate.h"

#define RID1 "11111111-1111-4111-8111-111111111111"
#define RID2 "22222222-2222-4222-8222-222222222222"
#define RID3 "33333333-3333-4333-8333-333333333333"
#define LEASE "database/creds/readonly/AbCdEfGhIjKlMnOpQrStUvWx"
#define TOKHMAC "hmac-sha256:5f2c0f6a1bd0e9d1c3a3e1c6b8d2d7f0aa44e2b6f1b0a7c9d8e3f4a5b6c7d8e9"

static char line[8192];

/* 2026-11-27T10:00:00Z plus s seconds (up to 14 hours) */
static const char *at(double s)
{
	static char buf[8][64];
	static int k;
	long long us = (long long)(s * 1e6 + 0.5), sec = us / 1000000;
	char *b = buf[k++ % 8];

	snprintf(b, 64, "2026-11-27T%02lld:%02lld:%02lld.%06lldZ", 10 + sec / 3600, sec / 60 % 60,
		 sec % 60, us % 1000000);
	return b;
}

static void audit(struct correlator *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	correlator_audit_line(c, line, strlen(line));
}

static void event(struct correlator *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	correlator_event_line(c, line, strlen(line));
}

/* A Vault read, as the file audit device writes it: request and response entries. */
static void vault_read(struct correlator *c, const char *rid, const char *path, double t,
		       const char *lease)
{
	const char *who = "\"auth\":{\"client_token\":\"hmac-sha256:aa\",\"accessor\":\"hmac-sha256:bb\","
			  "\"display_name\":\"approle\",\"policies\":[\"agent\",\"default\"],"
			  "\"entity_id\":\"ent-1\",\"policy_results\":{\"allowed\":true},"
			  "\"token_type\":\"service\"}";
	char secret[256] = "";

	if (lease)
		snprintf(secret, sizeof(secret), ",\"secret\":{\"lease_id\":\"%s\"}", lease);
	audit(c, "{\"time\":\"%s\",\"type\":\"request\",%s,\"request\":{\"id\":\"%s\",\"operation\":"
		 "\"read\",\"namespace\":{\"id\":\"root\"},\"path\":\"%s\",\"remote_address\":"
		 "\"10.1.2.3\",\"remote_port\":40000}}", at(t), who, rid, path);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",%s,\"request\":{\"id\":\"%s\",\"operation\":"
		 "\"read\",\"namespace\":{\"id\":\"root\"},\"path\":\"%s\",\"remote_address\":"
		 "\"10.1.2.3\",\"remote_port\":40000},\"response\":{\"mount_type\":\"kv\"%s,"
		 "\"data\":{\"password\":\"hmac-sha256:cc\"}}}", at(t + 0.001), who, rid, path, secret);
}

static void receive(struct correlator *c, const char *rid, const char *field, double t,
		    const char *entity, const char *lease)
{
	char l[256] = "";

	if (lease)
		snprintf(l, sizeof(l), ",\"lease_id\":\"%s\"", lease);
	event(c, "{\"@timestamp\":\"%s\",\"event\":{\"id\":\"x\",\"kind\":\"event\",\"action\":"
		 "\"secret.receive\",\"sequence\":1},\"host\":{\"name\":\"h\"},\"process\":{\"pid\":10,"
		 "\"entity_id\":\"%s\",\"name\":\"agent\",\"executable\":\"/usr/bin/agent\"},"
		 "\"vault\":{\"request_id\":\"%s\",\"path\":\"p\",\"field\":\"%s\"%s},\"secret\":"
		 "{\"fingerprint\":\"fp-%s\",\"source\":\"response\"},\"destination\":{\"ip\":"
		 "\"10.0.0.1\",\"port\":8200}}", at(t), entity, rid, field, l, field);
}

static void use(struct correlator *c, const char *rid, const char *field, double t,
		const char *entity, const char *extra)
{
	event(c, "{\"@timestamp\":\"%s\",\"event\":{\"id\":\"y\",\"kind\":\"event\",\"action\":"
		 "\"secret.use\",\"sequence\":2},\"host\":{\"name\":\"h\"},\"process\":{\"pid\":11,"
		 "\"entity_id\":\"%s\",\"name\":\"agent\",\"executable\":\"/usr/bin/agent\"},"
		 "\"vault\":{\"request_id\":\"%s\",\"path\":\"p\",\"field\":\"%s\"},\"secret\":"
		 "{\"fingerprint\":\"fp-%s\",\"encoding\":\"raw\"},\"secretrace\":{\"sink\":\"socket\","
		 "\"syscall\":\"sendto\"%s},\"destination\":{\"ip\":\"203.0.113.7\",\"port\":443}}",
		 at(t), entity, rid, field, field, extra ? extra : "");
}

static struct correlator *new_c(int64_t lease_ttl)
{
	struct correlate_opts o;
	struct correlator *c;

	correlate_default_opts(&o);
	o.lease_ttl_s = lease_ttl;
	c = correlator_new(&o);
	assert_non_null(c);
	return c;
}

static json_t *get(json_t *o, const char *path)
{
	char part[64];

	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		memcpy(part, path, n);
		part[n] = 0;
		if (json_is_array(o))
			o = json_array_get(o, strtoul(part, NULL, 10));
		else
			o = json_object_get(o, part);
		path += n + (dot ? 1 : 0);
	}
	return o;
}

static const char *str(json_t *o, const char *path)
{
	return json_string_value(get(o, path));
}

static long long num(json_t *o, const char *path)
{
	json_t *v = get(o, path);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

static bool has_flag(json_t *flags, const char *f)
{
	size_t i;

	for (i = 0; i < json_array_size(flags); i++)
		if (!strcmp(json_string_value(json_array_get(flags, i)), f))
			return true;
	return false;
}

/* The chain's flags, exactly (a space-separated list). */
static void flags_are(json_t *ch, const char *want)
{
	char *dump = json_dumps(get(ch, "flags"), JSON_COMPACT), buf[256], *tok, *save;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", want);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save), n++)
		if (!has_flag(get(ch, "flags"), tok))
			fail_msg("flag %s missing from %s", tok, dump);
	if (n != json_array_size(get(ch, "flags")))
		fail_msg("flags %s, expected [%s]", dump, want);
	free(dump);
}

static json_t *summary_of(struct correlator *c)
{
	static json_t *s;

	json_decref(s);
	s = correlator_summary(c);
	return json_object_get(s, "summary");
}

/* ---- the join ---- */

static void test_join_who_when_what(void **state)
{
	struct correlator *c = new_c(-1);
	json_t *ch;

	(void)state;
	receive(c, RID1, "api_key", 1, "E1", NULL);
	receive(c, RID1, "org", 1, "E1", NULL);
	use(c, RID1, "api_key", 2, "E1", NULL);
	vault_read(c, "99999999-9999-4999-8999-999999999999", "secret/data/other", 0.2, NULL);
	vault_read(c, RID1, "secret/data/agent/openai", 0.5, NULL);
	correlator_finish(c);
	assert_int_equal(correlator_count(c), 1);
	ch = correlator_chain(c, 0);
	assert_string_equal(str(ch, "request_id"), RID1);
	flags_are(ch, "");
	assert_true(json_is_true(get(ch, "audit.found")));
	assert_string_equal(str(ch, "audit.display_name"), "approle");
	assert_string_equal(str(ch, "audit.entity_id"), "ent-1");
	assert_string_equal(str(ch, "audit.policies.0"), "agent");
	assert_string_equal(str(ch, "audit.policies.1"), "default");
	assert_string_equal(str(ch, "audit.remote_address"), "10.1.2.3");
	assert_int_equal(num(ch, "audit.remote_port"), 40000);
	assert_string_equal(str(ch, "audit.time"), at(0.5));	/* the request's time */
	assert_string_equal(str(ch, "audit.response_time"), at(0.501));
	assert_string_equal(str(ch, "audit.path"), "secret/data/agent/openai");
	assert_string_equal(str(ch, "audit.operation"), "read");
	assert_string_equal(str(ch, "vault.fields.0"), "api_key");
	assert_string_equal(str(ch, "vault.fields.1"), "org");
	assert_int_equal(json_array_size(get(ch, "events")), 3);
	assert_string_equal(str(ch, "events.0.action"), "secret.receive");
	assert_string_equal(str(ch, "events.0.process.entity_id"), "E1");
	assert_string_equal(str(ch, "events.0.destination.ip"), "10.0.0.1");
	assert_string_equal(str(ch, "events.2.action"), "secret.use");
	assert_string_equal(str(ch, "events.2.sink"), "socket");
	assert_string_equal(str(ch, "events.2.destination.ip"), "203.0.113.7");
	assert_int_equal(num(ch, "events.2.destination.port"), 443);
	assert_string_equal(str(ch, "events.2.verdict"), "none");
	assert_int_equal(num(ch, "counts.receives"), 2);
	assert_int_equal(num(ch, "counts.uses"), 1);
	/* HMACs are never copied out */
	{
		char *dump = json_dumps(ch, JSON_COMPACT);

		assert_null(strstr(dump, "hmac-sha256"));
		free(dump);
	}
	assert_int_equal(num(summary_of(c), "audit.lines"), 4);
	assert_int_equal(num(summary_of(c), "audit.used"), 2);
	assert_int_equal(num(summary_of(c), "audit.unrelated"), 2);
	correlator_free(c);
}

static void test_verdicts(void **state)
{
	struct correlator *c = new_c(-1);
	json_t *ch;

	(void)state;
	receive(c, RID1, "k", 1, "E1", NULL);
	use(c, RID1, "k", 2, "E1", NULL);
	event(c, "{\"@timestamp\":\"%s\",\"event\":{\"kind\":\"alert\",\"action\":\"secret.violation\"},"
		 "\"rule\":{\"name\":\"only-api\"},\"process\":{\"entity_id\":\"E1\"},\"vault\":"
		 "{\"request_id\":\"%s\",\"field\":\"k\"},\"secretrace\":{\"sink\":\"file\"},\"file\":"
		 "{\"path\":\"/tmp/log\"}}", at(3), RID1);
	event(c, "{\"@timestamp\":\"%s\",\"event\":{\"kind\":\"event\",\"action\":\"secret.use\"},"
		 "\"rule\":{\"name\":\"ok-rule\"},\"process\":{\"entity_id\":\"E1\"},\"vault\":"
		 "{\"request_id\":\"%s\",\"field\":\"k\"},\"secretrace\":{\"sink\":\"pipe\"}}", at(4),
	      RID1);
	vault_read(c, RID1, "secret/data/x", 0.5, NULL);
	correlator_finish(c);
	ch = correlator_chain(c, 0);
	assert_string_equal(str(ch, "events.2.verdict"), "violation");
	assert_string_equal(str(ch, "events.2.rule"), "only-api");
	assert_string_equal(str(ch, "events.2.file.path"), "/tmp/log");
	assert_string_equal(str(ch, "events.3.verdict"), "allowed");
	assert_string_equal(str(ch, "events.3.rule"), "ok-rule");
	assert_int_equal(num(ch, "counts.violations"), 1);
	assert_int_equal(num(ch, "counts.uses"), 3);
	correlator_free(c);
}

/* ---- the four flags ---- */

static void test_never_used(void **state)
{
	struct correlator *c = new_c(-1);

	(void)state;
	receive(c, RID1, "api_key", 1, "E1", NULL);
	receive(c, RID2, "token", 1, "E1", NULL);
	use(c, RID2, "token", 2, "E1", NULL);
	vault_read(c, RID1, "secret/data/a", 0.5, NULL);
	vault_read(c, RID2, "secret/data/b", 0.5, NULL);
	correlator_finish(c);
	flags_are(correlator_chain(c, 0), "never_used");
	flags_are(correlator_chain(c, 1), "");
	assert_int_equal(num(summary_of(c), "flagged.never_used"), 1);
	correlator_free(c);
}

static void test_other_process(void **state)
{
	struct correlator *c = new_c(-1);
	json_t *ch;

	(void)state;
	receive(c, RID1, "password", 1, "PARENT", NULL);
	use(c, RID1, "password", 2, "PARENT", NULL);
	use(c, RID1, "password", 3, "CHILD", NULL);
	vault_read(c, RID1, "secret/data/db", 0.5, NULL);
	correlator_finish(c);
	ch = correlator_chain(c, 0);
	flags_are(ch, "other_process");
	assert_null(get(ch, "events.1.flags"));
	assert_true(has_flag(get(ch, "events.2.flags"), "other_process"));
	assert_int_equal(num(summary_of(c), "flagged.other_process"), 1);
	correlator_free(c);
	/* no receive seen (the events began later): nobody to compare with, no flag */
	c = new_c(-1);
	use(c, RID1, "password", 3, "CHILD", NULL);
	vault_read(c, RID1, "secret/data/db", 0.5, NULL);
	correlator_finish(c);
	flags_are(correlator_chain(c, 0), "");
	correlator_free(c);
}

static void test_unknown_request(void **state)
{
	struct correlator *c = new_c(-1);
	json_t *ch;

	(void)state;
	receive(c, RID3, "api_key", 1, "E1", NULL);
	use(c, RID3, "api_key", 2, "E1", NULL);
	vault_read(c, RID1, "secret/data/a", 0.5, NULL);
	correlator_finish(c);
	ch = correlator_chain(c, 0);
	flags_are(ch, "unknown_request");
	assert_false(json_is_true(get(ch, "audit.found")));
	assert_int_equal(num(summary_of(c), "flagged.unknown_request"), 1);
	correlator_free(c);
}

static void test_lease_expiry(void **state)
{
	struct correlator *c = new_c(60);	/* --lease-ttl 60 */
	json_t *ch;

	(void)state;
	receive(c, RID1, "password", 1, "E1", LEASE);
	use(c, RID1, "password", 30, "E1", NULL);	/* within the lease */
	use(c, RID1, "username", 90, "E1", NULL);	/* 89.5 s after the response */
	vault_read(c, RID1, "database/creds/readonly", 0.5, LEASE);
	correlator_finish(c);
	ch = correlator_chain(c, 0);
	flags_are(ch, "used_after_expiry");
	assert_null(get(ch, "events.1.flags"));
	assert_true(has_flag(get(ch, "events.2.flags"), "used_after_expiry"));
	assert_string_equal(str(ch, "vault.lease_id"), LEASE);
	assert_string_equal(str(ch, "audit.lease_id"), LEASE);
	assert_int_equal(num(ch, "lease.duration"), 60);
	assert_string_equal(str(ch, "lease.expires"), "2026-11-27T10:01:00.501000Z");
	correlator_free(c);

	/* the duration is not in Vault's audit log: without --lease-ttl, no judgement */
	c = new_c(-1);
	receive(c, RID1, "password", 1, "E1", LEASE);
	use(c, RID1, "password", 9000, "E1", NULL);
	vault_read(c, RID1, "database/creds/readonly", 0.5, LEASE);
	correlator_finish(c);
	ch = correlator_chain(c, 0);
	flags_are(ch, "");
	assert_true(json_is_null(get(ch, "lease.duration")));
	assert_true(json_is_null(get(ch, "lease.expires")));
	correlator_free(c);

	/* ... unless the events carry it (vault.lease_duration on the receive) */
	c = new_c(-1);
	event(c, "{\"@timestamp\":\"%s\",\"event\":{\"action\":\"secret.receive\"},\"process\":"
		 "{\"entity_id\":\"E1\"},\"vault\":{\"request_id\":\"%s\",\"field\":\"password\","
		 "\"lease_id\":\"%s\",\"lease_duration\":5},\"secret\":{\"source\":\"response\"}}",
	      at(1), RID1, LEASE);
	use(c, RID1, "password", 7, "E1", NULL);
	vault_read(c, RID1, "database/creds/readonly", 0.5, LEASE);
	correlator_finish(c);
	flags_are(correlator_chain(c, 0), "used_after_expiry");
	correlator_free(c);
}

static void test_lease_renewal_and_revocation(void **state)
{
	struct correlator *c = new_c(60);
	json_t *ch;

	(void)state;
	receive(c, RID1, "password", 1, "E1", LEASE);
	use(c, RID1, "password", 100, "E1", NULL);	/* renewed at 50 for 300 s */
	use(c, RID1, "username", 200, "E1", NULL);
	receive(c, RID2, "password", 1, "E1", "database/creds/readonly/other");
	use(c, RID2, "password", 40, "E1", NULL);	/* revoked at 30 by prefix */
	vault_read(c, RID1, "database/creds/readonly", 0.5, LEASE);
	vault_read(c, RID2, "database/creds/readonly", 0.5, "database/creds/readonly/other");
	/* sys/leases/renew: lease in the body (HMAC'd), in clear in response.secret */
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"auth\":{\"display_name\":\"root\"},"
		 "\"request\":{\"id\":\"r-renew\",\"operation\":\"update\",\"path\":\"sys/leases/renew\","
		 "\"data\":{\"lease_id\":\"hmac-sha256:dd\",\"increment\":300}},\"response\":{\"secret\":"
		 "{\"lease_id\":\"%s\"}}}", at(50), LEASE);
	/* a failed renewal counts for nothing */
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"error\":\"lease not found\",\"request\":"
		 "{\"id\":\"r-renew2\",\"path\":\"sys/leases/renew\",\"data\":{\"increment\":9000}},"
		 "\"response\":{\"secret\":{\"lease_id\":\"%s\"}}}", at(150), LEASE);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"request\":{\"id\":\"r-revoke\",\"path\":"
		 "\"sys/leases/revoke-prefix/database/creds/readonly/ot\"},\"response\":{}}", at(30));
	correlator_finish(c);
	ch = correlator_chain(c, 0);
	flags_are(ch, "");
	assert_int_equal(num(ch, "lease.renewals"), 1);
	assert_string_equal(str(ch, "lease.expires"), "2026-11-27T10:05:50.000000Z");
	ch = correlator_chain(c, 1);
	flags_are(ch, "used_after_expiry");
	assert_string_equal(str(ch, "lease.revoked"), "2026-11-27T10:00:30.000000Z");
	correlator_free(c);

	/* revoked by ID in the path; a use before the revocation is fine */
	c = new_c(-1);
	receive(c, RID1, "password", 1, "E1", LEASE);
	use(c, RID1, "password", 2, "E1", NULL);
	use(c, RID1, "username", 20, "E1", NULL);
	vault_read(c, RID1, "database/creds/readonly", 0.5, LEASE);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"request\":{\"id\":\"r-rv\",\"path\":"
		 "\"sys/leases/revoke/%s\"},\"response\":{}}", at(10), LEASE);
	correlator_finish(c);
	ch = correlator_chain(c, 0);
	flags_are(ch, "used_after_expiry");
	assert_null(get(ch, "events.1.flags"));
	assert_true(has_flag(get(ch, "events.2.flags"), "used_after_expiry"));
	correlator_free(c);
}

static void token_login(struct correlator *c, const char *rid, double t, int ttl)
{
	audit(c, "{\"time\":\"%s\",\"type\":\"request\",\"auth\":{\"policy_results\":{\"allowed\":true}},"
		 "\"request\":{\"id\":\"%s\",\"operation\":\"update\",\"path\":\"auth/approle/login\","
		 "\"data\":{\"role_id\":\"hmac-sha256:1\",\"secret_id\":\"hmac-sha256:2\"},"
		 "\"remote_address\":\"10.9.9.9\"}}", at(t), rid);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"auth\":{\"policy_results\":{\"allowed\":true}},"
		 "\"request\":{\"id\":\"%s\",\"operation\":\"update\",\"path\":\"auth/approle/login\","
		 "\"remote_address\":\"10.9.9.9\"},\"response\":{\"auth\":{\"client_token\":\"%s\","
		 "\"accessor\":\"hmac-sha256:3\",\"display_name\":\"approle\",\"policies\":[\"agent\"],"
		 "\"entity_id\":\"ent-9\",\"token_ttl\":%d}}}", at(t + 0.001), rid, TOKHMAC, ttl);
}

static void test_token_expiry(void **state)
{
	struct correlator *c = new_c(-1);
	json_t *ch;

	(void)state;
	/* the login: the presented secret_id has no lease; the token lives 10 s */
	event(c, "{\"@timestamp\":\"%s\",\"event\":{\"action\":\"secret.receive\"},\"process\":"
		 "{\"entity_id\":\"E1\"},\"vault\":{\"request_id\":\"%s\",\"field\":\"secret_id\"},"
		 "\"secret\":{\"fingerprint\":\"fp-sid\",\"source\":\"request\"}}", at(1), RID1);
	receive(c, RID1, "client_token", 1, "E1", NULL);
	use(c, RID1, "client_token", 5, "E1", NULL);
	use(c, RID1, "client_token", 30, "E1", ",\"fd\":9");	/* renewed at 8 for 30 s */
	use(c, RID1, "client_token", 45, "E1", ",\"fd\":10");
	event(c, "{\"@timestamp\":\"%s\",\"event\":{\"action\":\"secret.use\"},\"process\":"
		 "{\"entity_id\":\"E1\"},\"vault\":{\"request_id\":\"%s\",\"field\":\"secret_id\"},"
		 "\"secret\":{\"fingerprint\":\"fp-sid\"},\"secretrace\":{\"sink\":\"file\"}}", at(500),
	      RID1);
	token_login(c, RID1, 0.5, 10);
	/* renew-self with the token: request.client_token is the token's HMAC */
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"auth\":{\"display_name\":\"approle\"},"
		 "\"request\":{\"id\":\"r-rs\",\"path\":\"auth/token/renew-self\",\"client_token\":"
		 "\"%s\"},\"response\":{\"auth\":{\"client_token\":\"%s\",\"token_ttl\":30}}}", at(8),
	      TOKHMAC, TOKHMAC);
	correlator_finish(c);
	ch = correlator_chain(c, 0);
	flags_are(ch, "used_after_expiry");
	/* who: the identity the login created */
	assert_string_equal(str(ch, "audit.display_name"), "approle");
	assert_string_equal(str(ch, "audit.entity_id"), "ent-9");
	assert_string_equal(str(ch, "audit.policies.0"), "agent");
	assert_int_equal(num(ch, "token.duration"), 10);
	assert_int_equal(num(ch, "token.renewals"), 1);
	assert_null(get(ch, "events.2.flags"));
	assert_null(get(ch, "events.3.flags"));
	assert_true(has_flag(get(ch, "events.4.flags"), "used_after_expiry"));
	assert_null(get(ch, "events.5.flags"));	/* the secret_id: not the token's lifetime */
	assert_null(get(ch, "lease"));
	{
		char *dump = json_dumps(ch, JSON_COMPACT);

		assert_null(strstr(dump, "hmac"));
		free(dump);
	}
	correlator_free(c);

	/* revoke-self; and a token without a TTL (root) never expires */
	c = new_c(-1);
	receive(c, RID1, "client_token", 1, "E1", NULL);
	use(c, RID1, "client_token", 5, "E1", NULL);
	receive(c, RID2, "client_token", 1, "E1", NULL);
	use(c, RID2, "client_token", 40000, "E1", NULL);
	token_login(c, RID1, 0.5, 3600);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"request\":{\"id\":\"r-rv\",\"path\":"
		 "\"auth/token/revoke-self\",\"client_token\":\"%s\"},\"response\":{}}", at(3), TOKHMAC);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"request\":{\"id\":\"%s\",\"path\":"
		 "\"auth/token/create\"},\"response\":{\"auth\":{\"client_token\":\"hmac-sha256:ff\","
		 "\"display_name\":\"token\",\"policies\":[\"root\"]}}}", at(0.5), RID2);
	correlator_finish(c);
	flags_are(correlator_chain(c, 0), "used_after_expiry");
	assert_non_null(str(correlator_chain(c, 0), "token.revoked"));
	flags_are(correlator_chain(c, 1), "");
	assert_int_equal(num(correlator_chain(c, 1), "token.duration"), 0);
	assert_true(json_is_null(get(correlator_chain(c, 1), "token.expires")));
	correlator_free(c);
}

static void test_repeats_and_clock_skew(void **state)
{
	struct correlator *c = new_c(60);
	json_t *ch;

	(void)state;
	receive(c, RID1, "password", 1, "E1", LEASE);
	/* first use within the lease; the repeat summary written after it expired covers
	 * uses since then: not proof of a use after expiry */
	use(c, RID1, "password", 50, "E1", NULL);
	use(c, RID1, "password", 110, "E1", ",\"repeat_count\":4");
	/* a first use after expiry: its later summary is flagged too */
	use(c, RID1, "username", 70, "E1", NULL);
	use(c, RID1, "username", 130, "E1", ",\"repeat_count\":2");
	/* a use stamped before the audit's response (clocks apart): not judged */
	use(c, RID1, "password", 0.1, "E1", ",\"fd\":3");
	vault_read(c, RID1, "database/creds/readonly", 0.5, LEASE);
	correlator_finish(c);
	ch = correlator_chain(c, 0);
	flags_are(ch, "used_after_expiry");
	assert_null(get(ch, "events.1.flags"));
	assert_null(get(ch, "events.2.flags"));
	assert_int_equal(num(ch, "events.2.repeat_count"), 4);
	assert_true(has_flag(get(ch, "events.3.flags"), "used_after_expiry"));
	assert_true(has_flag(get(ch, "events.4.flags"), "used_after_expiry"));
	assert_null(get(ch, "events.5.flags"));
	correlator_free(c);
}

static void test_lease_only_join(void **state)
{
	struct correlator *c = new_c(60);
	json_t *ch;

	(void)state;
	/* events that name the lease but not the request */
	event(c, "{\"@timestamp\":\"%s\",\"event\":{\"action\":\"secret.receive\"},\"process\":"
		 "{\"entity_id\":\"E1\"},\"vault\":{\"lease_id\":\"%s\",\"field\":\"password\"},"
		 "\"secret\":{\"source\":\"response\"}}", at(1), LEASE);
	event(c, "{\"@timestamp\":\"%s\",\"event\":{\"action\":\"secret.use\"},\"process\":"
		 "{\"entity_id\":\"E1\"},\"vault\":{\"lease_id\":\"%s\",\"field\":\"password\"},"
		 "\"secretrace\":{\"sink\":\"pipe\"}}", at(100), LEASE);
	vault_read(c, RID2, "database/creds/readonly", 0.5, LEASE);
	correlator_finish(c);
	assert_int_equal(correlator_count(c), 1);
	ch = correlator_chain(c, 0);
	assert_string_equal(str(ch, "request_id"), RID2);
	assert_string_equal(str(ch, "audit.display_name"), "approle");
	flags_are(ch, "used_after_expiry");
	correlator_free(c);
}

/* ---- hostile input ---- */

static void test_hostile_audit(void **state)
{
	struct correlator *c = new_c(-1);
	json_t *s, *ch;

	(void)state;
	receive(c, RID1, "k", 1, "E1", NULL);
	use(c, RID1, "k", 2, "E1", NULL);
	/* malformed: not JSON, truncated, not an object (shape test), broken inside */
	audit(c, "not json at all");
	audit(c, "{\"time\":\"%s\",\"type\":\"request\",\"request\":{\"id\":\"%s\"", at(0.5), RID1);
	audit(c, "[\"%s\"]", RID1);
	audit(c, "{\"time\":\"%s\",\"request\":{\"id\":\"%s\",}}", at(0.5), RID1);
	audit(c, "{\"request\":{\"id\":\"%s\",\"id\":\"x\"}}", RID1);	/* duplicate key */
	audit(c, "{\"request\":{\"id\":\"%s\"},\"x\":\"\\u0000\"}", RID1);	/* NUL */
	audit(c, "{\"request\":{\"id\":\"%s\"},\"n\":123456789012345678901234567890}", RID1);
	/* invalid: JSON with wrong types where it matters */
	audit(c, "{\"time\":5,\"type\":\"request\",\"request\":{\"id\":\"%s\"}}", RID1);
	audit(c, "{\"time\":\"yesterday\",\"type\":\"request\",\"request\":{\"id\":\"%s\"}}", RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"other\",\"request\":{\"id\":\"%s\"}}", at(0.5), RID1);
	audit(c, "{\"time\":\"%s\",\"type\":[],\"request\":{\"id\":\"%s\"}}", at(0.5), RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"request\",\"request\":{\"id\":\"%s\",\"path\":7}}", at(0.5),
	      RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"request\",\"auth\":\"root\",\"request\":{\"id\":\"%s\"}}",
	      at(0.5), RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"request\",\"auth\":{\"policies\":\"root\","
		 "\"display_name\":\"x\"},\"request\":{\"id\":\"%s\"}}", at(0.5), RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"request\":{\"id\":\"%s\"},\"response\":"
		 "{\"secret\":{\"lease_id\":42}}}", at(0.5), RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"request\":{\"id\":\"%s\"},\"response\":[1]}",
	      at(0.5), RID1);
	audit(c, "{\"time\":\"%s\",\"type\":\"response\",\"request\":{\"id\":\"%s\",\"remote_port\":"
		 "\"x\"}}", at(0.5), RID1);
	/* blank lines are nothing; too long lines are counted */
	audit(c, "   ");
	correlator_audit_line(c, NULL, 0);
	/* unrelated lines are not parsed, whatever they hold */
	audit(c, "{\"time\":1,\"request\":{\"id\":\"someone-else\"}}");
	/* and the real entries still join */
	vault_read(c, RID1, "secret/data/x", 0.5, NULL);
	correlator_finish(c);
	ch = correlator_chain(c, 0);
	flags_are(ch, "");
	assert_string_equal(str(ch, "audit.display_name"), "approle");
	s = summary_of(c);
	assert_int_equal(num(s, "audit.lines"), 21);
	assert_int_equal(num(s, "audit.malformed"), 7);
	assert_int_equal(num(s, "audit.invalid"), 10);
	assert_int_equal(num(s, "audit.too_long"), 1);
	assert_int_equal(num(s, "audit.unrelated"), 1);
	assert_int_equal(num(s, "audit.used"), 2);
	correlator_free(c);
}

static void test_hostile_events(void **state)
{
	struct correlator *c = new_c(-1);
	json_t *s;

	(void)state;
	event(c, "garbage");
	event(c, "{\"event\":{\"action\":\"secret.use\"},\"vault\":{\"request_id\":\"%s\"", RID1);
	event(c, "[]");
	event(c, "{}");						/* not an event */
	event(c, "{\"event\":{\"action\":7}}");			/* wrong type */
	event(c, "{\"event\":{\"action\":\"secret.use\"},\"vault\":{\"request_id\":[\"%s\"]}}", RID1);
	event(c, "{\"event\":{\"action\":\"secret.use\"},\"vault\":\"x\"}");
	event(c, "{\"event\":{\"action\":\"secret.use\"},\"@timestamp\":\"noon\",\"vault\":"
		 "{\"request_id\":\"%s\"}}", RID1);
	event(c, "{\"event\":{\"action\":\"secret.use\"},\"process\":{\"pid\":\"ten\"},\"vault\":"
		 "{\"request_id\":\"%s\"}}", RID1);
	event(c, "{\"event\":{\"action\":\"secret.receive\"},\"vault\":{\"request_id\":\"%s\","
		 "\"lease_duration\":\"1h\"}}", RID1);
	event(c, "{\"event\":{\"action\":\"tracer.start\"}}");	/* other actions: ignored */
	event(c, "{\"event\":{\"action\":\"network.connect\"}}");
	event(c, "{\"event\":{\"action\":\"secret.receive\"},\"vault\":{\"path\":\"x\"}}");	/* no ids */
	correlator_event_line(c, NULL, 0);
	receive(c, RID1, "k", 1, "E1", NULL);
	correlator_finish(c);
	assert_int_equal(correlator_count(c), 1);
	flags_are(correlator_chain(c, 0), "never_used unknown_request");
	s = summary_of(c);
	assert_int_equal(num(s, "events.lines"), 15);
	assert_int_equal(num(s, "events.malformed"), 3);
	assert_int_equal(num(s, "events.invalid"), 7);
	assert_int_equal(num(s, "events.other"), 2);
	assert_int_equal(num(s, "events.no_vault_ids"), 1);
	assert_int_equal(num(s, "events.too_long"), 1);
	assert_int_equal(num(s, "events.used"), 1);
	correlator_free(c);
}

static void test_limits(void **state)
{
	struct correlate_opts o;
	struct correlator *c;
	json_t *ch, *s;
	int i;

	(void)state;
	correlate_default_opts(&o);
	o.max_requests = 2;
	o.max_items = 3;
	c = correlator_new(&o);
	receive(c, RID1, "k", 1, "E1", NULL);
	for (i = 0; i < 10; i++)
		use(c, RID1, "k", 2 + i, "E1", NULL);
	receive(c, RID2, "k", 1, "E1", NULL);
	receive(c, RID3, "k", 1, "E1", NULL);	/* a third request: over the limit */
	correlator_finish(c);
	assert_int_equal(correlator_count(c), 2);
	ch = correlator_chain(c, 0);
	assert_int_equal(json_array_size(get(ch, "events")), 3);
	assert_int_equal(num(ch, "counts.uses"), 10);
	assert_int_equal(num(ch, "counts.omitted"), 8);
	s = summary_of(c);
	assert_int_equal(num(s, "events.over_limit"), 1);
	assert_int_equal(num(s, "events.omitted"), 8);
	correlator_free(c);
}

/* ---- input and output ---- */

static struct correlator *lines_to;
static size_t nlines, nlong, total;

static void count_line(struct correlator *c, const char *line, size_t len)
{
	assert_ptr_equal(c, lines_to);
	if (!line) {
		nlong++;
		return;
	}
	nlines++;
	total += len;
	assert_null(memchr(line, '\n', len));
}

static void test_read_lines(void **state)
{
	size_t n = 300000, i;
	char *buf = malloc(n);
	FILE *f;

	(void)state;
	/* 99-byte lines across 64 KiB reads; the one from 1000 is 100099 bytes long (its
	 * newlines overwritten); the last one (100 bytes) has no newline */
	for (i = 0; i < n; i++)
		buf[i] = i % 100 == 99 ? '\n' : 'a';
	memset(buf + 1000, 'b', 100000);
	buf[n - 1] = 'z';
	f = fmemopen(buf, n, "r");
	lines_to = (struct correlator *)buf;
	assert_int_equal(correlate_read_lines(f, 4096, count_line, lines_to), 0);
	fclose(f);
	assert_int_equal(nlong, 1);
	assert_int_equal(nlines, 1999);
	assert_int_equal(total, 1998 * 99 + 100);
	nlines = nlong = total = 0;
	f = fmemopen(buf, n, "r");
	assert_int_equal(correlate_read_lines(f, 200000, count_line, lines_to), 0);
	fclose(f);
	assert_int_equal(nlong, 0);
	assert_int_equal(nlines, 2000);
	assert_int_equal(total, n - 1999);
	free(buf);
}

static void test_parse_time(void **state)
{
	(void)state;
	assert_int_equal(correlate_parse_time("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(correlate_parse_time("1970-01-01T00:00:01.5Z"), 1500000000);
	assert_int_equal(correlate_parse_time("2026-11-27T20:08:46.425593Z"),
			 1795810126425593000LL);
	assert_int_equal(correlate_parse_time("2026-11-27T20:08:46.425593123Z"),
			 1795810126425593123LL);
	assert_int_equal(correlate_parse_time("2026-11-27T22:08:46.425593+02:00"),
			 1795810126425593000LL);
	assert_int_equal(correlate_parse_time("2026-11-27T18:08:46.425593-02:00"),
			 1795810126425593000LL);
	assert_int_equal(correlate_parse_time("2026-11-27T20:08:46.1234567891234Z"),
			 1795810126123456789LL);
	assert_int_equal(correlate_parse_time("2026-11-27 20:08:46Z"), -1);
	assert_int_equal(correlate_parse_time("2026-11-27T20:08:46"), -1);
	assert_int_equal(correlate_parse_time("2026-13-27T20:08:46Z"), -1);
	assert_int_equal(correlate_parse_time("2026-11-27T20:08:46Zjunk"), -1);
	assert_int_equal(correlate_parse_time(""), -1);
	assert_int_equal(correlate_parse_time(NULL), -1);
}

static void test_table(void **state)
{
	struct correlator *c = new_c(60);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	receive(c, RID1, "password", 1, "E1", LEASE);
	use(c, RID1, "password", 100, "E2", NULL);
	receive(c, RID2, "k", 1, "E1", NULL);
	vault_read(c, RID1, "database/creds/readonly", 0.5, LEASE);
	correlator_finish(c);
	correlator_print(c, f, true);
	fclose(f);
	assert_non_null(strstr(text, "request " RID1 "  database/creds/readonly  [other_process, "
				     "used_after_expiry]\n"));
	assert_non_null(strstr(text, "  fetched  2026-11-27T10:00:00.500000Z by approle (entity ent-1) "
				     "policies agent,default from 10.1.2.3\n"));
	assert_non_null(strstr(text, "  lease    " LEASE " expires 2026-11-27T10:01:00.501000Z\n"));
	assert_non_null(strstr(text, "203.0.113.7:443"));
	assert_non_null(strstr(text, "request " RID2 "  p  [never_used, unknown_request]\n"));
	assert_non_null(strstr(text, "  fetched  (not in the audit log)\n"));
	assert_non_null(strstr(text, "2 requests: 1 never used, 1 used by another process, 1 used "
				     "after expiry, 1 unknown to the audit log\n"));
	free(text);
	text = NULL;
	f = open_memstream(&text, &len);
	correlator_print(c, f, false);
	fclose(f);
	/* JSON lines: two chains and the summary */
	{
		char *p = text, *nl;
		int n = 0;

		while ((nl = strchr(p, '\n'))) {
			json_t *o = json_loadb(p, (size_t)(nl - p), 0, NULL);

			assert_true(json_is_object(o));
			if (n == 2)
				assert_non_null(json_object_get(o, "summary"));
			json_decref(o);
			p = nl + 1;
			n++;
		}
		assert_int_equal(n, 3);
	}
	free(text);
	correlator_free(c);
}

static int run(const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[] = { "correlate", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL };
	int argc = 1;
	int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY), rc;

	while (argv[argc])
		argc++;
	fflush(stdout);
	dup2(null, 1);
	dup2(null, 2);	/* the usage errors are checked end to end */
	rc = correlate_main(argc, argv);
	fflush(stdout);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(null);
	return rc;
}

static void test_command_line(void **state)
{
	char audit_path[] = "/tmp/test_correlate_XXXXXX";
	int fd = mkstemp(audit_path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{}\n", 3), 3);
	close(fd);
	assert_int_equal(run(NULL, NULL, NULL, NULL), 2);		/* no --vault-audit */
	assert_int_equal(run("--bogus", NULL, NULL, NULL), 2);
	assert_int_equal(run("--vault-audit", NULL, NULL, NULL), 2);	/* no value */
	assert_int_equal(run("--vault-audit", audit_path, "/dev/null", "extra"), 2);
	assert_int_equal(run("--vault-audit", audit_path, "--lease-ttl", "x"), 2);
	assert_int_equal(run("--vault-audit", "/nonexistent/audit.log", "/dev/null", NULL), 1);
	assert_int_equal(run("--vault-audit", audit_path, "/nonexistent/events", NULL), 1);
	assert_int_equal(run("--vault-audit", "/tmp", "/dev/null", NULL), 1);	/* a directory */
	assert_int_equal(run("--vault-audit", audit_path, "/dev/null", NULL), 0);
	assert_int_equal(run("/dev/null", "--table", "--vault-audit", audit_path), 0);
	assert_int_equal(run("--help", NULL, NULL, NULL), 0);
	unlink(audit_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_who_when_what),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_never_used),
		cmocka_unit_test(test_other_process),
		cmocka_unit_test(test_unknown_request),
		cmocka_unit_test(test_lease_expiry),
		cmocka_unit_test(test_lease_renewal_and_revocation),
		cmocka_unit_test(test_token_expiry),
		cmocka_unit_test(test_repeats_and_clock_skew),
		cmocka_unit_test(test_lease_only_join),
		cmocka_unit_test(test_hostile_audit),
		cmocka_unit_test(test_hostile_events),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_read_lines),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_command_line),
	};

	return cmocka_run_group_tests_name("correlate", tests, NULL, NULL);
}
