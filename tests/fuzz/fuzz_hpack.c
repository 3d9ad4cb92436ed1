// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the HPACK follower (user/detect/hpack.c) behind HTTP/2 framing
 * (user/learn/h2.c in fields-only mode, as conn.c follows a session that is not Vault's):
 * the input, after its first byte, is the client's bytes after the preface, cut into
 * pieces whose sizes derive from the input; the first byte's low bit also feeds the server
 * a SETTINGS frame first. Every decoded field goes to hpack_field() with a dictionary
 * holding a few secrets (long, short, of rare bytes, in a Bearer header). Invariants: no
 * crash, leak or undefined behaviour; a field's representation lies inside what was fed;
 * each use reported names a secret that is in the field's decoded value, with encoding
 * hpack; a failed session stays failed with a reason and gives no field more.
 * Build and run: tools/fuzz.sh [seconds] (FUZZ_TARGETS=hpack for this one alone)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/hpack.h"
#include "dict/dict.h"
#include "dict/encodings.h"
#include "learn/h2.h"
#include "lib/redact.h"
#include "lib/secmem.h"
#include "policy/uses.h"
#include "fuzz.h"

#define NSECRETS 4

static struct dict d;
static uint32_t idx[NSECRETS];	/* the secrets' dictionary entries */
static const nghttp2_nv *cur;	/* the field being looked at */
static unsigned fields, uses;

static const char *const SECRETS[NSECRETS] = {
	"sk-Zq8ahWvN3xY7pLk2RmT9bC4dF6gH1jK5nQ0s",	/* Huffman forms indexed */
	"abc0123def",					/* too short for them */
	"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0b",	/* sent raw by encoders */
	"hvs.CAESIJ8xZg2TmA0fRw7kPq",			/* a token */
};

/* Stands in for policy/uses.c: where hpack_field() reports. */
void uses_report(const struct use *u)
{
	const struct secret_entry *e = dict_get(&d, u->secret);
	uint32_t root;
	int i;

	check(cur && e);
	check(u->encoding == ENC_HPACK && u->count == 1 && u->offset == 0);
	check(e->len <= cur->valuelen);
	root = e->encoding == ENC_RAW ? u->secret : e->link;
	for (i = 0; i < NSECRETS && idx[i] != root; i++)
		;
	check(i < NSECRETS);
	if (root == u->secret)	/* the raw form: the value holds the secret itself */
		check(memmem(cur->value, cur->valuelen, SECRETS[i], strlen(SECRETS[i])));
	uses++;
}

static void on_field(void *ctx, const nghttp2_nv *nv, const uint8_t *rep, size_t n)
{
	const struct h2_conn *c = ctx;
	const struct secbuf *b = &c->dir[0].block;
	struct st_rec_data r = { .fd = 3 };

	check(!c->failed);
	check(nv->name && nv->value);
	/* the representation is inside the header block being decoded */
	check(n > 0 && rep >= b->data && rep + n <= b->data + b->len);
	cur = nv;
	fields++;
	hpack_field(&d, &r, nv, rep, n);
	cur = NULL;
}

static void on_msg(void *ctx, uint32_t stream, struct http_msg *m)
{
	(void)ctx;
	(void)stream;
	(void)m;
	check(!"a message in fields-only mode");
}

/* The redactor keeps its pointers in locked memory LeakSanitizer does not scan: freed
 * before its check at exit. */
static void cleanup(void)
{
	dict_free(&d);
	redact_free();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	check(!secmem_init() && !redact_init() && !dict_init(&d, NULL, NULL, NULL));
	for (i = 0; i < sizeof(SECRETS) / sizeof(SECRETS[0]); i++)
		check(dict_add(&d, (const uint8_t *)SECRETS[i], strlen(SECRETS[i]),
			       &(struct secret_origin){ .path = "kv/fuzz" }, &idx[i]) == 1);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t settings[] = { 0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x10, 0 };
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	struct h2_conn c;
	size_t at = 1;

	if (!size || h2_init(&c, 64 * 1024, on_msg, on_msg, &c))
		return 0;
	fields = uses = 0;
	c.on_field = on_field;
	h2_fields_only(&c);
	check(!h2_feed(&c, false, (const uint8_t *)H2_PREFACE, H2_PREFACE_LEN));
	if (data[0] & 1)
		check(!h2_feed(&c, true, settings, sizeof(settings)));
	rng ^= (uint64_t)data[0] << 8 | size;
	while (at < size && !c.failed) {
		size_t n;
		int rc;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		n = 1 + rng % 48;
		if (n > size - at)
			n = size - at;
		rc = h2_feed(&c, false, data + at, n);
		check(rc == 0 || (rc == -1 && c.failed && c.error[0]));
		at += n;
	}
	if (c.failed)	/* and stays so */
		check(h2_feed(&c, false, data, size) == -1);
	if (getenv("FUZZ_HPACK_VERBOSE"))
		fprintf(stderr, "fuzz_hpack: %u fields, %u uses, %s\n", fields, uses,
			c.failed ? c.error : "not failed");
	h2_free(&c);
	return 0;
}
