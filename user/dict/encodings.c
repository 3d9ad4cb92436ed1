// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict/encodings.h"
#include "dict/huffman.h"
#include "lib/secmem.h"
#include "secretrace.h"

const char *encoding_name(enum secret_encoding e)
{
	static const char *const names[ENC_MAX] = {
		[ENC_RAW] = "raw", [ENC_BASE64] = "base64", [ENC_BASE64URL] = "base64url",
		[ENC_HEX] = "hex", [ENC_URL] = "url", [ENC_JSON] = "json",
		[ENC_HPACK] = "hpack",
	};

	return e < ENC_MAX ? names[e] : "raw";
}

struct out {
	const uint8_t *raw;
	size_t rawlen;
	struct variant *v;
	int n;
	int err;
};

/* Keep a form unless it is the raw secret or a form already kept. Takes ownership. */
static void keep(struct out *o, enum secret_encoding e, uint8_t *b, size_t len)
{
	int i;

	if (!b) {
		o->err = -ENOMEM;
		return;
	}
	if (len < 8 || o->n == VARIANTS_MAX || (len == o->rawlen && !memcmp(b, o->raw, len)))
		goto drop;
	for (i = 0; i < o->n; i++)
		if (o->v[i].len == len && !memcmp(o->v[i].bytes, b, len))
			goto drop;
	o->v[o->n++] = (struct variant){ .encoding = e, .bytes = b, .len = len };
	return;
drop:
	secmem_wipe(b, len);
	free(b);
}

/*
 * base64 of a secret inside a longer text depends on where it starts modulo 3. For each
 * alignment a, encode a zero bytes followed by the secret and keep the characters whose
 * 6 bits all come from the secret: index i with 6i >= 8a and 6i + 6 <= 8(a + len).
 */
static void base64_cores(struct out *o, const uint8_t *s, size_t len, int variant,
			 enum secret_encoding e)
{
	size_t a;

	for (a = 0; a < 3; a++) {
		size_t inlen = a + len, enclen = sodium_base64_ENCODED_LEN(inlen, variant);
		size_t first = (8 * a + 5) / 6, last = (8 * (a + len) - 6) / 6;
		uint8_t *in = calloc(1, inlen), *core;
		char *enc = malloc(enclen);

		if (!in || !enc) {
			free(in);
			free(enc);
			o->err = -ENOMEM;
			return;
		}
		memcpy(in + a, s, len);
		sodium_bin2base64(enc, enclen, in, inlen, variant);
		core = malloc(last - first + 1);
		if (core)
			memcpy(core, enc + first, last - first + 1);
		keep(o, e, core, last - first + 1);
		secmem_wipe(in, inlen);
		secmem_wipe(enc, enclen);
		free(in);
		free(enc);
	}
}

static void hex_forms(struct out *o, const uint8_t *s, size_t len)
{
	char *lower = malloc(2 * len + 1);
	uint8_t *upper = malloc(2 * len);
	size_t i;

	if (!lower || !upper) {
		free(lower);
		free(upper);
		o->err = -ENOMEM;
		return;
	}
	sodium_bin2hex(lower, 2 * len + 1, s, len);
	for (i = 0; i < 2 * len; i++)
		upper[i] = lower[i] >= 'a' ? lower[i] - 32 : lower[i];
	keep(o, ENC_HEX, (uint8_t *)lower, 2 * len);
	keep(o, ENC_HEX, upper, 2 * len);
}

/* Percent-encoding: everything but RFC 3986's unreserved characters and `also` becomes
 * %XX (upper case, as encoders write it); a space may be '+' (forms). */
static void url_form(struct out *o, const uint8_t *s, size_t len, const char *also, bool plus)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t *b = malloc(3 * len), *p = b;
	size_t i;

	if (!b) {
		o->err = -ENOMEM;
		return;
	}
	for (i = 0; i < len; i++) {
		uint8_t c = s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c) || (c && also && strchr(also, c))) {
			*p++ = c;
		} else if (c == ' ' && plus) {
			*p++ = '+';
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	keep(o, ENC_URL, b, p - b);
}

static bool has_any(const uint8_t *s, size_t len, const char *set)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] && strchr(set, s[i]))
			return true;
	return false;
}

/* One UTF-8 sequence at s (n bytes left): its code point and length, or -1 if invalid. */
static int utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
	int len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
		: (s[0] & 0xf8) == 0xf0 ? 4 : -1;
	int i;

	if (len < 0 || (size_t)len > n)
		return -1;
	*cp = len == 1 ? s[0] : s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	return len;
}

enum { JSON_HTML = 1, JSON_SLASH = 2, JSON_ASCII = 4 };

/* JSON string escaping as encoders write it: minimal (", \, control characters), plus
 * HTML-safe <>& (Go), plus \/ (PHP), plus \uXXXX for non-ASCII (Python's default). */
static void json_form(struct out *o, const uint8_t *s, size_t len, int flags)
{
	uint8_t *b = malloc(12 * len + 1), *p = b;
	size_t i = 0;

	if (!b) {
		o->err = -ENOMEM;
		return;
	}
	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp;
		int n;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = c;
		} else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
			*p++ = '\\';
			*p++ = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
		} else if (c < 0x20 || ((flags & JSON_HTML) && strchr("<>&", c) && c)) {
			p += sprintf((char *)p, "\\u%04x", c);
		} else if (c == '/' && (flags & JSON_SLASH)) {
			*p++ = '\\';
			*p++ = '/';
		} else if (c >= 0x80 && (flags & JSON_ASCII)) {
			n = utf8_next(s + i, len - i, &cp);
			if (n < 0) {	/* not UTF-8: no encoder produces this form */
				free(b);
				return;
			}
			if (cp > 0xffff) {
				cp -= 0x10000;
				p += sprintf((char *)p, "\\u%04x\\u%04x", 0xd800 + (cp >> 10),
					     0xdc00 + (cp & 0x3ff));
			} else {
				p += sprintf((char *)p, "\\u%04x", cp);
			}
			i += n;
			continue;
		} else {
			*p++ = c;
		}
		i++;
	}
	keep(o, ENC_JSON, b, p - b);
}

/*
 * HPACK's Huffman code of a secret inside a header value (after "Bearer ", say) starts at
 * any of 8 bit offsets. For each, code the secret after that many bits and keep the bytes
 * whose 8 bits all come from the secret: not the first byte when it is shared with what
 * came before, nor the last one, shared with what follows or the padding. Only cores of
 * ST_LONG_MIN_LEN bytes or more (secrets of ~22 characters or more) are kept: a shorter one
 * would turn on the kernel's 4-byte window scan, which costs every traced write 2-3x the
 * scan time; the tracer's HPACK decoding of HTTP/2 sessions finds those (detect/hpack.c).
 */
static void huffman_cores(struct out *o, const uint8_t *s, size_t len)
{
	size_t bits = hpack_huffman_bits(s, len), n = (7 + bits + 7) / 8;
	uint8_t *enc = malloc(n);
	unsigned lead;

	if (!enc) {
		o->err = -ENOMEM;
		return;
	}
	for (lead = 0; lead < 8; lead++) {
		size_t first = (lead + 7) / 8, end = (lead + bits) / 8;
		uint8_t *core;

		hpack_huffman_encode(s, len, lead, enc);
		if (end < first + ST_LONG_MIN_LEN)	/* not indexed: no copy made */
			continue;
		core = malloc(end - first);
		if (core)
			memcpy(core, enc + first, end - first);
		keep(o, ENC_HPACK, core, end - first);
	}
	secmem_wipe(enc, n);
	free(enc);
}

int variants_of(const uint8_t *s, size_t len, struct variant out[VARIANTS_MAX])
{
	struct out o = { .raw = s, .rawlen = len, .v = out };

	base64_cores(&o, s, len, sodium_base64_VARIANT_ORIGINAL_NO_PADDING, ENC_BASE64);
	base64_cores(&o, s, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING, ENC_BASE64URL);
	hex_forms(&o, s, len);
	url_form(&o, s, len, NULL, false);
	if (has_any(s, len, " "))
		url_form(&o, s, len, NULL, true);
	if (has_any(s, len, "/"))
		url_form(&o, s, len, "/", false);
	if (has_any(s, len, "!*'()"))
		url_form(&o, s, len, "!*'()", false);	/* JavaScript's encodeURIComponent */
	json_form(&o, s, len, 0);
	if (has_any(s, len, "<>&"))
		json_form(&o, s, len, JSON_HTML);
	if (has_any(s, len, "/"))
		json_form(&o, s, len, JSON_SLASH);
	json_form(&o, s, len, JSON_ASCII);
	huffman_cores(&o, s, len);
	if (o.err) {
		variants_free(out, o.n);
		return o.err;
	}
	return o.n;
}

void variants_free(struct variant *v, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		secmem_wipe(v[i].bytes, v[i].len);
		free(v[i].bytes);
	}
}
