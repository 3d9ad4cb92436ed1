// SPDX-License-Identifier: GPL-2.0
/*
 * Policy files: every class of error refused with its line and column, and the matching
 * rules (globs, CIDRs v4 and v6, ports and ranges, host names, unix sockets, sinks,
 * executables, namespaces, first match, defaults, the Vault credential exception), on
 * YAML and JSON input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"

static struct policy *load(const char *text)
{
	struct policy *p = NULL;
	char err[600];

	if (policy_load_buf(text, strlen(text), "p.yaml", &p, err, sizeof(err)))
		fail_msg("policy refused: %s\n---\n%s", err, text);
	return p;
}

/* Refused, with exactly "p.yaml:LINE:COL: " and `why` somewhere in the reason. */
static void refused(const char *text, int line, int col, const char *why)
{
	struct policy *p = NULL;
	char err[600], pos[64];

	if (!policy_load_buf(text, strlen(text), "p.yaml", &p, err, sizeof(err))) {
		policy_free(p);
		fail_msg("policy accepted, expected %d:%d %s\n---\n%s", line, col, why, text);
	}
	assert_null(p);
	snprintf(pos, sizeof(pos), "p.yaml:%d:%d: ", line, col);
	if (strncmp(err, pos, strlen(pos)) || !strstr(err, why))
		fail_msg("got \"%s\", expected \"%s...%s\"\n---\n%s", err, pos, why, text);
}

static struct policy_use sock(const char *path, const char *field, const char *ip, int port)
{
	return (struct policy_use){ .vault_path = path, .field = field, .sink = "socket",
				    .dest_ip = ip, .dest_port = port,
				    .executable = "/usr/bin/python3" };
}

static enum policy_verdict decide(const struct policy *p, struct policy_use u, const char **rule)
{
	const char *r;
	enum policy_verdict v = policy_decide(p, &u, &r);

	if (rule)
		*rule = r;
	return v;
}

#define ALLOW(p, u) assert_int_equal(decide(p, u, NULL), POLICY_ALLOW)
#define DENY(p, u) assert_int_equal(decide(p, u, NULL), POLICY_VIOLATION)
#define NONE(p, u) assert_int_equal(decide(p, u, NULL), POLICY_NONE)

/* ---- the contract's example ---- */

static const char contract_example[] =
	"default: report          # report: no verdict for unmatched secrets | deny: every use is a violation\n"
	"rules:\n"
	"  - name: llm-key-to-api-only\n"
	"    vault_path: \"secret/data/agent/*\"\n"
	"    field: api_key                 # optional\n"
	"    allow:\n"
	"      - destination: \"203.0.113.0/24:443\"   # IP or CIDR\n"
	"      - destination: \"api.example.com:443\"  # host name\n"
	"        executable: \"/usr/bin/curl\"         # and only when curl sends it\n"
	"      - sink: pipe                          # file, pipe, tty, argv, env\n";

static void test_contract_example(void **state)
{
	struct policy *p = load(contract_example);
	const char *path = "secret/data/agent/openai", *rule;
	struct policy_use u;

	(void)state;
	assert_int_equal(policy_rule_count(p), 1);
	assert_false(policy_default_deny(p));
	assert_int_equal(decide(p, sock(path, "api_key", "203.0.113.7", 443), &rule),
			 POLICY_ALLOW);
	assert_string_equal(rule, "llm-key-to-api-only");
	ALLOW(p, sock(path, "api_key", "203.0.113.255", 443));
	assert_int_equal(decide(p, sock(path, "api_key", "203.0.113.7", 80), &rule),
			 POLICY_VIOLATION);
	assert_string_equal(rule, "llm-key-to-api-only");
	DENY(p, sock(path, "api_key", "203.0.114.7", 443));
	DENY(p, sock(path, "api_key", "198.51.100.1", 443));
	/* by name: only curl */
	u = sock(path, "api_key", "192.0.2.1", 443);
	u.dest_domain = "api.example.com";
	DENY(p, u);
	u.executable = "/usr/bin/curl";
	ALLOW(p, u);
	u.dest_port = 8443;
	DENY(p, u);
	/* sinks */
	u = (struct policy_use){ .vault_path = path, .field = "api_key", .sink = "pipe" };
	ALLOW(p, u);
	u.sink = "file";
	DENY(p, u);
	u.sink = "argv";
	DENY(p, u);
	/* other fields, other paths: no rule, default report */
	assert_int_equal(decide(p, sock(path, "org", "198.51.100.1", 443), &rule), POLICY_NONE);
	assert_null(rule);
	NONE(p, sock("secret/data/agent/x/y", "api_key", "198.51.100.1", 443));
	NONE(p, sock("secret/data/other", "api_key", "198.51.100.1", 443));
	policy_free(p);
}

/* ---- errors, each with its position ---- */

static void test_syntax_errors(void **state)
{
	(void)state;
	refused("default: \"report\n", 2, 1, "found unexpected end of stream");
	refused("rules:\n  - name: a\n   vault_path: x\n", 3, 4, "did not find expected '-' indicator");
	refused("rules:\n  - name: a\n    vault_path: x: y\n", 3, 18, "mapping values are not allowed");
	refused("rules:\n\t- name: a\n", 2, 1, "indent with spaces");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n      - destination: *.example.com\n",
		5, 23, "must be quoted");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n"
		"      - destination: [2001:db8::/32]:443\n", 5, 37, "quote values");
	refused("default: report\n---\ndefault: deny\n", 2, 1, "more than one YAML document");
	refused("", 1, 1, "empty policy");
	refused("# only a comment\n", 1, 1, "empty policy");
	refused("- a\n- b\n", 1, 1, "expected a mapping with default and rules, got a list");
	refused("just text\n", 1, 1, "got a string");
	refused("a: &x 1\n", 1, 4, "anchors (&x) are not supported");
	refused("rules: []\ndefault: !!str deny\n", 2, 10, "tags (tag:yaml.org,2002:str)");
	refused("rules:\n  - &r {name: a, vault_path: x}\n", 2, 5, "anchors");
}

static void test_unknown_and_duplicate_keys(void **state)
{
	(void)state;
	refused("default: report\nrule: []\n", 2, 1, "policy: unknown key \"rule\" (known: default, rules)");
	refused("rules:\n  - name: a\n    vault_pat: x\n", 3, 5, "rule: unknown key \"vault_pat\"");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n      - dest: 10.0.0.1\n", 5, 9,
		"allow entry: unknown key \"dest\"");
	refused("rules:\n  - name: a\n    vault_path: x\n    Allow: []\n", 4, 5, "unknown key \"Allow\"");
	refused("default: report\nrules: []\ndefault: deny\n", 3, 1,
		"policy: duplicate key \"default\"");
	refused("rules:\n  - name: a\n    vault_path: x\n    name: b\n", 4, 5,
		"rule: duplicate key \"name\"");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n      - sink: pipe\n        sink: file\n",
		6, 9, "allow entry: duplicate key \"sink\"");
	refused("rules:\n  - name: a\n    vault_path: x\n  - name: b\n    vault_path: y\n"
		"  - name: a\n    vault_path: z\n", 6, 5, "rule \"a\": another rule has the same name");
	refused("rules:\n  - {name: a, vault_path: x}\n  - {name: a, vault_path: x}\n  - {name: a, vault_path: x}\n",
		3, 5, "same name");
	refused("rules:\n  - vault_path: x\n", 2, 5, "rule: name is required");
	refused("rules:\n  - name: a\n    field: x\n", 2, 5, "rule \"a\": vault_path is required");
	refused("rules:\n  - name: \"\"\n    vault_path: x\n", 2, 11, "name: must be 1 to 256");
	refused("? [a]\n: b\n", 1, 3, "keys must be plain names");
}

static void test_wrong_types(void **state)
{
	(void)state;
	refused("rules: {}\n", 1, 8, "rules: expected a list, got a mapping");
	refused("rules: x\n", 1, 8, "rules: expected a list, got a string");
	refused("rules:\n", 1, 7, "rules: expected a list, got nothing");
	refused("rules:\n  - x\n", 2, 5, "rule: expected a mapping, got a string");
	refused("default: true\n", 1, 10, "default: expected a string, got a boolean");
	refused("default: 1\n", 1, 10, "default: expected a string, got a number");
	refused("default: allow\n", 1, 10, "default: expected report or deny");
	refused("default: [report]\n", 1, 10, "default: expected a string, got a list");
	refused("rules:\n  - name: 5\n    vault_path: x\n", 2, 11,
		"name: expected a string, got a number (quote it");
	refused("rules:\n  - name: [a]\n    vault_path: x\n", 2, 11, "name: expected a string, got a list");
	refused("rules:\n  - name: a\n    vault_path: ~\n", 3, 17, "vault_path: expected a string, got nothing");
	refused("rules:\n  - name: a\n    vault_path: x\n    field: 1.5e3\n", 4, 12, "got a number");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow: {}\n", 4, 12,
		"allow: expected a list, got a mapping");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n", 4, 11, "allow: expected a list, got nothing");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n      - pipe\n", 5, 9,
		"allow entry: expected a mapping, got a string");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n      - sink: [pipe]\n", 5, 15,
		"sink: expected a string, got a list");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n      - destination: 443\n", 5, 22,
		"destination: expected a string, got a number");
	refused("rules:\n  - name: a\n    vault_path: \"x\\0y\"\n", 3, 17, "NUL");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n      - {}\n", 5, 9,
		"allow entry: empty");
}

static void test_bad_values(void **state)
{
	static const struct {
		const char *dest;
		const char *why;
	} bad_dests[] = {
		{ "10.0.0.0/33", "prefix length must be 0 to 32" },
		{ "10.0.0.0/", "prefix length" },
		{ "10.0.0.0/08", "prefix length" },
		{ "10.0.0.0/8x", "bad destination" },
		{ "10.0.0.1/24", "bits are set past the /24 prefix" },
		{ "300.1.1.1", "bad IPv4 address" },
		{ "10.1.1", "bad IPv4 address" },
		{ "010.1.1.1", "bad IPv4 address" },
		{ "[2001:db8::/129]:443", "prefix length must be 0 to 128" },
		{ "[2001:db8::1/32]", "bits are set past the /32 prefix" },
		{ "[2001:db8:::1]:443", "bad IPv6 address" },
		{ "[2001:db8::1]443", "want [ADDR]:PORT" },
		{ "[]:443", "want [ADDR]:PORT" },
		{ "2001:db8::/200", "prefix length" },
		{ "10.0.0.1:0", "bad port \"0\"" },
		{ "10.0.0.1:65536", "bad port" },
		{ "10.0.0.1:", "bad port" },
		{ "10.0.0.1:http", "bad port" },
		{ "10.0.0.1:80-", "bad port" },
		{ "10.0.0.1:-80", "bad port" },
		{ "10.0.0.1:90-80", "low end above high end" },
		{ "10.0.0.1:1-2-3", "bad port" },
		{ "10.0.0.1:0000000443", "bad port" },
		{ "[::1]:99999", "bad port" },
		{ "api..example.com", "empty label" },
		{ "-api.example.com", "starts or ends with -" },
		{ "api-.example.com", "starts or ends with -" },
		{ "api.*.example.com", "only as the whole first label" },
		{ "*example.com", "only as the whole first label" },
		{ "*.", "bad host name" },
		{ "exa mple.com", "' ' is not allowed" },
		{ "api.example.com/24", "a CIDR needs an IP address" },
		{ "unix:run/x.sock", "bad unix destination" },
		{ "unix:", "bad unix destination" },
		{ "unix:/run/?.sock", "'?' is reserved" },
		{ ":443", "bad destination" },
	};
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_dests) / sizeof(bad_dests[0]); i++) {
		snprintf(text, sizeof(text),
			 "rules:\n  - name: a\n    vault_path: x\n    allow:\n      - destination: \"%s\"\n",
			 bad_dests[i].dest);
		refused(text, 5, 22, bad_dests[i].why);
	}
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n      - sink: socks\n", 5, 15,
		"sink: unknown sink \"socks\"");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n      - sink: File\n", 5, 15,
		"unknown sink");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n"
		"      - destination: 10.0.0.1\n        sink: file\n", 5, 9,
		"sink file can never match together with a destination");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n      - executable: curl\n", 5, 21,
		"executable: \"curl\" is not an absolute path");
	refused("rules:\n  - name: a\n    vault_path: x\n    allow:\n      - executable: /usr/bin/[ab]\n",
		5, 21, "'[' is reserved");
}

static void test_bad_globs(void **state)
{
	static const struct {
		const char *glob;
		const char *why;
	} bad[] = {
		{ "secret/data/?", "'?' is reserved" },
		{ "secret/data/[ab]", "'[' is reserved" },
		{ "secret/{a,b}", "'{' is reserved" },
		{ "secret\\\\x", "'\\' is reserved" },
		{ "secret/***", "***" },
		{ "/secret/data/x", "empty path segment at the start" },
		{ "secret//x", "a doubled separator" },
		{ "secret/data/", "empty path segment at the end" },
		{ "", "vault_path: empty" },
	};
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "rules:\n  - name: a\n    vault_path: \"%s\"\n", bad[i].glob);
		refused(text, 3, 17, bad[i].why);
	}
	refused("rules:\n  - name: a\n    vault_path: x\n    field: \".a\"\n", 4, 12,
		"empty field name at the start");
	refused("rules:\n  - name: a\n    vault_path: x\n    field: \"a..b\"\n", 4, 12, "doubled");
	refused("rules:\n  - name: a\n    vault_path: \"x\\ty\"\n", 3, 17, "control character");
}

/* ---- matching ---- */

static void test_globs(void **state)
{
	(void)state;
	assert_true(policy_glob_match("secret/data/agent/*", "secret/data/agent/openai", '/'));
	assert_false(policy_glob_match("secret/data/agent/*", "secret/data/agent/a/b", '/'));
	assert_true(policy_glob_match("secret/data/agent/*", "secret/data/agent/", '/'));
	assert_false(policy_glob_match("secret/data/agent/*", "secret/data/agent", '/'));
	assert_true(policy_glob_match("secret/**", "secret/data/agent/a/b", '/'));
	assert_true(policy_glob_match("secret/**", "secret/", '/'));
	assert_false(policy_glob_match("secret/**", "secretx/a", '/'));
	assert_true(policy_glob_match("**", "", '/'));
	assert_true(policy_glob_match("*", "", '/'));
	assert_true(policy_glob_match("**/db", "a/b/c/db", '/'));
	assert_false(policy_glob_match("**/db", "db", '/'));
	assert_true(policy_glob_match("secret/*/agent/**", "secret/data/agent/x/y", '/'));
	assert_false(policy_glob_match("secret/*/agent/**", "secret/data/more/agent/x", '/'));
	assert_true(policy_glob_match("*/data/*-key", "kv/data/openai-key", '/'));
	assert_false(policy_glob_match("*/data/*-key", "kv/data/openai-key2", '/'));
	assert_true(policy_glob_match("a*b*c*d", "aXXbYYcZZd", '/'));
	assert_false(policy_glob_match("a*b*c*d", "aXXbYYcZZ/d", '/'));
	assert_true(policy_glob_match("a**d", "aX/b/c/d", '/'));
	assert_true(policy_glob_match("exact", "exact", '/'));
	assert_false(policy_glob_match("exact", "exactly", '/'));
	assert_false(policy_glob_match("Secret/x", "secret/x", '/'));
	/* fields: '.' separates */
	assert_true(policy_glob_match("config.*", "config.password", '.'));
	assert_false(policy_glob_match("config.*", "config.db.password", '.'));
	assert_true(policy_glob_match("config.**", "config.db.password", '.'));
	assert_true(policy_glob_match("*_key", "api_key", '.'));
	/* no blow-up on patterns that would backtrack exponentially */
	{
		char pat[200] = "", s[4096];

		for (int i = 0; i < 40; i++)
			strcat(pat, "a*");
		strcat(pat, "b");
		memset(s, 'a', sizeof(s) - 1);
		s[sizeof(s) - 1] = 0;
		assert_false(policy_glob_match(pat, s, '/'));
	}
}

static const char cidr_policy[] =
	"default: deny\n"
	"rules:\n"
	"  - name: v4\n"
	"    vault_path: v4\n"
	"    allow:\n"
	"      - destination: 10.0.0.0/8\n"
	"      - destination: 192.0.2.1\n"
	"      - destination: 198.51.100.128/25:443\n"
	"      - destination: 0.0.0.0/0:53\n"
	"  - name: v6\n"
	"    vault_path: v6\n"
	"    allow:\n"
	"      - destination: \"[2001:db8::/32]:443\"\n"
	"      - destination: \"2001:db8:ffff::/48\"\n"
	"      - destination: \"[::1]\"\n"
	"      - destination: \"[fe80::1/128]:1000-2000\"\n"
	"      - destination: \"[::ffff:203.0.113.0/120]\"\n"
	"  - name: all6\n"
	"    vault_path: all6\n"
	"    allow:\n"
	"      - destination: \"::/0\"\n";

static void test_cidr_v4(void **state)
{
	struct policy *p = load(cidr_policy);

	(void)state;
	ALLOW(p, sock("v4", "f", "10.0.0.0", 1));
	ALLOW(p, sock("v4", "f", "10.255.255.255", 65535));
	DENY(p, sock("v4", "f", "11.0.0.0", 1));
	DENY(p, sock("v4", "f", "9.255.255.255", 1));
	ALLOW(p, sock("v4", "f", "192.0.2.1", 80));
	DENY(p, sock("v4", "f", "192.0.2.2", 80));
	ALLOW(p, sock("v4", "f", "198.51.100.128", 443));
	ALLOW(p, sock("v4", "f", "198.51.100.255", 443));
	DENY(p, sock("v4", "f", "198.51.100.127", 443));
	DENY(p, sock("v4", "f", "198.51.100.200", 444));
	ALLOW(p, sock("v4", "f", "8.8.8.8", 53));
	DENY(p, sock("v4", "f", "8.8.8.8", 54));
	/* an IPv4 peer seen through a dual-stack socket */
	ALLOW(p, sock("v4", "f", "::ffff:10.1.2.3", 1));
	DENY(p, sock("v4", "f", "::ffff:11.1.2.3", 1));
	/* an IPv6 peer never matches an IPv4 rule */
	DENY(p, sock("v4", "f", "::a00:1", 1));
	/* unknown or garbage addresses match nothing */
	DENY(p, sock("v4", "f", NULL, 1));
	DENY(p, sock("v4", "f", "10.0.0.1x", 1));
	DENY(p, sock("v4", "f", "", 1));
	/* destinations are sockets only */
	{
		struct policy_use u = sock("v4", "f", "10.0.0.1", 1);

		u.sink = "file";
		DENY(p, u);
		u.sink = NULL;
		DENY(p, u);
	}
	policy_free(p);
}

static void test_cidr_v6(void **state)
{
	struct policy *p = load(cidr_policy);

	(void)state;
	ALLOW(p, sock("v6", "f", "2001:db8::1", 443));
	ALLOW(p, sock("v6", "f", "2001:db8:ffff:ffff::1", 443));
	DENY(p, sock("v6", "f", "2001:db9::1", 443));
	DENY(p, sock("v6", "f", "2001:db8::1", 80));
	ALLOW(p, sock("v6", "f", "2001:db8:ffff:1::1", 80));	/* /48, any port */
	DENY(p, sock("v6", "f", "2001:db8:fffe::1", 80));
	ALLOW(p, sock("v6", "f", "::1", 9));
	ALLOW(p, sock("v6", "f", "0:0:0:0:0:0:0:1", 9));
	DENY(p, sock("v6", "f", "::2", 9));
	ALLOW(p, sock("v6", "f", "fe80::1%eth0", 1500));	/* zone index ignored */
	DENY(p, sock("v6", "f", "fe80::1", 2001));
	DENY(p, sock("v6", "f", "fe80::2", 1500));
	/* an IPv4 address against an IPv4-mapped IPv6 rule */
	ALLOW(p, sock("v6", "f", "203.0.113.9", 1));
	ALLOW(p, sock("v6", "f", "::ffff:203.0.113.9", 1));
	DENY(p, sock("v6", "f", "203.0.114.9", 1));
	ALLOW(p, sock("all6", "f", "2606:4700::1", 1));
	ALLOW(p, sock("all6", "f", "::", 1));
	policy_free(p);
}

static void test_ports(void **state)
{
	struct policy *p = load("rules:\n  - name: r\n    vault_path: x\n    allow:\n"
				"      - destination: 127.0.0.1:1-1024\n"
				"      - destination: 127.0.0.1:65535\n"
				"      - destination: 127.0.0.2:8000-8000\n");

	(void)state;
	ALLOW(p, sock("x", "f", "127.0.0.1", 1));
	ALLOW(p, sock("x", "f", "127.0.0.1", 1024));
	DENY(p, sock("x", "f", "127.0.0.1", 1025));
	ALLOW(p, sock("x", "f", "127.0.0.1", 65535));
	DENY(p, sock("x", "f", "127.0.0.1", 0));	/* unknown port: no port rule matches */
	DENY(p, sock("x", "f", "127.0.0.1", -1));
	ALLOW(p, sock("x", "f", "127.0.0.2", 8000));
	DENY(p, sock("x", "f", "127.0.0.2", 8001));
	DENY(p, sock("x", "f", "127.0.0.2", 7999));
	policy_free(p);
}

static void test_hosts(void **state)
{
	struct policy *p = load("rules:\n  - name: r\n    vault_path: x\n    allow:\n"
				"      - destination: api.example.com:443\n"
				"      - destination: \"*.svc.cluster.local\"\n"
				"      - destination: LOCALHOST.\n"
				"      - destination: \"*.hooks.example.org:8000-8999\"\n");
	struct policy_use u = sock("x", "f", "203.0.113.1", 443);

	(void)state;
	u.dest_domain = "api.example.com";
	ALLOW(p, u);
	u.dest_domain = "API.Example.COM.";
	ALLOW(p, u);
	u.dest_port = 80;
	DENY(p, u);
	u.dest_port = 443;
	u.dest_domain = "xapi.example.com";
	DENY(p, u);
	u.dest_domain = "api.example.com.evil.net";
	DENY(p, u);
	u.dest_domain = "db.svc.cluster.local";
	ALLOW(p, u);
	u.dest_domain = "a.b.svc.cluster.local";
	ALLOW(p, u);
	u.dest_domain = "svc.cluster.local";	/* the wildcard needs a label */
	DENY(p, u);
	u.dest_domain = "xsvc.cluster.local";
	DENY(p, u);
	u.dest_domain = "localhost";
	ALLOW(p, u);
	u.dest_domain = "chat.hooks.example.org";
	u.dest_port = 8080;
	ALLOW(p, u);
	u.dest_port = 9000;
	DENY(p, u);
	/* no SNI or Host seen: a name cannot match, whatever the address */
	u.dest_domain = NULL;
	u.dest_port = 443;
	DENY(p, u);
	policy_free(p);
}

static void test_unix_sockets(void **state)
{
	struct policy *p = load("rules:\n  - name: r\n    vault_path: x\n    allow:\n"
				"      - destination: unix:/run/x.sock\n"
				"      - destination: \"unix:/run/agents/*.sock\"\n"
				"      - destination: \"unix:@vault-agent\"\n");
	struct policy_use u = { .vault_path = "x", .sink = "socket" };

	(void)state;
	u.unix_path = "/run/x.sock";
	ALLOW(p, u);
	u.unix_path = "/run/y.sock";
	DENY(p, u);
	u.unix_path = "/run/agents/a.sock";
	ALLOW(p, u);
	u.unix_path = "/run/agents/sub/a.sock";
	DENY(p, u);
	u.unix_path = "@vault-agent";
	ALLOW(p, u);
	u.unix_path = NULL;
	u.dest_ip = "127.0.0.1";
	DENY(p, u);
	u.unix_path = "/run/x.sock";
	u.sink = "file";	/* a file of that name is not the socket */
	DENY(p, u);
	policy_free(p);
}

static void test_sinks_and_executables(void **state)
{
	struct policy *p = load("rules:\n  - name: r\n    vault_path: x\n    allow:\n"
				"      - sink: file\n        executable: /usr/bin/logger\n"
				"      - sink: tty\n"
				"      - executable: \"/opt/agent/**\"\n"
				"      - sink: socket\n        executable: \"/usr/bin/*\"\n");
	struct policy_use u = { .vault_path = "x", .sink = "file", .executable = "/usr/bin/logger" };

	(void)state;
	ALLOW(p, u);
	u.executable = "/usr/bin/python3";
	DENY(p, u);
	u.executable = NULL;
	DENY(p, u);
	u.sink = "tty";
	ALLOW(p, u);
	u.sink = "env";
	u.executable = "/opt/agent/bin/run";
	ALLOW(p, u);
	u.executable = "/opt/agentx";
	DENY(p, u);
	u.sink = "socket";
	u.executable = "/usr/bin/curl";
	u.dest_ip = "198.51.100.1";
	ALLOW(p, u);
	u.executable = "/usr/bin/sub/curl";
	DENY(p, u);
	u.sink = "argv";
	u.executable = "/usr/bin/curl";
	DENY(p, u);
	policy_free(p);
}

static void test_fields_and_namespaces(void **state)
{
	struct policy *p = load("rules:\n"
				"  - name: team-a-db\n    vault_path: \"team-a/database/creds/*\"\n"
				"    field: password\n    allow: [{sink: pipe}]\n"
				"  - name: config\n    vault_path: \"secret/data/**\"\n    field: \"config.*\"\n"
				"    allow: [{sink: file}]\n"
				"  - name: any-ns\n    vault_path: \"**/secret/data/shared\"\n    allow: []\n");
	struct policy_use u = { .vault_path = "database/creds/ro", .ns = "team-a", .field = "password",
				.sink = "pipe" };
	const char *rule;

	(void)state;
	ALLOW(p, u);
	u.ns = "/team-a/";
	ALLOW(p, u);
	u.ns = "team-b";
	NONE(p, u);
	u.ns = NULL;		/* the root namespace: the rule names team-a */
	NONE(p, u);
	u.ns = "";
	NONE(p, u);
	u.ns = "team-a";
	u.field = "username";
	NONE(p, u);
	u.field = NULL;		/* a rule with a field never matches an unknown field */
	NONE(p, u);
	u = (struct policy_use){ .vault_path = "secret/data/app/x", .field = "config.password",
				 .sink = "file" };
	ALLOW(p, u);
	u.field = "config.db.password";
	NONE(p, u);
	u = (struct policy_use){ .vault_path = "secret/data/shared", .ns = "team-c/sub",
				 .sink = "file" };
	assert_int_equal(decide(p, u, &rule), POLICY_VIOLATION);
	assert_string_equal(rule, "any-ns");
	u.ns = NULL;
	NONE(p, u);
	/* an unknown path is matched as "": only * or ** rules catch it */
	u = (struct policy_use){ .sink = "file" };
	NONE(p, u);
	policy_free(p);
}

static void test_first_match_decides(void **state)
{
	struct policy *p = load("default: deny\nrules:\n"
				"  - name: narrow\n    vault_path: \"secret/data/app/db\"\n    allow:\n"
				"      - sink: pipe\n"
				"  - name: broad\n    vault_path: \"secret/data/app/*\"\n    allow:\n"
				"      - sink: file\n      - sink: pipe\n"
				"  - name: never-reached\n    vault_path: \"secret/data/app/db\"\n    allow:\n"
				"      - sink: file\n");
	struct policy_use u = { .vault_path = "secret/data/app/db", .sink = "file" };
	const char *rule;

	(void)state;
	/* narrow matches the path and does not allow files: broad, which would, is not tried */
	assert_int_equal(decide(p, u, &rule), POLICY_VIOLATION);
	assert_string_equal(rule, "narrow");
	u.sink = "pipe";
	assert_int_equal(decide(p, u, &rule), POLICY_ALLOW);
	assert_string_equal(rule, "narrow");
	u.vault_path = "secret/data/app/web";
	u.sink = "file";
	assert_int_equal(decide(p, u, &rule), POLICY_ALLOW);
	assert_string_equal(rule, "broad");
	/* a rule whose field does not match is passed over */
	policy_free(p);
	p = load("rules:\n"
		 "  - name: by-field\n    vault_path: x\n    field: token\n    allow: []\n"
		 "  - name: rest\n    vault_path: x\n    allow: [{sink: file}]\n");
	u = (struct policy_use){ .vault_path = "x", .field = "token", .sink = "file" };
	assert_int_equal(decide(p, u, &rule), POLICY_VIOLATION);
	assert_string_equal(rule, "by-field");
	u.field = "other";
	assert_int_equal(decide(p, u, &rule), POLICY_ALLOW);
	assert_string_equal(rule, "rest");
	policy_free(p);
}

static void test_defaults(void **state)
{
	struct policy *p = load("rules: []\n");
	struct policy_use u = { .vault_path = "secret/data/x", .sink = "file" };
	const char *rule = "x";

	(void)state;
	assert_false(policy_default_deny(p));
	assert_int_equal(decide(p, u, &rule), POLICY_NONE);
	assert_null(rule);
	policy_free(p);
	p = load("default: deny\n");	/* rules may be left out */
	assert_true(policy_default_deny(p));
	assert_int_equal(policy_rule_count(p), 0);
	assert_int_equal(decide(p, u, &rule), POLICY_VIOLATION);
	assert_string_equal(rule, "default");
	policy_free(p);
	p = load("default: report\n");
	assert_int_equal(decide(p, u, NULL), POLICY_NONE);
	policy_free(p);
	/* no policy at all: nothing is judged */
	assert_int_equal(policy_decide(NULL, &u, &rule), POLICY_NONE);
	assert_null(rule);
}

static void test_vault_credential_exception(void **state)
{
	struct policy *p = load("default: deny\nrules:\n"
				"  - name: nothing\n    vault_path: \"auth/**\"\n    allow: []\n");
	struct policy_use u = { .vault_path = "auth/approle/login", .field = "client_token",
				.sink = "socket", .dest_ip = "10.0.0.5", .dest_port = 8200,
				.to_vault_server = true };
	const char *rule = "x";

	(void)state;
	assert_int_equal(decide(p, u, &rule), POLICY_ALLOW);
	assert_null(rule);
	u.to_vault_server = false;	/* the same token anywhere else */
	assert_int_equal(decide(p, u, &rule), POLICY_VIOLATION);
	assert_string_equal(rule, "nothing");
	u.vault_path = "secret/data/x";
	u.to_vault_server = true;
	assert_int_equal(decide(p, u, &rule), POLICY_ALLOW);	/* under default: deny too */
	u.to_vault_server = false;
	assert_int_equal(decide(p, u, &rule), POLICY_VIOLATION);
	assert_string_equal(rule, "default");
	policy_free(p);
}

static void test_json_input(void **state)
{
	struct policy *p = load("{\n"
				"\t\"default\": \"deny\",\n"
				"\t\"rules\": [\n"
				"\t\t{\n"
				"\t\t\t\"name\": \"llm\",\n"
				"\t\t\t\"vault_path\": \"secret/data/agent/*\",\n"
				"\t\t\t\"field\": \"api_key\",\n"
				"\t\t\t\"allow\": [\n"
				"\t\t\t\t{\"destination\": \"[2001:db8::/32]:443\"},\n"
				"\t\t\t\t{\"destination\": \"*.example.com:443\", \"executable\": \"/usr/bin/curl\"},\n"
				"\t\t\t\t{\"sink\": \"pipe\"}\n"
				"\t\t\t]\n"
				"\t\t}\n"
				"\t]\n"
				"}\n");
	struct policy_use u = sock("secret/data/agent/a", "api_key", "2001:db8::5", 443);

	(void)state;
	assert_true(policy_default_deny(p));
	ALLOW(p, u);
	u.dest_ip = "2001:db9::5";
	DENY(p, u);
	u.dest_domain = "api.example.com";
	u.executable = "/usr/bin/curl";
	ALLOW(p, u);
	policy_free(p);
	/* one line, as a program would write it */
	p = load("{\"rules\":[{\"name\":\"a\",\"vault_path\":\"x\",\"allow\":[{\"sink\":\"env\"}]}]}");
	assert_int_equal(policy_rule_count(p), 1);
	policy_free(p);
	refused("{\"default\": \"deny\", \"default\": \"report\"}", 1, 21, "duplicate key \"default\"");
	refused("{\"rules\": [{\"name\": \"a\", \"vault_path\": \"x\",\n  \"allow\": [{\"destination\": \"10.0.0.1/40\"}]}]}",
		2, 29, "prefix length must be 0 to 32");
	refused("{\"rules\": [{\"name\": 7, \"vault_path\": \"x\"}]}", 1, 21, "got a number");
	refused("{\"rules\": [}\n", 1, 12, "did not find expected node content");
	refused("{\"default\": \"deny\"\n", 2, 1, "did not find expected ',' or '}'");
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/test_policy_XXXXXX", err[600];
	struct policy *p = (struct policy *)1;
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("default: deny\nrules:\n  - name: a\n    vault_path: x\n    allow:\n      - sink: pipe\n        sink: tty\n", f);
	fclose(f);
	assert_int_equal(policy_load(path, &p, err, sizeof(err)), -1);
	assert_null(p);
	assert_true(!strncmp(err, path, strlen(path)));
	assert_string_equal(err + strlen(path), ":7:9: allow entry: duplicate key \"sink\"");
	f = fopen(path, "w");
	fputs(contract_example, f);
	fclose(f);
	assert_int_equal(policy_load(path, &p, err, sizeof(err)), 0);
	assert_non_null(p);
	policy_free(p);
	unlink(path);
	assert_int_equal(policy_load(path, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(policy_load("/tmp", &p, err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp: not a regular file");
	/* too big for a policy */
	{
		size_t n = POLICY_MAX_BYTES + 1;
		char *big = malloc(n);

		memset(big, '#', n);
		assert_int_equal(policy_load_buf(big, n, "big", &p, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "larger than"));
		free(big);
	}
	/* deep nesting is refused, not recursed into */
	{
		char deep[200] = "";

		for (int i = 0; i < 40; i++)
			strcat(deep, "[");
		assert_int_equal(policy_load_buf(deep, strlen(deep), "deep", &p, err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "deep:1:17: nested more than 16 levels"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contract_example),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_unknown_and_duplicate_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_globs),
		cmocka_unit_test(test_globs),
		cmocka_unit_test(test_cidr_v4),
		cmocka_unit_test(test_cidr_v6),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_unix_sockets),
		cmocka_unit_test(test_sinks_and_executables),
		cmocka_unit_test(test_fields_and_namespaces),
		cmocka_unit_test(test_first_match_decides),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_vault_credential_exception),
		cmocka_unit_test(test_json_input),
		cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
