// SPDX-License-Identifier: GPL-2.0
/*
 * The learner's Vault stage, responses: which strings of a Vault response are secrets
 * (KV v1 and v2, dynamic credentials, logins, wrapping, LIST, PKI), the limits, and hostile
 * JSON (refused without quoting it). What a request presents is in
 * test_learn_vault_request.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/vault.h"
#include "lib/secmem.h"
#include "test_learn_vault_util.h"

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

static void assert_no_leak(const char *err, const char *secret)
{
	assert_true(err[0] != 0);
	if (strstr(err, secret))
		fail_msg("error message quotes the input: %s", err);
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
	};

	return cmocka_run_group_tests_name("learn_vault", tests, setup, NULL);
}
