// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include <string.h>

#include "detect/hpack.h"
#include "dict/dict.h"
#include "dict/encodings.h"
#include "policy/uses.h"

static uint64_t lost;

/* An HPACK integer with a prefix of `prefix` bits (RFC 7541 5.1). */
static bool hp_int(const uint8_t **p, const uint8_t *end, unsigned prefix, uint64_t *v)
{
	uint8_t mask = (1u << prefix) - 1;
	unsigned shift = 0;

	if (*p >= end)
		return false;
	*v = *(*p)++ & mask;
	if (*v < mask)
		return true;
	while (*p < end && shift < 56) {
		uint8_t b = *(*p)++;

		*v += (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

enum rep_kind { REP_BAD, REP_INDEXED, REP_LITERAL, REP_HUFFMAN };

/* The kind of a field's representation (RFC 7541 6), and for a Huffman-coded literal its
 * value's bytes. Dynamic table size updates may come first. */
static enum rep_kind rep_parse(const uint8_t *p, size_t n, const uint8_t **val, size_t *vlen)
{
	const uint8_t *end = p + n;
	uint64_t v, len;
	bool huffman;

	while (p < end && (*p & 0xe0) == 0x20)
		if (!hp_int(&p, end, 5, &v))
			return REP_BAD;
	if (p >= end)
		return REP_BAD;
	if (*p & 0x80)
		return REP_INDEXED;
	if (!hp_int(&p, end, *p & 0x40 ? 6 : 4, &v))
		return REP_BAD;
	if (!v) {	/* a literal name first */
		if (!hp_int(&p, end, 7, &len) || len > (uint64_t)(end - p))
			return REP_BAD;
		p += len;
	}
	if (p >= end)
		return REP_BAD;
	huffman = *p & 0x80;
	if (!hp_int(&p, end, 7, &len) || len > (uint64_t)(end - p))
		return REP_BAD;
	*val = p;
	*vlen = len;
	return huffman ? REP_HUFFMAN : REP_LITERAL;
}

/* The secret itself an entry (a secret or one of its forms) belongs to. */
static uint32_t root_of(const struct dict *d, uint32_t idx)
{
	const struct secret_entry *e = dict_get(d, idx);

	return e && e->encoding != ENC_RAW ? e->link : idx;
}

struct found {
	const struct dict *d;
	uint32_t idx[HPACK_FIELD_SECRETS], root[HPACK_FIELD_SECRETS];
	int n;
};

static void on_found(void *ctx, uint32_t idx, uint64_t offset)
{
	struct found *f = ctx;
	uint32_t root = root_of(f->d, idx);
	int i;

	(void)offset;
	for (i = 0; i < f->n; i++)
		if (f->root[i] == root)
			return;
	if (f->n < HPACK_FIELD_SECRETS) {
		f->idx[f->n] = idx;
		f->root[f->n++] = root;
	}
}

static bool has_root(const struct found *f, uint32_t root)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (f->root[i] == root)
			return true;
	return false;
}

int hpack_unseen(const struct dict *d, const nghttp2_nv *nv, const uint8_t *rep, size_t n,
		 uint32_t out[HPACK_FIELD_SECRETS])
{
	struct found plain = { .d = d }, wire = { .d = d };
	const uint8_t *val = NULL;
	size_t vlen = 0;
	enum rep_kind kind;
	int i, k = 0;

	if (nv->valuelen < ST_MIN_SECRET_LEN)
		return 0;
	dict_scan(d, nv->value, nv->valuelen, on_found, &plain);
	if (!plain.n)
		return 0;
	kind = rep_parse(rep, n, &val, &vlen);
	/* a plain literal is on the wire as it is: the kernel's scan saw it */
	if (kind == REP_LITERAL || kind == REP_BAD)
		return 0;
	/* a Huffman-coded one, when one of the secret's Huffman forms is indexed, too */
	if (kind == REP_HUFFMAN)
		dict_scan(d, val, vlen, on_found, &wire);
	for (i = 0; i < plain.n; i++)
		if (!has_root(&wire, plain.root[i]))
			out[k++] = plain.idx[i];
	return k;
}

void hpack_field(struct dict *d, const struct st_rec_data *r, const nghttp2_nv *nv,
		 const uint8_t *rep, size_t n)
{
	uint32_t idx[HPACK_FIELD_SECRETS];
	int i, k = hpack_unseen(d, nv, rep, n, idx);

	for (i = 0; i < k; i++) {
		struct use u = {
			.hdr = &r->hdr, .hook = r->hook, .fd = r->fd, .si = &r->si,
			.path = r->path, .secret = idx[i], .count = 1, .offset = 0,
			.encoding = ENC_HPACK,
		};

		uses_report(&u);
	}
}

void hpack_session_lost(void)
{
	lost++;
}

uint64_t hpack_sessions_lost(void)
{
	return lost;
}
