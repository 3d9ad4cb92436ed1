// SPDX-License-Identifier: GPL-2.0
/*
 * Secrets in their encoded forms: every form an encoder writes (base64 standard and
 * URL-safe, padded or not, inside longer encoded text at every alignment; hex in both
 * cases; percent-encoding; JSON escaping) is found by the dictionary's scan and named
 * with its encoding. The encoders here are written independently of the ones indexed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict/encodings.h"

#include "test_dict_util.h"

struct hit {
	uint32_t idx[32];
	int n;
};

static void on_found(void *ctx, uint32_t idx, uint64_t off)
{
	struct hit *h = ctx;

	(void)off;
	if (h->n < 32)
		h->idx[h->n++] = idx;
}

/* Was the secret with raw index raw found in this encoding? */
static bool found_as(const uint8_t *buf, size_t len, uint32_t raw, enum secret_encoding enc)
{
	struct hit h = { 0 };
	int i;

	dict_scan(&d, buf, len, on_found, &h);
	for (i = 0; i < h.n; i++) {
		const struct secret_entry *e = dict_get(&d, h.idx[i]);

		if (dict_secret(&d, h.idx[i]) == dict_get(&d, raw) && e->encoding == enc)
			return true;
	}
	return false;
}

static uint32_t learn(const char *s)
{
	struct secret_origin o = { .request_id = "r", .field = "f" };
	uint32_t idx;

	assert_true(dict_add(&d, (const uint8_t *)s, strlen(s), &o, &idx) >= 0);
	dict_commit(&d);
	return idx;
}

static size_t b64(const uint8_t *in, size_t n, char *out, bool url, bool pad)
{
	const char *a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			    : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i < n; i += 3) {
		uint32_t v = in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);

		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = a[v >> 6 & 63];
		else if (pad)
			out[o++] = '=';
		if (i + 2 < n)
			out[o++] = a[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	out[o] = 0;
	return o;
}

static const char *const secrets_under_test[] = {
	"sk-live-0123456789abcdefGHIJ",		/* plain */
	"p@ss w/rd+\"quote\"\\back<tag>&amp",	/* every special character */
	"pässwörd-üñíçødé-42",			/* UTF-8 */
	"s3cr3t!8",				/* 8 bytes: the short path */
	"abcdefghijklm",			/* 13 bytes */
};

/* base64 of "user:" + secret + suffix, for every prefix and suffix length (so every
 * alignment), padded and not, both alphabets: an Authorization: Basic header and more. */
static void test_base64_every_alignment(void **state)
{
	size_t si, pre, suf;

	(void)state;
	for (si = 0; si < sizeof(secrets_under_test) / sizeof(secrets_under_test[0]); si++) {
		const char *s = secrets_under_test[si];
		uint32_t raw = learn(s);

		for (pre = 0; pre < 6; pre++)
			for (suf = 0; suf < 4; suf++) {
				uint8_t plain[128];
				char enc[256], text[300];
				size_t n = 0, len;
				int url, pad;

				memcpy(plain, "admin:", pre);
				n = pre;
				memcpy(plain + n, s, strlen(s));
				n += strlen(s);
				memcpy(plain + n, "xyz", suf);
				n += suf;
				for (url = 0; url < 2; url++)
					for (pad = 0; pad < 2; pad++) {
						len = b64(plain, n, enc, url, pad);
						snprintf(text, sizeof(text), "Authorization: Basic %s\r\n", enc);
						(void)len;
						if (!found_as((uint8_t *)text, strlen(text), raw,
							      url ? ENC_BASE64URL : ENC_BASE64) &&
						    !found_as((uint8_t *)text, strlen(text), raw,
							      url ? ENC_BASE64 : ENC_BASE64URL))
							fail_msg("secret %zu, prefix %zu, suffix %zu, %s%s: "
								 "not found in base64",
								 si, pre, suf, url ? "url" : "std",
								 pad ? " padded" : "");
					}
			}
	}
}

static void test_hex_both_cases(void **state)
{
	size_t si, i;

	(void)state;
	for (si = 0; si < sizeof(secrets_under_test) / sizeof(secrets_under_test[0]); si++) {
		const char *s = secrets_under_test[si];
		uint32_t raw = learn(s);
		char lower[256] = "digest=", upper[256] = "X:";

		for (i = 0; s[i]; i++) {
			sprintf(lower + strlen(lower), "%02x", (uint8_t)s[i]);
			sprintf(upper + strlen(upper), "%02X", (uint8_t)s[i]);
		}
		strcat(lower, ";");
		assert_true(found_as((uint8_t *)lower, strlen(lower), raw, ENC_HEX));
		assert_true(found_as((uint8_t *)upper, strlen(upper), raw, ENC_HEX));
	}
}

static void url_encode(const char *s, char *out, const char *keep, bool plus)
{
	for (; *s; s++) {
		uint8_t c = *s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c) || (keep && strchr(keep, c)))
			*out++ = c;
		else if (c == ' ' && plus)
			*out++ = '+';
		else
			out += sprintf(out, "%%%02X", c);
	}
	*out = 0;
}

static void test_percent_encoding(void **state)
{
	const char *s = secrets_under_test[1];	/* the one with special characters */
	uint32_t raw;
	char enc[512], body[600];

	(void)state;
	raw = learn(s);
	url_encode(s, enc, NULL, false);		/* RFC 3986, %20 */
	snprintf(body, sizeof(body), "GET /x?user=a&password=%s HTTP/1.1", enc);
	assert_true(found_as((uint8_t *)body, strlen(body), raw, ENC_URL));
	url_encode(s, enc, NULL, true);		/* a form body, + for space */
	snprintf(body, sizeof(body), "user=a&password=%s&x=1", enc);
	assert_true(found_as((uint8_t *)body, strlen(body), raw, ENC_URL));
	url_encode(s, enc, "/", false);		/* Python's quote(): / kept */
	snprintf(body, sizeof(body), "/path/%s", enc);
	assert_true(found_as((uint8_t *)body, strlen(body), raw, ENC_URL));
}

static void json_escape(const char *s, char *out, bool slash, bool html)
{
	for (; *s; s++) {
		uint8_t c = *s;

		if (c == '"' || c == '\\')
			out += sprintf(out, "\\%c", c);
		else if (c == '/' && slash)
			out += sprintf(out, "\\/");
		else if (html && (c == '<' || c == '>' || c == '&'))
			out += sprintf(out, "\\u%04x", c);
		else if (c < 0x20)
			out += sprintf(out, "\\u%04x", c);
		else
			*out++ = c;
	}
	*out = 0;
}

static void test_json_escaping(void **state)
{
	const char *s = secrets_under_test[1];
	const char *u = secrets_under_test[2];
	uint32_t raw = learn(s), uraw = learn(u);
	char esc[512], doc[600];

	(void)state;
	json_escape(s, esc, false, false);
	snprintf(doc, sizeof(doc), "{\"text\":\"my password is %s\"}", esc);
	assert_true(found_as((uint8_t *)doc, strlen(doc), raw, ENC_JSON));
	json_escape(s, esc, true, false);	/* PHP: \/ */
	snprintf(doc, sizeof(doc), "{\"p\":\"%s\"}", esc);
	assert_true(found_as((uint8_t *)doc, strlen(doc), raw, ENC_JSON));
	json_escape(s, esc, false, true);	/* Go: \u003c */
	snprintf(doc, sizeof(doc), "{\"p\":\"%s\"}", esc);
	assert_true(found_as((uint8_t *)doc, strlen(doc), raw, ENC_JSON));
	/* Python's ensure_ascii: p\u00e4ssw\u00f6rd-... */
	snprintf(doc, sizeof(doc), "{\"p\": \"p\\u00e4ssw\\u00f6rd-\\u00fc\\u00f1\\u00ed\\u00e7\\u00f8d\\u00e9-42\"}");
	assert_true(found_as((uint8_t *)doc, strlen(doc), uraw, ENC_JSON));
}

/* Encoded forms are secrets too: the redactor refuses them. */
static void test_forms_are_redacted(void **state)
{
	const char *s = "another-secret-value-77";
	char hex[64] = "", enc[64];
	size_t i;

	(void)state;
	learn(s);
	for (i = 0; s[i]; i++)
		sprintf(hex + 2 * i, "%02x", (uint8_t)s[i]);
	assert_true(redact_contains(hex, strlen(hex)));
	b64((const uint8_t *)s, strlen(s), enc, false, true);
	assert_true(redact_contains(enc + 2, 10));
}

/* A form that equals the raw secret (nothing to escape) is not indexed twice. */
static void test_no_duplicate_forms(void **state)
{
	struct variant v[VARIANTS_MAX];
	int n, i, j;

	(void)state;
	n = variants_of((const uint8_t *)"abcdefghijklmnop", 16, v);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		assert_false(v[i].len == 16 && !memcmp(v[i].bytes, "abcdefghijklmnop", 16));
		for (j = 0; j < i; j++)
			assert_false(v[i].len == v[j].len && !memcmp(v[i].bytes, v[j].bytes, v[i].len));
		assert_true(v[i].encoding != ENC_URL && v[i].encoding != ENC_JSON);
	}
	variants_free(v, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_every_alignment),
		cmocka_unit_test(test_hex_both_cases),
		cmocka_unit_test(test_percent_encoding),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_forms_are_redacted),
		cmocka_unit_test(test_no_duplicate_forms),
	};

	return cmocka_run_group_tests_name("encodings", tests, dict_setup, dict_teardown);
}
