// SPDX-License-Identifier: GPL-2.0
/*
 * The learner's Vault stage, requests: the request ID sniffed from the start of a
 * response, and what a request presents (tokens, login passwords, secret_ids, wrapping
 * tokens), its path, namespace and correlation ID.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/http.h"
#include "learn/vault.h"
#include "lib/secmem.h"
#include "test_learn_vault_util.h"

/* ---- helpers ---- */

struct one {
	struct http_msg *m;
	int n;
};

static void keep(void *ctx, struct http_msg *m)
{
	struct one *o = ctx;

	if (o->m)
		http_msg_free(o->m);
	o->m = m;
	o->n++;
}

/* A request message as the learner gets it: parsed from its bytes. */
static struct http_msg *request(const char *method, const char *url, const char *headers,
				const char *body)
{
	struct http_stream s;
	struct one o = { 0 };
	char *raw;
	size_t n = strlen(url) + strlen(headers) + (body ? strlen(body) : 0) + 256;

	raw = malloc(n);
	assert_non_null(raw);
	snprintf(raw, n, "%s %s HTTP/1.1\r\nHost: vault.internal:8200\r\n%sContent-Length: %zu\r\n\r\n%s",
		 method, url, headers, body ? strlen(body) : 0, body ? body : "");
	http_stream_init(&s, true, 1 << 20, keep, NULL, &o);
	assert_int_equal(http_stream_feed(&s, (const uint8_t *)raw, strlen(raw)), 0);
	http_stream_free(&s);
	free(raw);
	assert_int_equal(o.n, 1);
	return o.m;
}

static void parse_req(const char *method, const char *url, const char *headers, const char *body,
		      struct vault_request *r)
{
	struct http_msg *m = request(method, url, headers, body);

	assert_int_equal(vault_parse_request(m, r), 0);
	http_msg_free(m);
}

/* ---- vault_sniff_request_id ---- */

static void test_sniff_request_id(void **state)
{
	static const char body[] = "{\"request_id\":\"" RID "\",\"lease_id\":\"\",\"data\":{\"pass";
	size_t quote = strlen("{\"request_id\":\"" RID), n;
	char *id;

	(void)state;
	id = vault_sniff_request_id((const uint8_t *)body, strlen(body));
	assert_non_null(id);
	assert_string_equal(id, RID);
	free(id);

	/* cut anywhere: the whole id or nothing, never a piece of it */
	for (n = 0; n <= strlen(body); n++) {
		id = vault_sniff_request_id((const uint8_t *)body, n);
		if (n > quote) {
			assert_non_null(id);
			assert_string_equal(id, RID);
		} else {
			assert_null(id);
		}
		free(id);
	}

	id = vault_sniff_request_id((const uint8_t *)"{ \"request_id\" :\n \"abc-123\" }", 29);
	assert_non_null(id);
	assert_string_equal(id, "abc-123");
	free(id);

	/* not an id: non-hex, empty, number, too long */
	{
		static const char *const no[] = {
			"{\"request_id\":\"not-hex-zzz\"}",
			"{\"request_id\":\"\"}",
			"{\"request_id\":12345}",
			"{\"request_id\":\"0123456789abcdef0123456789abcdef0123456789abcdef"
			"0123456789abcdef0\"}",
			"{\"lease_id\":\"abc\"}",
			"",
		};
		size_t i;

		for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
			assert_null(vault_sniff_request_id((const uint8_t *)no[i], strlen(no[i])));
	}
	/* gzip bytes, binary junk */
	{
		uint8_t junk[300];
		size_t i;

		for (i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(i * 31 + 7);
		assert_null(vault_sniff_request_id(junk, sizeof(junk)));
	}
}

/* ---- requests ---- */

static void test_request_path_and_headers(void **state)
{
	struct vault_request r;

	(void)state;
	parse_req("GET", "/v1/secret/data/x?version=2",
		  "X-Vault-Namespace: team-a/\r\nX-Correlation-Id: corr-0001\r\n"
		  "X-Vault-Token: hvs.presented-token-value-1234\r\n",
		  NULL, &r);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "secret/data/x");
	assert_non_null(r.ns);
	assert_string_equal(r.ns, "team-a/");
	assert_non_null(r.correlation_id);
	assert_string_equal(r.correlation_id, "corr-0001");
	assert_true(r.vault_headers);
	assert_int_equal(r.presented.n, 1);
	assert_item(&r.presented, "client_token", "hvs.presented-token-value-1234");
	vault_request_free(&r);

	parse_req("GET", "/v1/secret/metadata/#frag", "correlation-id: corr-0002\r\n", NULL, &r);
	assert_string_equal(r.path, "secret/metadata/");
	assert_null(r.ns);
	assert_string_equal(r.correlation_id, "corr-0002");
	assert_false(r.vault_headers);
	assert_int_equal(r.presented.n, 0);
	vault_request_free(&r);

	/* X-Correlation-Id wins over correlation-id, wherever it is */
	parse_req("GET", "/v1/sys/health",
		  "correlation-id: corr-lower\r\nx-correlation-id: corr-upper\r\n"
		  "X-Vault-Request: true\r\n",
		  NULL, &r);
	assert_string_equal(r.path, "sys/health");
	assert_string_equal(r.correlation_id, "corr-upper");
	assert_true(r.vault_headers);
	vault_request_free(&r);

	/* no /v1/ prefix */
	parse_req("GET", "/sys/health?standbyok=true", "", NULL, &r);
	assert_string_equal(r.path, "sys/health");
	vault_request_free(&r);
}

static void test_request_tokens(void **state)
{
	struct vault_request r;

	(void)state;
	parse_req("GET", "/v1/auth/token/lookup-self",
		  "Authorization: Bearer hvs.bearer-token-value-5678\r\n", NULL, &r);
	assert_false(r.vault_headers);
	assert_int_equal(r.presented.n, 1);
	assert_item(&r.presented, "client_token", "hvs.bearer-token-value-5678");
	vault_request_free(&r);

	parse_req("GET", "/v1/auth/token/lookup-self",
		  "authorization: bearer hvs.bearer-token-value-5678\r\n", NULL, &r);
	assert_int_equal(r.presented.n, 1);
	assert_item(&r.presented, "client_token", "hvs.bearer-token-value-5678");
	vault_request_free(&r);

	/* X-Vault-Token is preferred to Authorization */
	parse_req("GET", "/v1/secret/data/x",
		  "Authorization: Bearer hvs.bearer-token-value-5678\r\n"
		  "X-Vault-Token: hvs.header-token-value-9999\r\n",
		  NULL, &r);
	assert_int_equal(r.presented.n, 1);
	assert_item(&r.presented, "client_token", "hvs.header-token-value-9999");
	vault_request_free(&r);

	/* not a token: Basic auth, too short */
	parse_req("GET", "/v1/secret/data/x",
		  "Authorization: Basic YWxpY2U6cGFzc3dvcmQxMjM=\r\n", NULL, &r);
	assert_int_equal(r.presented.n, 0);
	vault_request_free(&r);
	parse_req("GET", "/v1/secret/data/x", "X-Vault-Token: short\r\n", NULL, &r);
	assert_true(r.vault_headers);
	assert_int_equal(r.presented.n, 0);
	vault_request_free(&r);
}

static void test_request_logins(void **state)
{
	struct vault_request r;

	(void)state;
	parse_req("POST", "/v1/auth/approle/login", "X-Vault-Request: true\r\n",
		  "{\"role_id\":\"db02de05-fa39-4855-059b-67221c5c2f63\","
		  "\"secret_id\":\"6a174c20-f6de-a53c-74d2-6018fcceff64\"}",
		  &r);
	assert_string_equal(r.path, "auth/approle/login");
	assert_int_equal(r.presented.n, 1);
	assert_item(&r.presented, "secret_id", "6a174c20-f6de-a53c-74d2-6018fcceff64");
	vault_request_free(&r);

	parse_req("PUT", "/v1/auth/userpass/login/alice?x=1", "",
		  "{\"password\":\"correct horse battery\"}", &r);
	assert_string_equal(r.path, "auth/userpass/login/alice");
	assert_int_equal(r.presented.n, 1);
	assert_item(&r.presented, "password", "correct horse battery");
	vault_request_free(&r);

	parse_req("POST", "/v1/auth/jwt/login", "",
		  "{\"role\":\"app\",\"jwt\":\"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\"}", &r);
	assert_int_equal(r.presented.n, 1);
	assert_item(&r.presented, "jwt", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln");
	vault_request_free(&r);

	/* short and non-string credentials are not learned; a body that is not JSON is no
	 * error */
	parse_req("POST", "/v1/auth/userpass/login/bob", "", "{\"password\":\"short\"}", &r);
	assert_int_equal(r.presented.n, 0);
	vault_request_free(&r);
	parse_req("POST", "/v1/auth/userpass/login/bob", "", "{\"password\":12345678901}", &r);
	assert_int_equal(r.presented.n, 0);
	vault_request_free(&r);
	parse_req("POST", "/v1/auth/userpass/login/bob", "", "password=hunter2hunter2", &r);
	assert_int_equal(r.presented.n, 0);
	vault_request_free(&r);

	/* the token that authenticates the login call, and its body */
	parse_req("POST", "/v1/auth/ldap/login/carol", "X-Vault-Token: hvs.some-parent-token\r\n",
		  "{\"password\":\"ldap-password-123\"}", &r);
	assert_int_equal(r.presented.n, 2);
	assert_item(&r.presented, "client_token", "hvs.some-parent-token");
	assert_item(&r.presented, "password", "ldap-password-123");
	vault_request_free(&r);
}

static void test_request_unwrap(void **state)
{
	struct vault_request r;

	(void)state;
	parse_req("POST", "/v1/sys/wrapping/unwrap", "",
		  "{\"token\":\"hvs.CAESIwrappingtoken0123456789\"}", &r);
	assert_string_equal(r.path, "sys/wrapping/unwrap");
	assert_int_equal(r.presented.n, 1);
	assert_item(&r.presented, "token", "hvs.CAESIwrappingtoken0123456789");
	vault_request_free(&r);

	/* the wrapping token as the request's own token */
	parse_req("POST", "/v1/sys/wrapping/unwrap",
		  "X-Vault-Token: hvs.CAESIwrappingtoken0123456789\r\n", NULL, &r);
	assert_int_equal(r.presented.n, 1);
	assert_item(&r.presented, "client_token", "hvs.CAESIwrappingtoken0123456789");
	vault_request_free(&r);

	/* only unwrap's token field */
	parse_req("POST", "/v1/sys/wrapping/lookup", "",
		  "{\"token\":\"hvs.CAESIwrappingtoken0123456789\"}", &r);
	assert_int_equal(r.presented.n, 0);
	vault_request_free(&r);
}

static void test_request_non_login_password(void **state)
{
	static const char *const paths[] = {
		"/v1/secret/data/app",
		"/v1/database/config/postgres",
		"/v1/auth/userpass/users/alice",
		"/v1/secret/data/auth/userpass/login/x",
		"/v1/auth/userpass/login/alice/extra",
		"/v1/sys/wrapping/unwrapx",
	};
	struct vault_request r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		parse_req("POST", paths[i], "",
			  "{\"password\":\"not-a-login-password\",\"secret_id\":\"not-a-login-id\","
			  "\"token\":\"not-an-unwrap-token\",\"data\":{\"password\":\"nested-pw-123\"}}",
			  &r);
		if (r.presented.n)
			fail_msg("%s: learned %s", paths[i], r.presented.v[0].field);
		vault_request_free(&r);
	}
}

/* Vault Enterprise takes the namespace as a path prefix too (ns1/auth/...). */
static void test_request_namespace_in_path(void **state)
{
	struct vault_request r;

	(void)state;
	parse_req("POST", "/v1/ns1/auth/userpass/login/alice", "",
		  "{\"password\":\"namespaced-password\"}", &r);
	assert_int_equal(r.presented.n, 1);
	assert_item(&r.presented, "password", "namespaced-password");
	vault_request_free(&r);

	parse_req("POST", "/v1/ns1/team/sys/wrapping/unwrap", "",
		  "{\"token\":\"hvs.CAESInamespacedwrap01\"}", &r);
	assert_int_equal(r.presented.n, 1);
	assert_item(&r.presented, "token", "hvs.CAESInamespacedwrap01");
	vault_request_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniff_request_id),
		cmocka_unit_test(test_request_path_and_headers),
		cmocka_unit_test(test_request_tokens),
		cmocka_unit_test(test_request_logins),
		cmocka_unit_test(test_request_unwrap),
		cmocka_unit_test(test_request_non_login_password),
		cmocka_unit_test(test_request_namespace_in_path),
	};

	return cmocka_run_group_tests_name("learn_vault_request", tests, setup, NULL);
}
