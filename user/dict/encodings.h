/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The forms a secret takes when an agent encodes it: base64 (standard and URL-safe, at
 * each of the three alignments it can have inside a longer encoded text), hex (lower and
 * upper case), percent-encoding, JSON string escaping, HPACK's Huffman code (at each of
 * the 8 bit offsets it can start at inside a header value). Each form is indexed in the
 * dictionary like the raw secret, so the kernel finds it with the same scan.
 */
#ifndef SECRETRACE_ENCODINGS_H
#define SECRETRACE_ENCODINGS_H

#include <stddef.h>
#include <stdint.h>

enum secret_encoding {
	ENC_RAW = 0,
	ENC_BASE64,
	ENC_BASE64URL,
	ENC_HEX,
	ENC_URL,
	ENC_JSON,
	ENC_HPACK,	/* an HTTP/2 header value: Huffman-coded, or sent by table index */
	ENC_MAX,
};

#define VARIANTS_MAX 24

struct variant {
	enum secret_encoding encoding;
	uint8_t *bytes;		/* wiped and freed by variants_free */
	size_t len;
};

/* The encoded forms of s that differ from s and from each other (the raw form is not
 * included); returns how many, or -ENOMEM. */
int variants_of(const uint8_t *s, size_t len, struct variant out[VARIANTS_MAX]);
void variants_free(struct variant *v, int n);
const char *encoding_name(enum secret_encoding e);

#endif
