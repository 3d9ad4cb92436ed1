// SPDX-License-Identifier: GPL-2.0
/*
 * secretrace correlate: the join of events with audit entries on request ID, lease ID and
 * audit hash, and each flag (never used, another process, after expiry: lease, renewal,
 * revocation, token, unknown request). Hostile input, the limits, the output and the
 * command line are in test_correlate_io.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"
#include "test_correlate_util.h"

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

/* Events known by their audit HMAC alone (a --learn-file secret): filed under the request
 * whose audit response holds it; a sys/ response holding it (audit-hash itself) does not
 * count, and a hash no response holds leaves its event without a chain. */
static void test_audit_hash_join(void **state)
{
	static const char h1[] = "hmac-sha256:1111111111111111111111111111111111111111111111111111"
				 "111111111111", h2[] = "hmac-sha256:22222222222222222222222222222222"
							"22222222222222222222222222222222";
	static const char ev[] = "{\"@timestamp\":\"%s\",\"event\":{\"id\":\"x\",\"kind\":\"event\","
				 "\"action\":\"%s\",\"sequence\":1},\"host\":{\"name\":\"h\"},%s"
				 "\"vault\":{\"field\":\"API_KEY\",\"audit_hash\":\"%s\"},\"secret\":"
				 "{\"fingerprint\":\"fp-1\",\"source\":\"file\",\"encoding\":\"raw\"},"
				 "\"secretrace\":{\"delivery\":{\"file\":\"/vault/secrets/app.env\"},"
				 "\"sink\":\"socket\",\"syscall\":\"sendto\"}}";
	static const char resp[] = "{\"time\":\"%s\",\"type\":\"response\",\"request\":{\"id\":"
				   "\"%s\",\"operation\":\"%s\",\"path\":\"%s\"},\"response\":"
				   "{\"data\":{\"%s\":\"%s\"}}}";
	struct correlator *c = new_c(-1);
	json_t *ch;

	(void)state;
	event(c, ev, at(1), "secret.receive", "", h1);
	event(c, ev, at(2), "secret.use", "\"process\":{\"pid\":11,\"entity_id\":\"E2\"},", h1);
	event(c, ev, at(3), "secret.use", "\"process\":{\"pid\":12,\"entity_id\":\"E3\"},", h2);
	audit(c, resp, at(0.1), RID2, "update", "sys/audit-hash/file", "hash", h1);
	audit(c, resp, at(0.5), RID1, "read", "secret/data/app", "api_key", h1);
	correlator_finish(c);
	assert_int_equal(correlator_count(c), 1);
	ch = correlator_chain(c, 0);
	assert_string_equal(str(ch, "request_id"), RID1);
	assert_true(json_is_true(get(ch, "audit.found")));
	assert_string_equal(str(ch, "audit.path"), "secret/data/app");
	assert_int_equal(json_array_size(get(ch, "events")), 2);
	assert_string_equal(str(ch, "events.0.action"), "secret.receive");
	assert_string_equal(str(ch, "events.0.joined_by"), "audit_hash");
	assert_string_equal(str(ch, "events.0.source"), "file");
	assert_string_equal(str(ch, "events.1.delivery_file"), "/vault/secrets/app.env");
	assert_string_equal(str(ch, "events.1.joined_by"), "audit_hash");
	flags_are(ch, "");	/* no fetcher named: other_process not judged */
	assert_int_equal(num(summary_of(c), "events.no_vault_ids"), 1);
	{
		char *dump = json_dumps(ch, JSON_COMPACT);

		assert_null(strstr(dump, "hmac-sha256"));
		free(dump);
	}
	correlator_free(c);
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
		cmocka_unit_test(test_audit_hash_join),
	};

	return cmocka_run_group_tests_name("correlate", tests, NULL, NULL);
}
