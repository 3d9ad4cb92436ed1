// SPDX-License-Identifier: GPL-2.0
/*
 * The delivered-file parsers (learn/file_formats.c): the formats Vault Agent templates, the
 * Secrets Store CSI provider and Kubernetes Secret volumes write, which format a file is
 * taken for, the fields values are named by, the limits, and hostile YAML.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/file_formats.h"
#include "lib/secmem.h"

static int setup(void **state)
{
	(void)state;
	return secmem_init();
}

static void parse(const char *name, const char *text, size_t max_items, struct file_values *v)
{
	assert_int_equal(file_parse(name, (const uint8_t *)text, strlen(text), max_items, v), 0);
}

/* The value of field, as a string (values here have no NUL), or NULL. */
static char *value_of(const struct file_values *v, const char *field)
{
	static char buf[256];
	size_t i;

	for (i = 0; i < v->items.n; i++)
		if (!strcmp(v->items.v[i].field, field)) {
			snprintf(buf, sizeof(buf), "%.*s", (int)v->items.v[i].len,
				 (const char *)v->items.v[i].value);
			return buf;
		}
	return NULL;
}

static void assert_value(const struct file_values *v, const char *field, const char *want)
{
	const char *got = value_of(v, field);

	if (!got)
		fail_msg("no field %s", field);
	assert_string_equal(got, want);
}

static void test_one_value_file(void **state)
{
	struct file_values v;

	(void)state;
	/* a CSI object or a template of one secret: the file's name is its field */
	parse("db-password", "s3cr3t-pa55word\n", 100, &v);
	assert_int_equal(v.format, FILE_FMT_RAW);
	assert_int_equal(v.items.n, 1);
	assert_value(&v, "db-password", "s3cr3t-pa55word");
	file_values_free(&v);
	/* no final newline, CRLF, inner spaces kept */
	parse("k", "with inner space\r\n", 100, &v);
	assert_value(&v, "k", "with inner space");
	file_values_free(&v);
	/* a PEM block is one value, not YAML */
	parse("tls.key", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
			 "-----END PRIVATE KEY-----\n", 100, &v);
	assert_int_equal(v.format, FILE_FMT_RAW);
	assert_int_equal(v.items.n, 1);
	file_values_free(&v);
}

static void test_env_lines(void **state)
{
	struct file_values v;

	(void)state;
	parse("app.env",
	      "# rendered by vault agent\n"
	      "export DB_PASSWORD=\"pa\\\"ss-\\$word-1\"\n"
	      "API_KEY=sk-abcdefghijkl   \n"
	      "\n"
	      "  export SINGLE='single quoted value'\r\n"
	      "SHORT=abc\n", 100, &v);
	assert_int_equal(v.format, FILE_FMT_ENV);
	assert_value(&v, "DB_PASSWORD", "pa\"ss-$word-1");
	assert_value(&v, "API_KEY", "sk-abcdefghijkl");
	assert_value(&v, "SINGLE", "single quoted value");
	assert_null(value_of(&v, "SHORT"));
	assert_int_equal(v.skipped_short, 1);
	assert_int_equal(v.items.n, 3);
	file_values_free(&v);
	/* one line that is not KEY=value: not an env file (YAML here) */
	parse("mixed", "A=bcdefghijk\nkey: value-long-enough\n", 100, &v);
	assert_int_not_equal(v.format, FILE_FMT_ENV);
	file_values_free(&v);
}

static void test_json(void **state)
{
	struct file_values v;

	(void)state;
	parse("creds.json",
	      "{\"username\": \"v-role-abc123\", \"password\": \"A1a-json-password\",\n"
	      " \"nested\": {\"deep\": {\"key\": \"nested-secret-1\"}}, \"list\": [\"item-secret-0\"],\n"
	      " \"ttl\": 3600, \"ok\": true, \"tiny\": \"x\"}\n", 100, &v);
	assert_int_equal(v.format, FILE_FMT_JSON);
	assert_value(&v, "username", "v-role-abc123");
	assert_value(&v, "password", "A1a-json-password");
	assert_value(&v, "nested.deep.key", "nested-secret-1");
	assert_value(&v, "list.0", "item-secret-0");
	assert_int_equal(v.items.n, 4);
	assert_int_equal(v.skipped_short, 1);
	assert_int_equal(v.lease_s, 0);
	file_values_free(&v);
	/* a rendered Vault response says its lease (rotation.c keeps an old value that long) */
	parse("db.json", "{\"lease_duration\": 768, \"data\": {\"password\": \"A1a-lease-pass\"}}",
	      100, &v);
	assert_int_equal(v.lease_s, 768);
	assert_value(&v, "data.password", "A1a-lease-pass");
	file_values_free(&v);
	parse("neg.json", "{\"lease_duration\": -5, \"password\": \"A1a-lease-pass\"}", 100, &v);
	assert_int_equal(v.lease_s, 0);
	file_values_free(&v);
	/* a whole Vault response (KV v2): data.data's values, not its IDs, times or version */
	parse("kv.json",
	      "{\"request_id\": \"5ae54f6c-95a1-4d4b-8c3c-1d3a0a2f4e11\", \"lease_id\": \"\",\n"
	      " \"renewable\": false, \"lease_duration\": 0, \"data\": {\"data\": {\"api_key\":\n"
	      " \"A1a-kv-api-key\"}, \"metadata\": {\"created_time\": \"2026-12-07T19:53:06.159Z\",\n"
	      " \"version\": 3, \"custom_metadata\": null}}, \"wrap_info\": null, \"warnings\": null,\n"
	      " \"auth\": null, \"mount_type\": \"kv\"}\n", 100, &v);
	assert_int_equal(v.format, FILE_FMT_JSON);
	assert_int_equal(v.items.n, 1);
	assert_value(&v, "api_key", "A1a-kv-api-key");
	assert_int_equal(v.lease_s, 0);
	file_values_free(&v);
	/* a dynamic secret's: its lease counts, its lease_id is public */
	parse("db.json",
	      "{\"request_id\": \"0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011\",\n"
	      " \"lease_id\": \"database/creds/app/Yd2xVnq0bYw3fM4kT8sR1pLz\", \"renewable\": true,\n"
	      " \"lease_duration\": 3600, \"data\": {\"username\": \"v-app-x1y2z3\",\n"
	      " \"password\": \"A1a-dyn-password\"}}", 100, &v);
	assert_int_equal(v.items.n, 2);
	assert_value(&v, "username", "v-app-x1y2z3");
	assert_value(&v, "password", "A1a-dyn-password");
	assert_int_equal(v.lease_s, 3600);
	file_values_free(&v);
	/* broken JSON is not lost: it falls to the next format (here, one value) */
	parse("broken", "{\"a\": \"unterminated-value", 100, &v);
	assert_int_equal(v.items.n, 1);
	file_values_free(&v);
}

static void test_yaml(void **state)
{
	struct file_values v;

	(void)state;
	parse("config.yaml",
	      "database:\n"
	      "  user: admin-user-01\n"
	      "  password: \"yaml-pa55word-1\"\n"
	      "hosts:\n"
	      "  - name: first-host-entry\n"
	      "  - second-host-entry\n"
	      "key: |\n"
	      "  block scalar value\n", 100, &v);
	assert_int_equal(v.format, FILE_FMT_YAML);
	assert_value(&v, "database.user", "admin-user-01");
	assert_value(&v, "database.password", "yaml-pa55word-1");
	assert_value(&v, "hosts.0.name", "first-host-entry");
	assert_value(&v, "hosts.1", "second-host-entry");
	assert_value(&v, "key", "block scalar value\n");
	file_values_free(&v);
}

static void test_yaml_hostile(void **state)
{
	struct file_values v;
	char deep[8192];
	int i, n = 0;

	(void)state;
	/* aliases could expand a small file without bound: not a secrets mapping */
	parse("bomb", "a: &a [\"lol-lol-lol\", \"lol-lol-lol\"]\nb: [*a, *a, *a]\n", 100, &v);
	assert_int_not_equal(v.format, FILE_FMT_YAML);
	file_values_free(&v);
	/* nesting past the depth bound: not a secrets mapping either */
	for (i = 0; i < 60; i++)
		n += snprintf(deep + n, sizeof(deep) - n, "%*sk%d:\n", i, "", i);
	snprintf(deep + n, sizeof(deep) - n, "%*sleaf-value-long\n", i, "");
	parse("deep", deep, 100, &v);
	assert_int_not_equal(v.format, FILE_FMT_YAML);
	file_values_free(&v);
	/* a sequence at the top, a lone scalar: not a mapping */
	parse("seq", "- first-item-value\n- second-item-value\n", 100, &v);
	assert_int_equal(v.format, FILE_FMT_RAW);
	file_values_free(&v);
}

static void test_limits_and_empty(void **state)
{
	struct file_values v;

	(void)state;
	parse("many", "A=value-number-1\nB=value-number-2\nC=value-number-3\n", 2, &v);
	assert_int_equal(v.items.n, 2);
	assert_int_equal(v.skipped_limit, 1);
	file_values_free(&v);
	parse("empty", " \n\t\n", 100, &v);
	assert_int_equal(v.format, FILE_FMT_EMPTY);
	assert_int_equal(v.items.n, 0);
	file_values_free(&v);
	parse("short", "abc\n", 100, &v);
	assert_int_equal(v.items.n, 0);
	assert_int_equal(v.skipped_short, 1);
	file_values_free(&v);
}

static void test_nul_and_binary(void **state)
{
	static const uint8_t bin[] = { 0x00, 0xff, 0x10, 'a', 'b', 0x00, 'c', 'd', 0x7f, 0x80 };
	struct file_values v;

	(void)state;
	/* a binary value (a keytab, a DER key) is one value, byte for byte */
	assert_int_equal(file_parse("keytab", bin, sizeof(bin), 100, &v), 0);
	assert_int_equal(v.items.n, 1);
	assert_int_equal(v.items.v[0].len, sizeof(bin));
	assert_memory_equal(v.items.v[0].value, bin, sizeof(bin));
	file_values_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_value_file),
		cmocka_unit_test(test_env_lines),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_yaml),
		cmocka_unit_test(test_yaml_hostile),
		cmocka_unit_test(test_limits_and_empty),
		cmocka_unit_test(test_nul_and_binary),
	};

	return cmocka_run_group_tests_name("file_formats", tests, setup, NULL);
}
