// SPDX-License-Identifier: GPL-2.0
/*
 * The learner's Vault stage: which strings of a Vault response are secrets (KV v2, dynamic
 * credentials, logins, wrapping, LIST, PKI), the limits, hostile JSON, and what a request
 * presents (tokens, login passwords, secret_ids, wrapping tokens).
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

#define RID "8f1a2b3c-0000-4d5e-9f00-112233445566"

/* ---- helpers ---- */

static int parse_n(const void *json, size_t len, size_t max_items, struct vault_response *r,
		   char *err, size_t errlen)
{
	memset(err, 0, errlen);
	return vault_parse_response(json, len, max_items, r, err, errlen);
}

static int parse(const char *json, size_t max_items, struct vault_response *r, char *err,
		 size_t errlen)
{
	return parse_n(json, strlen(json), max_items, r, err, errlen);
}

static const struct vault_item *find(const struct vault_items *it, const char *field)
{
	size_t i;

	for (i = 0; i < it->n; i++)
		if (!strcmp(it->v[i].field, field))
			return &it->v[i];
	return NULL;
}

static bool has_value(const struct vault_items *it, const void *v, size_t len)
{
	size_t i;

	for (i = 0; i < it->n; i++)
		if (it->v[i].len == len && !memcmp(it->v[i].value, v, len))
			return true;
	return false;
}

static bool has_value_str(const struct vault_items *it, const char *v)
{
	return has_value(it, v, strlen(v));
}

static void assert_item(const struct vault_items *it, const char *field, const char *value)
{
	const struct vault_item *x = find(it, field);

	if (!x)
		fail_msg("no item \"%s\"", field);
	assert_int_equal(x->len, strlen(value));
	assert_memory_equal(x->value, value, x->len);
}

static void assert_no_leak(const char *err, const char *secret)
{
	assert_true(err[0] != 0);
	if (strstr(err, secret))
		fail_msg("error message quotes the input: %s", err);
}

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

static int setup(void **state)
{
	(void)state;
	return secmem_init();
}

/* ---- responses ---- */

static void test_kv2_read(void **state)
{
	static const char json[] =
		"{\"request_id\":\"" RID "\",\"lease_id\":\"\",\"renewable\":false,"
		"\"lease_duration\":0,\"data\":{\"data\":{\"api_key\":\"AKIA-0123456789-abcdef\","
		"\"config\":{\"password\":\"hunter2hunter2\",\"port\":5432,"
		"\"host\":\"db.internal.example\",\"enabled\":true,\"none\":null},"
		"\"short\":\"abc\"},"
		"\"metadata\":{\"created_time\":\"2024-01-01T00:00:00.000000Z\","
		"\"custom_metadata\":{\"owner\":\"team-platform-owners\"},\"deletion_time\":\"\","
		"\"destroyed\":false,\"version\":3}},"
		"\"wrap_info\":null,\"warnings\":null,\"auth\":null,\"mount_type\":\"kv\"}";
	struct vault_response r;
	char err[160];

	(void)state;
	assert_int_equal(parse(json, 100, &r, err, sizeof(err)), 0);
	assert_true(r.is_vault);
	assert_non_null(r.request_id);
	assert_string_equal(r.request_id, RID);
	assert_null(r.lease_id);
	assert_null(r.accessor);
	assert_int_equal(r.items.n, 3);
	assert_item(&r.items, "api_key", "AKIA-0123456789-abcdef");
	assert_item(&r.items, "config.password", "hunter2hunter2");
	assert_item(&r.items, "config.host", "db.internal.example");
	/* the metadata is not a secret */
	assert_false(has_value_str(&r.items, "2024-01-01T00:00:00.000000Z"));
	assert_false(has_value_str(&r.items, "team-platform-owners"));
	assert_null(find(&r.items, "metadata.created_time"));
	assert_int_equal(r.skipped_short, 1);
	assert_int_equal(r.skipped_limit, 0);
	vault_response_free(&r);
	assert_int_equal(r.items.n, 0);
	assert_null(r.request_id);
}

static void test_kv1_read(void **state)
{
	static const char json[] = "{\"request_id\":\"" RID "\",\"lease_id\":\"\",\"lease_duration\":"
				   "2764800,\"data\":{\"token\":\"ghp_0123456789abcdef\","
				   "\"nested\":{\"data\":{\"x\":\"nested-secret-value\"}}},"
				   "\"auth\":null}";
	struct vault_response r;
	char err[160];

	(void)state;
	assert_int_equal(parse(json, 100, &r, err, sizeof(err)), 0);
	assert_true(r.is_vault);
	assert_int_equal(r.items.n, 2);
	assert_item(&r.items, "token", "ghp_0123456789abcdef");
	assert_item(&r.items, "nested.data.x", "nested-secret-value");
	vault_response_free(&r);
}

static void test_database_creds(void **state)
{
	static const char json[] =
		"{\"request_id\":\"" RID "\","
		"\"lease_id\":\"database/creds/readonly/2f6a614c-4aa2-7b19-24b9-ad944a8d4de6\","
		"\"renewable\":true,\"lease_duration\":3600,"
		"\"data\":{\"username\":\"v-approle-readonly-x9Jq2k3Lmn4Op5Qr-1700000000\","
		"\"password\":\"A1a-8sKz3XbQpL0vW2yN\"},"
		"\"wrap_info\":null,\"warnings\":null,\"auth\":null}";
	struct vault_response r;
	char err[160];

	(void)state;
	assert_int_equal(parse(json, 100, &r, err, sizeof(err)), 0);
	assert_true(r.is_vault);
	assert_non_null(r.lease_id);
	assert_string_equal(r.lease_id,
			    "database/creds/readonly/2f6a614c-4aa2-7b19-24b9-ad944a8d4de6");
	assert_int_equal(r.items.n, 2);
	assert_item(&r.items, "username", "v-approle-readonly-x9Jq2k3Lmn4Op5Qr-1700000000");
	assert_item(&r.items, "password", "A1a-8sKz3XbQpL0vW2yN");
	vault_response_free(&r);
}

static void test_approle_login(void **state)
{
	static const char json[] =
		"{\"request_id\":\"" RID "\",\"lease_id\":\"\",\"renewable\":false,"
		"\"lease_duration\":0,\"data\":null,\"wrap_info\":null,\"warnings\":null,"
		"\"auth\":{\"client_token\":\"hvs.CAESIJ0123456789abcdefghijklmnopqrstuv\","
		"\"accessor\":\"0e9e354a-520f-df04-6867-ee81cae3d42d\","
		"\"policies\":[\"default\",\"app-readonly-policy\"],"
		"\"token_policies\":[\"default\",\"app-readonly-policy\"],"
		"\"metadata\":{\"role_name\":\"my-application-role\"},"
		"\"lease_duration\":2764800,\"renewable\":true,"
		"\"entity_id\":\"a1b2c3d4-0000-1111-2222-333344445555\","
		"\"token_type\":\"service\",\"orphan\":true}}";
	struct vault_response r;
	char err[160];

	(void)state;
	assert_int_equal(parse(json, 100, &r, err, sizeof(err)), 0);
	assert_true(r.is_vault);
	assert_int_equal(r.items.n, 1);
	assert_item(&r.items, "client_token", "hvs.CAESIJ0123456789abcdefghijklmnopqrstuv");
	assert_non_null(r.accessor);
	assert_string_equal(r.accessor, "0e9e354a-520f-df04-6867-ee81cae3d42d");
	assert_false(has_value_str(&r.items, "0e9e354a-520f-df04-6867-ee81cae3d42d"));
	assert_false(has_value_str(&r.items, "my-application-role"));
	vault_response_free(&r);
}

/* What Vault sends for a wrapped response: http/logical.go sets no request_id on it. */
static void test_wrapped_response(void **state)
{
	static const char json[] =
		"{\"request_id\":\"\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,"
		"\"data\":null,\"wrap_info\":{\"token\":\"hvs.CAESIwrappingtoken0123456789\","
		"\"accessor\":\"Vx8H0tWqZ1nYy0aQ3c4d5e6f\",\"ttl\":300,"
		"\"creation_time\":\"2024-05-01T10:00:00.123456789Z\","
		"\"creation_path\":\"secret/data/app\",\"wrapped_accessor\":\"\"},"
		"\"warnings\":null,\"auth\":null}";
	struct vault_response r;
	char err[160];

	(void)state;
	assert_int_equal(parse(json, 100, &r, err, sizeof(err)), 0);
	assert_int_equal(r.items.n, 1);
	assert_item(&r.items, "wrap_info.token", "hvs.CAESIwrappingtoken0123456789");
	vault_response_free(&r);
}

static void test_wrapped_response_with_request_id(void **state)
{
	static const char json[] =
		"{\"request_id\":\"" RID "\",\"lease_id\":\"\",\"data\":null,"
		"\"wrap_info\":{\"token\":\"hvs.CAESIwrappingtoken0123456789\","
		"\"accessor\":\"Vx8H0tWqZ1nYy0aQ3c4d5e6f\",\"ttl\":300,"
		"\"creation_path\":\"secret/data/app\"},\"auth\":null}";
	struct vault_response r;
	char err[160];

	(void)state;
	assert_int_equal(parse(json, 100, &r, err, sizeof(err)), 0);
	assert_true(r.is_vault);
	assert_int_equal(r.items.n, 1);
	assert_item(&r.items, "wrap_info.token", "hvs.CAESIwrappingtoken0123456789");
	assert_false(has_value_str(&r.items, "Vx8H0tWqZ1nYy0aQ3c4d5e6f"));
	vault_response_free(&r);
}

static void test_list_response(void **state)
{
	static const char json[] = "{\"request_id\":\"" RID "\",\"lease_id\":\"\",\"data\":{\"keys\":"
				   "[\"database-credentials\",\"application-config/\","
				   "\"third-secret-name\"]},\"auth\":null}";
	struct vault_response r;
	char err[160];

	(void)state;
	assert_int_equal(parse(json, 100, &r, err, sizeof(err)), 0);
	assert_true(r.is_vault);
	assert_int_equal(r.items.n, 0);
	assert_int_equal(r.skipped_limit, 0);
	vault_response_free(&r);
}

static void test_pki_issue(void **state)
{
	static const char json[] =
		"{\"request_id\":\"" RID "\",\"lease_id\":\"pki/issue/web/abcdef012345\","
		"\"data\":{\"certificate\":\"-----BEGIN CERTIFICATE-----\\nMIIDcert\\n-----END "
		"CERTIFICATE-----\","
		"\"issuing_ca\":\"-----BEGIN CERTIFICATE-----\\nMIIDissuer\\n-----END "
		"CERTIFICATE-----\","
		"\"ca_chain\":[\"-----BEGIN CERTIFICATE-----\\nMIIDchain0\\n-----END "
		"CERTIFICATE-----\",\"-----BEGIN CERTIFICATE-----\\nMIIDchain1\\n-----END "
		"CERTIFICATE-----\"],"
		"\"private_key\":\"-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEAsecret\\n"
		"-----END RSA PRIVATE KEY-----\","
		"\"private_key_type\":\"rsa\",\"expiration\":1700000000},\"auth\":null}";
	struct vault_response r;
	char err[160];

	(void)state;
	assert_int_equal(parse(json, 100, &r, err, sizeof(err)), 0);
	assert_true(r.is_vault);
	assert_item(&r.items, "private_key",
		    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAsecret\n"
		    "-----END RSA PRIVATE KEY-----");
	assert_null(find(&r.items, "certificate"));
	assert_null(find(&r.items, "issuing_ca"));
	assert_null(find(&r.items, "ca_chain.0"));
	assert_null(find(&r.items, "ca_chain.1"));
	assert_false(has_value_str(&r.items,
				   "-----BEGIN CERTIFICATE-----\nMIIDcert\n-----END CERTIFICATE-----"));
	assert_int_equal(r.items.n, 1);
	assert_int_equal(r.skipped_short, 1);	/* "rsa" */
	vault_response_free(&r);
}

static void test_short_strings(void **state)
{
	static const char json[] = "{\"request_id\":\"" RID "\",\"data\":{\"a\":\"\",\"b\":\"1234567\","
				   "\"c\":\"12345678\",\"d\":[\"x\",\"yy\"],\"e\":{\"f\":\"abcdefg\"}}}";
	struct vault_response r;
	char err[160];

	(void)state;
	assert_int_equal(parse(json, 100, &r, err, sizeof(err)), 0);
	assert_int_equal(r.items.n, 1);
	assert_item(&r.items, "c", "12345678");
	assert_int_equal(r.skipped_short, 5);
	vault_response_free(&r);
}

static void test_max_items(void **state)
{
	static const char json[] =
		"{\"request_id\":\"" RID "\",\"data\":{\"s1\":\"secret-value-1\",\"s2\":"
		"\"secret-value-2\",\"s3\":\"secret-value-3\",\"s4\":\"secret-value-4\","
		"\"s5\":\"secret-value-5\",\"tiny\":\"t\"}}";
	struct vault_response r;
	char err[160];
	size_t max;

	(void)state;
	for (max = 0; max <= 6; max++) {
		assert_int_equal(parse(json, max, &r, err, sizeof(err)), 0);
		assert_true(r.is_vault);
		assert_int_equal(r.items.n, max < 5 ? max : 5);
		assert_int_equal(r.skipped_limit, max < 5 ? 5 - max : 0);
		assert_int_equal(r.skipped_short, 1);
		vault_response_free(&r);
	}
}

static void test_not_vault(void **state)
{
	static const char *const docs[] = {
		"{\"foo\":\"barbarbarbarbar\",\"data\":{\"password\":\"not-from-vault-123\"}}",
		"{\"request_id\":\"" RID "\",\"errors\":[\"permission denied\"]}",
		"{\"request_id\":\"" RID "\",\"data\":\"a-string-not-object\",\"auth\":null}",
		"{\"request_id\":\"" RID "\",\"data\":null,\"auth\":null,\"wrap_info\":null}",
		"{\"request_id\":12345,\"data\":{\"password\":\"not-from-vault-123\"}}",
		"{\"initialized\":true,\"sealed\":false,\"version\":\"1.15.0\"}",
		"{}",
	};
	struct vault_response r;
	char err[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		assert_int_equal(parse(docs[i], 100, &r, err, sizeof(err)), 0);
		assert_false(r.is_vault);
		assert_int_equal(r.items.n, 0);
		vault_response_free(&r);
	}
}

static void test_not_an_object(void **state)
{
	static const char *const docs[] = {
		"[{\"request_id\":\"" RID "\",\"data\":{\"password\":\"in-an-array-123\"}}]",
		"\"just a string\"", "42", "null", "true", "[]",
	};
	struct vault_response r;
	char err[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		assert_int_equal(parse(docs[i], 100, &r, err, sizeof(err)), -1);
		assert_true(err[0] != 0);
		assert_false(r.is_vault);
		assert_int_equal(r.items.n, 0);
		assert_null(strstr(err, "in-an-array"));
		vault_response_free(&r);
	}
}

static void test_invalid_json_does_not_leak(void **state)
{
	static const char *const docs[] = {
		/* truncated */
		"{\"request_id\":\"" RID "\",\"data\":{\"password\":\"Zq9-LEAKME-wX7",
		/* an unquoted secret where a value should be */
		"{\"request_id\":\"" RID "\",\"data\":{\"password\":Zq9-LEAKME-wX7}}",
		/* a control character inside the secret */
		"{\"data\":{\"password\":\"Zq9-LEAKME\x01-wX7\"}}",
		/* a bad escape inside the secret */
		"{\"data\":{\"password\":\"Zq9-LEAKME\\q-wX7\"}}",
		/* invalid UTF-8 inside the secret */
		"{\"data\":{\"password\":\"Zq9-LEAKME\xff\xfe-wX7\"}}",
		/* trailing garbage */
		"{\"data\":{\"password\":\"fine\"}} Zq9-LEAKME-wX7",
		/* the secret as an object key, with a missing colon */
		"{\"data\":{\"Zq9-LEAKME-wX7\" \"x\"}}",
		"",
		"Zq9-LEAKME-wX7",
	};
	struct vault_response r;
	char err[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		assert_int_equal(parse(docs[i], 100, &r, err, sizeof(err)), -1);
		assert_no_leak(err, "LEAKME");
		assert_no_leak(err, "Zq9-");
		assert_no_leak(err, "wX7");
		assert_int_equal(r.items.n, 0);
		assert_null(r.request_id);
		vault_response_free(&r);
	}
}

static void test_duplicate_keys(void **state)
{
	static const char json[] =
		"{\"request_id\":\"" RID "\",\"data\":{\"password\":\"first-DUPSECRET-value\","
		"\"password\":\"second-DUPSECRET-value\"}}";
	struct vault_response r;
	char err[160];

	(void)state;
	/* refused as a whole, and the reason quotes neither value nor key */
	assert_int_equal(parse(json, 100, &r, err, sizeof(err)), -1);
	assert_no_leak(err, "DUPSECRET");
	assert_no_leak(err, "password");
	assert_int_equal(r.items.n, 0);
	vault_response_free(&r);
}

static void test_deep_nesting(void **state)
{
	size_t depth = 100000, i;
	char *s = malloc(depth * 7 + 256), *p;
	struct vault_response r;
	char err[160];

	(void)state;
	assert_non_null(s);

	/* 100000 unclosed '[' */
	memset(s, '[', depth);
	assert_int_equal(parse_n(s, depth, 100, &r, err, sizeof(err)), -1);
	assert_true(err[0] != 0);
	vault_response_free(&r);

	/* closed, and inside a Vault envelope */
	p = s + sprintf(s, "{\"request_id\":\"" RID "\",\"data\":{\"x\":");
	memset(p, '[', depth);
	p += depth;
	p += sprintf(p, "\"deep-secret-value\"");
	memset(p, ']', depth);
	p += depth;
	p += sprintf(p, "}}");
	assert_int_equal(parse_n(s, p - s, 100, &r, err, sizeof(err)), -1);
	assert_no_leak(err, "deep-secret");
	vault_response_free(&r);

	/* deeply nested objects */
	p = s + sprintf(s, "{\"request_id\":\"" RID "\",\"data\":");
	for (i = 0; i < depth; i++)
		p += sprintf(p, "{\"a\":");
	p += sprintf(p, "\"deep-secret-value\"");
	memset(p, '}', depth + 1);
	p += depth + 1;
	assert_int_equal(parse_n(s, p - s, 100, &r, err, sizeof(err)), -1);
	vault_response_free(&r);

	/* as deep as the JSON parser allows: learned, with a bounded field name */
	depth = 1000;
	p = s + sprintf(s, "{\"request_id\":\"" RID "\",\"data\":");
	for (i = 0; i < depth; i++)
		p += sprintf(p, "{\"abc\":[");
	p += sprintf(p, "\"deep-secret-value\"");
	for (i = 0; i < depth; i++)
		p += sprintf(p, "]}");
	p += sprintf(p, "}");
	assert_int_equal(parse_n(s, p - s, 100, &r, err, sizeof(err)), 0);
	assert_true(r.is_vault);
	assert_int_equal(r.items.n, 1);
	assert_true(strlen(r.items.v[0].field) < VAULT_FIELD_MAX);
	assert_int_equal(strncmp(r.items.v[0].field, "abc.0.abc.0.abc.0", 17), 0);
	assert_int_equal(r.items.v[0].len, strlen("deep-secret-value"));
	assert_memory_equal(r.items.v[0].value, "deep-secret-value", r.items.v[0].len);
	vault_response_free(&r);
	free(s);
}

/* A KV v2 secret holding a number Vault keeps verbatim (it decodes with UseNumber): the
 * secret next to it must still be learned. */
static void test_huge_numbers(void **state)
{
	static const char *const nums[] = {
		"99999999999999999999", "-99999999999999999999",
		"123456789012345678901234567890", "1e300", "-0", "0.000000000000000000001",
	};
	struct vault_response r;
	char json[512], err[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		snprintf(json, sizeof(json),
			 "{\"request_id\":\"" RID "\",\"data\":{\"data\":{\"n\":%s,"
			 "\"api_key\":\"AKIA-next-to-a-number\"},\"metadata\":{\"version\":1}}}",
			 nums[i]);
		if (parse(json, 100, &r, err, sizeof(err)))
			fail_msg("number %s: %s", nums[i], err);
		assert_true(r.is_vault);
		assert_int_equal(r.items.n, 1);
		assert_item(&r.items, "api_key", "AKIA-next-to-a-number");
		vault_response_free(&r);
	}
}

/* Vault encodes a NUL in a secret as \u0000: the value is learned whole. */
static void test_nul_escape(void **state)
{
	static const char json[] = "{\"request_id\":\"" RID "\",\"data\":{\"password\":"
				   "\"abc\\u0000defghijk\",\"other\":\"other-secret-value\"}}";
	static const uint8_t want[] = "abc\0defghijk";
	struct vault_response r;
	char err[160];
	const struct vault_item *x;

	(void)state;
	if (parse(json, 100, &r, err, sizeof(err)))
		fail_msg("refused: %s", err);
	assert_true(r.is_vault);
	assert_int_equal(r.items.n, 2);
	x = find(&r.items, "password");
	assert_non_null(x);
	assert_int_equal(x->len, sizeof(want) - 1);
	assert_memory_equal(x->value, want, x->len);
	assert_item(&r.items, "other", "other-secret-value");
	vault_response_free(&r);
}

static void test_arrays(void **state)
{
	static const char json[] =
		"{\"request_id\":\"" RID "\",\"data\":{\"list\":[\"first-secret-in-list\","
		"\"second-secret-in-list\",\"short\",42,[\"nested-array-secret\"],"
		"{\"k\":\"object-in-array-secret\"}]}}";
	struct vault_response r;
	char err[160];

	(void)state;
	assert_int_equal(parse(json, 100, &r, err, sizeof(err)), 0);
	assert_int_equal(r.items.n, 4);
	assert_item(&r.items, "list.0", "first-secret-in-list");
	assert_item(&r.items, "list.1", "second-secret-in-list");
	assert_item(&r.items, "list.4.0", "nested-array-secret");
	assert_item(&r.items, "list.5.k", "object-in-array-secret");
	assert_int_equal(r.skipped_short, 1);
	vault_response_free(&r);
}

static void test_long_field_names(void **state)
{
	char key[600], json[2048], err[160];
	struct vault_response r;

	(void)state;
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = 0;
	snprintf(json, sizeof(json),
		 "{\"request_id\":\"" RID "\",\"data\":{\"%s\":{\"%s\":\"long-key-secret\"}}}", key,
		 key);
	assert_int_equal(parse(json, 100, &r, err, sizeof(err)), 0);
	assert_int_equal(r.items.n, 1);
	assert_true(strlen(r.items.v[0].field) < VAULT_FIELD_MAX);
	assert_int_equal(r.items.v[0].len, strlen("long-key-secret"));
	vault_response_free(&r);
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
		cmocka_unit_test(test_kv2_read),
		cmocka_unit_test(test_kv1_read),
		cmocka_unit_test(test_database_creds),
		cmocka_unit_test(test_approle_login),
		cmocka_unit_test(test_wrapped_response),
		cmocka_unit_test(test_wrapped_response_with_request_id),
		cmocka_unit_test(test_list_response),
		cmocka_unit_test(test_pki_issue),
		cmocka_unit_test(test_short_strings),
		cmocka_unit_test(test_max_items),
		cmocka_unit_test(test_not_vault),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_invalid_json_does_not_leak),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_huge_numbers),
		cmocka_unit_test(test_nul_escape),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_long_field_names),
		cmocka_unit_test(test_sniff_request_id),
		cmocka_unit_test(test_request_path_and_headers),
		cmocka_unit_test(test_request_tokens),
		cmocka_unit_test(test_request_logins),
		cmocka_unit_test(test_request_unwrap),
		cmocka_unit_test(test_request_non_login_password),
		cmocka_unit_test(test_request_namespace_in_path),
	};

	return cmocka_run_group_tests_name("learn_vault", tests, setup, NULL);
}
