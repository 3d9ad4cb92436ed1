// SPDX-License-Identifier: GPL-2.0
#include <bpf/bpf.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "encodings.h"
#include "grow.h"
#include "log.h"
#include "redact.h"

#define PF_BITS_LOG2_MIN 20
#define PF_BITS_PER_WINDOW 32	/* two bits set per window: about 6% of bits, 0.4% hits */

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;	/* x86-64 and the BPF target are little-endian */
}

static uint32_t load_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

void dict_random_keys(struct st_keys *k)
{
	randombytes_buf(k, sizeof(*k));
	k->pf_mul |= 1;
	k->pfs_mul |= 1;
}

uint64_t dict_confirm_hash(const struct st_keys *k, const uint8_t *p, size_t len)
{
	uint64_t h = st_confirm_seed(len, k->confirm);
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t w = 0;

		memcpy(&w, p + i, len - i < 8 ? len - i : 8);
		h = st_confirm_step(h, w);
	}
	return h;
}

void dict_fingerprint(const struct dict *d, const uint8_t *value, size_t len,
		      char out[DICT_FP_HEX])
{
	uint8_t h[16];

	crypto_generichash(h, sizeof(h), value, len, d->fp_key, sizeof(d->fp_key));
	sodium_bin2hex(out, DICT_FP_HEX, h, sizeof(h));
}

int dict_init(struct dict *d, const struct dict_bpf *bpf, const struct st_keys *keys,
	      const uint8_t fp_key[DICT_FP_KEY_BYTES])
{
	memset(d, 0, sizeof(*d));
	if (keys)
		d->keys = *keys;
	else
		dict_random_keys(&d->keys);
	if (fp_key)
		memcpy(d->fp_key, fp_key, DICT_FP_KEY_BYTES);
	else
		randombytes_buf(d->fp_key, DICT_FP_KEY_BYTES);
	if (bpf) {
		d->bpf = *bpf;
	} else {
		d->own_prefilter = calloc(ST_PREFILTER_WORDS, sizeof(uint64_t));
		if (!d->own_prefilter)
			return -ENOMEM;
		d->bpf = (struct dict_bpf){
			.windows_fd = -1, .secrets_fd = -1, .prefilter = d->own_prefilter,
			.mask = &d->own_mask, .have_short = &d->own_short, .gen = &d->own_gen,
			.carry_want = &d->own_carry,
		};
	}
	*d->bpf.mask = (1u << PF_BITS_LOG2_MIN) - 1;
	if (u64map_init(&d->by_fp, 64) || u64map_init(&d->tags, 256))
		return -ENOMEM;
	return 0;
}

static void delivery_free(struct delivery *v)
{
	free(v->request_id);
	free(v->path);
	free(v->ns);
	free(v->field);
	free(v->lease_id);
	free(v->correlation_id);
	free(v->server);
	memset(v, 0, sizeof(*v));
}

void dict_free(struct dict *d)
{
	uint32_t i, j;

	for (i = 0; i < d->nsecrets; i++) {
		for (j = 0; j < d->secrets[i].ndeliv; j++)
			delivery_free(&d->secrets[i].deliv[j]);
		free(d->secrets[i].deliv);
	}
	free(d->secrets);
	free(d->windows);
	free(d->pf_hashes);
	free(d->own_prefilter);
	u64map_free(&d->by_fp);
	u64map_free(&d->tags);
	sodium_memzero(&d->keys, sizeof(d->keys));
	sodium_memzero(d->fp_key, sizeof(d->fp_key));
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static int add_delivery(struct secret_entry *e, const struct secret_origin *o)
{
	struct delivery *v;

	if (!e->deliv && !(e->deliv = calloc(DICT_MAX_DELIVERIES, sizeof(*e->deliv))))
		return -ENOMEM;
	if (e->ndeliv == DICT_MAX_DELIVERIES) {
		delivery_free(&e->deliv[0]);
		memmove(&e->deliv[0], &e->deliv[1], sizeof(e->deliv[0]) * (DICT_MAX_DELIVERIES - 1));
		e->ndeliv--;
	}
	v = &e->deliv[e->ndeliv++];
	memset(v, 0, sizeof(*v));
	v->request_id = dup_or_null(o->request_id);
	v->path = dup_or_null(o->path);
	v->ns = dup_or_null(o->ns);
	v->field = dup_or_null(o->field);
	v->lease_id = dup_or_null(o->lease_id);
	v->correlation_id = dup_or_null(o->correlation_id);
	v->server = dup_or_null(o->server);
	v->pid = o->pid;
	v->start_ns = o->start_ns;
	v->ts_ns = o->ts_ns;
	v->source = o->source;
	return 0;
}

/* ---- the prefilter bitmap ---- */

static void pf_set(struct dict *d, uint64_t h, uint32_t mask)
{
	uint32_t b1 = st_pf_bit1(h, mask), b2 = st_pf_bit2(h, mask);

	__atomic_fetch_or(&d->bpf.prefilter[b1 >> 6], 1ULL << (b1 & 63), __ATOMIC_RELAXED);
	__atomic_fetch_or(&d->bpf.prefilter[b2 >> 6], 1ULL << (b2 & 63), __ATOMIC_RELAXED);
}

static bool pf_test(const struct dict *d, uint64_t h)
{
	uint32_t mask = *d->bpf.mask;
	uint32_t b1 = st_pf_bit1(h, mask), b2 = st_pf_bit2(h, mask);

	return (d->bpf.prefilter[b1 >> 6] >> (b1 & 63)) & (d->bpf.prefilter[b2 >> 6] >> (b2 & 63)) &
	       1;
}

/* Grow in place: with index = hash & mask, doubling the mask moves a bit either nowhere
 * or into the new upper half, so setting every bit under the new mask before publishing
 * it keeps every lookup correct throughout. */
static void pf_maybe_grow(struct dict *d)
{
	uint32_t mask = *d->bpf.mask, i;
	uint64_t bits = (uint64_t)mask + 1;

	while ((uint64_t)d->npf * PF_BITS_PER_WINDOW > bits &&
	       bits < (1ULL << ST_PREFILTER_BITS_LOG2_MAX))
		bits <<= 1;
	if (bits == (uint64_t)mask + 1)
		return;
	for (i = 0; i < d->npf; i++)
		pf_set(d, d->pf_hashes[i], bits - 1);
	__atomic_store_n(d->bpf.mask, (uint32_t)(bits - 1), __ATOMIC_RELEASE);
	st_debug("prefilter grown to %llu bits for %u windows", (unsigned long long)bits, d->npf);
}

static int pf_add(struct dict *d, uint64_t h)
{
	if (grow(&d->pf_hashes, &d->pfcap, d->npf, sizeof(*d->pf_hashes), 1024))
		return -ENOMEM;
	d->pf_hashes[d->npf++] = h;
	pf_set(d, h, *d->bpf.mask);
	return 0;
}

/* ---- windows ---- */

/* Long and short windows share the kernel's map, keyed by tag alone; so does the mirror,
 * so that both count the same chains. */
static uint64_t tag_key(uint32_t tag)
{
	return (uint64_t)tag + 1;
}

/* Add a window under its tag, in the kernel map (new entry first, then the chain count
 * in entry 0, so the kernel never follows a count past a missing entry) and the mirror. */
static int window_add(struct dict *d, uint32_t tag, uint32_t secret, uint16_t offset)
{
	uint64_t key = tag_key(tag), head = 0;
	uint32_t chain = 0, i;
	struct dict_window *w;

	if (u64map_get(&d->tags, key, &head))
		for (i = head; i; i = d->windows[i - 1].next)
			chain++;
	if (chain >= ST_MAX_CHAIN) {
		d->chain_overflow++;
		st_warn("dictionary window shared by more than %d secrets: a secret may be missed",
			ST_MAX_CHAIN);
		return 0;
	}
	if (grow(&d->windows, &d->wcap, d->nwindows, sizeof(*d->windows), 1024))
		return -ENOMEM;
	if (d->bpf.windows_fd >= 0) {
		struct st_window_key k = { .tag = tag, .idx = chain };
		struct st_window v = { .secret = secret, .offset = offset, .chain = chain + 1 };

		if (bpf_map_update_elem(d->bpf.windows_fd, &k, &v, BPF_ANY))
			return -errno;
		if (chain) {
			struct st_window first;

			k.idx = 0;
			if (bpf_map_lookup_elem(d->bpf.windows_fd, &k, &first))
				return -errno;
			first.chain = chain + 1;
			if (bpf_map_update_elem(d->bpf.windows_fd, &k, &first, BPF_ANY))
				return -errno;
		}
	}
	w = &d->windows[d->nwindows++];
	w->secret = secret;
	w->offset = offset;
	w->next = 0;
	if (!head) {
		u64map_put(&d->tags, key, d->nwindows);
	} else {
		for (i = head; d->windows[i - 1].next; i = d->windows[i - 1].next)
			;
		d->windows[i - 1].next = d->nwindows;
	}
	return 0;
}

/* Index the windows at offsets 0..7 (8-byte windows, secrets of 15 bytes or more) or
 * 0..3 (4-byte windows, 8..14 bytes): any occurrence of the secret puts exactly one of
 * them on a sampled position of the stream. */
static int index_windows(struct dict *d, uint32_t idx, const uint8_t *v, size_t len)
{
	bool is_short = len < ST_LONG_MIN_LEN;
	uint32_t n = is_short ? ST_SHORT_WINDOW : ST_LONG_WINDOW, j;
	int err;

	for (j = 0; j < n; j++) {
		uint64_t h;
		uint32_t tag;

		if (is_short) {
			uint32_t w = load_le32(v + j);

			h = st_pf_hash(w, d->keys.pfs_xor, d->keys.pfs_mul);
			tag = st_tag_short(w, d->keys.tag);
		} else {
			uint64_t w = load_le64(v + j);

			h = st_pf_hash(w, d->keys.pf_xor, d->keys.pf_mul);
			tag = st_tag_long(w, d->keys.tag);
		}
		err = window_add(d, tag, idx, j);
		if (!err)
			err = pf_add(d, h);
		if (err)
			return err;
	}
	if (is_short)
		__atomic_store_n(d->bpf.have_short, 1, __ATOMIC_RELEASE);
	pf_maybe_grow(d);
	return 0;
}

static int add_entry(struct dict *d, const uint8_t *value, size_t len, uint32_t flags,
		     const char *fp, uint32_t parent, uint32_t encoding, uint32_t *idx)
{
	struct secret_entry *e;
	uint32_t clen = len > ST_MAX_SECRET_LEN ? ST_MAX_SECRET_LEN : len;
	int err;

	if (d->nsecrets >= ST_MAX_SECRETS)
		return -ENOSPC;
	if (grow(&d->secrets, &d->cap, d->nsecrets, sizeof(*d->secrets), 64))
		return -ENOMEM;
	*idx = d->nsecrets;
	e = &d->secrets[*idx];
	memset(e, 0, sizeof(*e));
	e->len = len;
	e->flags = flags;
	e->parent = parent == UINT32_MAX ? *idx : parent;
	e->encoding = encoding;
	e->gen = d->gen + 1;
	e->hash = dict_confirm_hash(&d->keys, value, clen);
	memcpy(e->fingerprint, fp, DICT_FP_HEX);
	/* The secret first, so that the kernel can confirm it as soon as a window names it. */
	if (d->bpf.secrets_fd >= 0) {
		struct st_secret s = { .len = clen, .flags = flags, .hash = e->hash };

		if (bpf_map_update_elem(d->bpf.secrets_fd, idx, &s, BPF_ANY))
			return -errno;
	}
	d->nsecrets++;
	/* before its windows: a scan that finds one takes enough of the carry for it */
	if (clen - 1 > *d->bpf.carry_want)
		__atomic_store_n(d->bpf.carry_want, clen - 1 < ST_CARRY ? clen - 1 : ST_CARRY,
				 __ATOMIC_RELEASE);
	err = index_windows(d, *idx, value, clen);
	if (err)
		return err;
	return 1;
}

bool dict_find(const struct dict *d, const uint8_t *value, size_t len, uint32_t *idx)
{
	char fp[DICT_FP_HEX];
	uint64_t key, found;

	if (len < ST_MIN_SECRET_LEN)
		return false;
	dict_fingerprint(d, value, len, fp);
	memcpy(&key, fp, 8);
	if (!u64map_get(&d->by_fp, u64map_key(key), &found) ||
	    strcmp(d->secrets[found - 1].fingerprint, fp))
		return false;
	*idx = found - 1;
	return true;
}

/* The encoded forms of a new secret, as entries of their own pointing at it. */
static int add_forms(struct dict *d, const uint8_t *value, size_t len, uint32_t parent,
		     const char *const *publics)
{
	struct variant v[VARIANTS_MAX];
	int n = variants_of(value, len, v), i, ret = 0;
	char fp[DICT_FP_HEX];
	uint32_t idx;

	if (n < 0)
		return n;
	memcpy(fp, d->secrets[parent].fingerprint, sizeof(fp));	/* add_entry may move it */
	for (i = 0; i < n && ret >= 0; i++) {
		ret = add_entry(d, v[i].bytes, v[i].len, 0, fp, parent, v[i].encoding, &idx);
		/* no output may carry the secret in any of its forms either */
		if (ret >= 0 && redact_add(v[i].bytes, v[i].len, publics))
			ret = -ENOMEM;
	}
	variants_free(v, n);
	return ret < 0 ? ret : 0;
}

int dict_add(struct dict *d, const uint8_t *value, size_t len, const struct secret_origin *o,
	     uint32_t *idx)
{
	char fp[DICT_FP_HEX];
	uint64_t key, found;
	const char *publics[] = { o->path, o->field, o->lease_id, o->ns, o->request_id, NULL };
	int ret;

	if (len < ST_MIN_SECRET_LEN)
		return -EINVAL;
	dict_fingerprint(d, value, len, fp);
	memcpy(&key, fp, 8);
	key = u64map_key(key);
	if (u64map_get(&d->by_fp, key, &found) &&
	    !strcmp(d->secrets[found - 1].fingerprint, fp)) {
		*idx = found - 1;
		return add_delivery(&d->secrets[*idx], o);
	}
	ret = add_entry(d, value, len, 0, fp, UINT32_MAX, ENC_RAW, idx);
	if (ret < 0)
		return ret;
	u64map_put(&d->by_fp, key, *idx + 1);
	if (add_delivery(&d->secrets[*idx], o) || redact_add(value, len, publics))
		return -ENOMEM;
	ret = add_forms(d, value, len, *idx, publics);
	return ret < 0 ? ret : 1;
}

int dict_add_marker(struct dict *d, const char *text)
{
	char fp[DICT_FP_HEX] = "marker";
	uint32_t idx;
	int ret = add_entry(d, (const uint8_t *)text, strlen(text), ST_SECRET_MARKER, fp,
			    UINT32_MAX, ENC_RAW, &idx);

	return ret < 0 ? ret : 0;
}

void dict_commit(struct dict *d)
{
	d->gen++;
	__atomic_store_n(d->bpf.gen, d->gen, __ATOMIC_RELEASE);
}

const struct secret_entry *dict_get(const struct dict *d, uint32_t idx)
{
	return idx < d->nsecrets ? &d->secrets[idx] : NULL;
}

const struct secret_entry *dict_secret(const struct dict *d, uint32_t idx)
{
	const struct secret_entry *e = dict_get(d, idx);

	return e ? dict_get(d, e->parent) : NULL;
}

const struct delivery *dict_delivery_for(const struct dict *d, uint32_t idx, uint32_t pid)
{
	const struct secret_entry *e = dict_secret(d, idx);
	int i;

	if (!e || !e->ndeliv)
		return NULL;
	for (i = e->ndeliv - 1; i >= 0; i--)
		if (e->deliv[i].pid == pid)
			return &e->deliv[i];
	return &e->deliv[e->ndeliv - 1];
}

/* ---- the userspace twin of bpf/scan.bpf.c ---- */

static void candidate(const struct dict *d, const uint8_t *buf, size_t len, uint64_t pos,
		      uint32_t tag, dict_found_fn found, void *ctx)
{
	uint64_t head;
	uint32_t i;

	if (!u64map_get(&d->tags, tag_key(tag), &head))
		return;
	for (i = head; i; i = d->windows[i - 1].next) {
		const struct dict_window *w = &d->windows[i - 1];
		const struct secret_entry *e = &d->secrets[w->secret];
		uint32_t clen = e->len > ST_MAX_SECRET_LEN ? ST_MAX_SECRET_LEN : e->len;
		uint64_t start;

		if (pos < w->offset)
			continue;
		start = pos - w->offset;
		if (start + clen > len || dict_confirm_hash(&d->keys, buf + start, clen) != e->hash)
			continue;
		if (!(e->flags & ST_SECRET_MARKER))
			found(ctx, w->secret, start);
	}
}

void dict_scan(const struct dict *d, const uint8_t *buf, size_t len, dict_found_fn found,
	       void *ctx)
{
	bool shorts = *d->bpf.have_short;
	size_t o;

	for (o = 0; o + 4 <= len; o += 8) {
		if (o + 8 <= len) {
			uint64_t w = load_le64(buf + o);

			if (pf_test(d, st_pf_hash(w, d->keys.pf_xor, d->keys.pf_mul)))
				candidate(d, buf, len, o, st_tag_long(w, d->keys.tag), found, ctx);
		}
		if (!shorts)
			continue;
		for (size_t half = o; half < o + 8 && half + 4 <= len; half += 4) {
			uint32_t w = load_le32(buf + half);

			if (pf_test(d, st_pf_hash(w, d->keys.pfs_xor, d->keys.pfs_mul)))
				candidate(d, buf, len, half, st_tag_short(w, d->keys.tag), found, ctx);
		}
	}
}
