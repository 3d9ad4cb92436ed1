// SPDX-License-Identifier: GPL-2.0
#include <bpf/bpf.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "dict/dict.h"
#include "dict/encodings.h"
#include "lib/grow.h"
#include "lib/log.h"
#include "lib/redact.h"

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
	if (u64map_init(&d->by_fp, 64) || (!bpf && u64map_init(&d->mem_windows, 256)) ||
	    strpool_init(&d->strings))
		return -ENOMEM;
	return 0;
}

const char *secret_source_name(enum secret_source s)
{
	static const char *const names[] = { "response", "request", "env", "file" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

static void delivery_free(struct dict *d, struct delivery *v)
{
	strpool_put(&d->strings, v->request_id);
	strpool_put(&d->strings, v->path);
	strpool_put(&d->strings, v->ns);
	strpool_put(&d->strings, v->field);
	strpool_put(&d->strings, v->lease_id);
	strpool_put(&d->strings, v->correlation_id);
	strpool_put(&d->strings, v->server);
	strpool_put(&d->strings, v->file);
	strpool_put(&d->strings, v->audit_hash);
	memset(v, 0, sizeof(*v));
}

void dict_free(struct dict *d)
{
	uint32_t i, j;

	for (i = 0; i < d->ninfos; i++) {
		struct secret_info *in = &d->infos[i];

		for (j = 0; j < in->ndeliv; j++)
			delivery_free(d, &in->deliv[j]);
		free(in->deliv);
		free(in->runs);
	}
	free(d->loose_runs);
	free(d->infos);
	free(d->secrets);
	free(d->pf_hashes);
	free(d->win_tags);
	free(d->win_pf);
	free(d->own_prefilter);
	u64map_free(&d->by_fp);
	u64map_free(&d->mem_windows);
	strpool_free(&d->strings);
	sodium_memzero(&d->keys, sizeof(d->keys));
	sodium_memzero(d->fp_key, sizeof(d->fp_key));
}

_Static_assert(sizeof(struct secret_entry) == 24, "an entry per form: keep it small");

/* The info of entry e, which must be a secret's own (encoding ENC_RAW). */
static struct secret_info *info_of(const struct dict *d, const struct secret_entry *e)
{
	return &d->infos[e->link];
}

int dict_add_delivery(struct dict *d, uint32_t idx, const struct secret_origin *o)
{
	struct secret_info *e = info_of(d, &d->secrets[idx]);
	size_t cap = e->dcap;
	struct delivery *v;

	/* most secrets are delivered once: room grows 1, 2, 4, 8 */
	if (e->ndeliv < DICT_MAX_DELIVERIES &&
	    grow(&e->deliv, &cap, e->ndeliv, sizeof(*e->deliv), 1))
		return -ENOMEM;
	e->dcap = cap;
	if (e->ndeliv == DICT_MAX_DELIVERIES) {
		delivery_free(d, &e->deliv[0]);
		memmove(&e->deliv[0], &e->deliv[1], sizeof(e->deliv[0]) * (DICT_MAX_DELIVERIES - 1));
		e->ndeliv--;
	}
	d->changes++;
	v = &e->deliv[e->ndeliv++];
	memset(v, 0, sizeof(*v));
	v->request_id = strpool_get(&d->strings, o->request_id);
	v->path = strpool_get(&d->strings, o->path);
	v->ns = strpool_get(&d->strings, o->ns);
	v->field = strpool_get(&d->strings, o->field);
	v->lease_id = strpool_get(&d->strings, o->lease_id);
	v->correlation_id = strpool_get(&d->strings, o->correlation_id);
	v->server = strpool_get(&d->strings, o->server);
	v->file = strpool_get(&d->strings, o->file);
	/* the value's audit HMAC, once Vault told it, is every delivery's */
	if (e->ndeliv > 1)
		v->audit_hash = strpool_get(&d->strings, e->deliv[e->ndeliv - 2].audit_hash);
	v->pid = o->pid;
	v->start_ns = o->start_ns;
	v->ts_ns = o->ts_ns;
	v->expires = o->expires;
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

static bool pf_full_size(const struct dict *d)
{
	return *d->bpf.mask == (1u << ST_PREFILTER_BITS_LOG2_MAX) - 1;
}

/* Grow in place: with index = hash & mask, doubling the mask moves a bit either nowhere
 * or into the new upper half, so setting every bit under the new mask before publishing
 * it keeps every lookup correct throughout. At full size the hashes kept for this are
 * dropped (10,000 secrets index 720,000 windows: 5.5 MiB): it never grows again. */
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
	if (pf_full_size(d)) {
		free(d->pf_hashes);
		d->pf_hashes = NULL;
		d->pfcap = 0;
	}
}

static int pf_add(struct dict *d, uint64_t h)
{
	if (!pf_full_size(d)) {
		if (grow(&d->pf_hashes, &d->pfcap, d->npf, sizeof(*d->pf_hashes), 1024))
			return -ENOMEM;
		d->pf_hashes[d->npf] = h;
	}
	d->npf++;
	pf_set(d, h, *d->bpf.mask);
	return 0;
}

/* ---- windows ---- */

/* The windows live in one place: the kernel's map when there is one (userspace reads it
 * back for chain counts and its own scan, both rare), else an in-memory map with the same
 * keys (tests, correlate). Entry idx 0 of a tag carries the chain's length. */
static uint64_t mem_key(uint32_t tag, uint32_t idx)
{
	return ((uint64_t)tag << 8 | idx) + 1;
}

/* 0, -ENOENT if there is no such entry, or another -errno. */
static int window_get(const struct dict *d, uint32_t tag, uint32_t idx, struct st_window *w)
{
	struct st_window_key k = { .tag = tag, .idx = idx };
	uint64_t v;

	if (d->bpf.windows_fd >= 0)
		return bpf_map_lookup_elem(d->bpf.windows_fd, &k, w) ? -errno : 0;
	if (!u64map_get(&d->mem_windows, mem_key(tag, idx), &v))
		return -ENOENT;
	*w = (struct st_window){ .secret = v >> 32, .offset = v >> 16, .chain = v };
	return 0;
}

static int window_put(struct dict *d, uint32_t tag, uint32_t idx, const struct st_window *w)
{
	struct st_window_key k = { .tag = tag, .idx = idx };

	if (d->bpf.windows_fd >= 0)
		return bpf_map_update_elem(d->bpf.windows_fd, &k, w, BPF_ANY) ? -errno : 0;
	return u64map_put(&d->mem_windows, mem_key(tag, idx),
			  (uint64_t)w->secret << 32 | (uint32_t)w->offset << 16 | w->chain);
}

/* Add a window under its tag: the new entry first, then the chain count in entry 0, so
 * the kernel never follows a count past a missing entry. */
static int window_add(struct dict *d, uint32_t tag, uint32_t secret, uint16_t offset)
{
	struct st_window first, w = { .secret = secret, .offset = offset };
	int err = window_get(d, tag, 0, &first);
	uint32_t chain = err ? 0 : first.chain;

	if (err && err != -ENOENT)	/* not "absent": a new chain would hide the old one */
		return err;
	if (chain >= ST_MAX_CHAIN) {
		d->chain_overflow++;
		st_warn("dictionary window shared by more than %d secrets: a secret may be missed",
			ST_MAX_CHAIN);
		return 0;
	}
	w.chain = chain + 1;
	err = window_put(d, tag, chain, &w);
	if (!err && chain) {
		first.chain = chain + 1;
		err = window_put(d, tag, 0, &first);
	}
	return err;
}

/* One window of entry idx at offset j. h's low 16 bits never pick a prefilter bit (bits 16
 * to 63 do, at the largest size): the state file keeps h without them. */
static int add_window(struct dict *d, uint32_t idx, uint32_t j, uint32_t tag, uint64_t h)
{
	int err = window_add(d, tag, idx, j);

	if (!err)
		err = pf_add(d, h);
	if (!err && d->keep_windows) {
		d->win_tags[(size_t)idx * ST_LONG_WINDOW + j] = tag;
		d->win_pf[(size_t)idx * ST_LONG_WINDOW + j] = h & ~0xffffULL;
	}
	return err;
}

static void windows_done(struct dict *d, bool is_short)
{
	if (is_short)
		__atomic_store_n(d->bpf.have_short, 1, __ATOMIC_RELEASE);
	pf_maybe_grow(d);
}

/* Index the windows at offsets 0..7 (8-byte windows, secrets of 15 bytes or more) or
 * 0..3 (4-byte windows, 8..14 bytes): any occurrence of the secret puts exactly one of
 * them on a sampled position of the stream. */
static int index_windows(struct dict *d, uint32_t idx, const uint8_t *v, size_t len)
{
	bool is_short = len < ST_LONG_MIN_LEN;
	uint32_t n = dict_windows(len), j;
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
		err = add_window(d, idx, j, tag, h);
		if (err)
			return err;
	}
	windows_done(d, is_short);
	return 0;
}

/* A new entry, before its windows. fp: the secret's own entry (raw form or marker,
 * encoding ENC_RAW); NULL for an encoded form of parent. */
static int new_entry(struct dict *d, uint32_t len, uint32_t flags, const char *fp,
		     uint32_t parent, uint32_t encoding, uint64_t hash, uint32_t *idx)
{
	struct secret_entry *e;
	uint32_t clen = len > ST_MAX_SECRET_LEN ? ST_MAX_SECRET_LEN : len;

	if (d->nsecrets >= ST_MAX_SECRETS)
		return -ENOSPC;
	if (grow(&d->secrets, &d->cap, d->nsecrets, sizeof(*d->secrets), 64) ||
	    (fp && grow(&d->infos, &d->infocap, d->ninfos, sizeof(*d->infos), 64)))
		return -ENOMEM;
	if (d->keep_windows && d->wincap < d->cap) {	/* the windows the state file keeps */
		uint32_t *t = realloc(d->win_tags, d->cap * ST_LONG_WINDOW * sizeof(*t));
		uint64_t *p;

		if (!t)
			return -ENOMEM;
		d->win_tags = t;
		p = realloc(d->win_pf, d->cap * ST_LONG_WINDOW * sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->win_pf = p;
		d->wincap = d->cap;
	}
	d->changes++;
	*idx = d->nsecrets;
	e = &d->secrets[*idx];
	memset(e, 0, sizeof(*e));
	e->len = len;
	e->flags = flags;
	e->link = fp ? d->ninfos : parent;
	e->encoding = encoding;
	e->gen = d->gen + 1;
	e->hash = hash;
	/* The secret first, so that the kernel can confirm it as soon as a window names it. */
	if (d->bpf.secrets_fd >= 0) {
		struct st_secret s = { .len = clen, .flags = flags, .hash = e->hash };

		if (bpf_map_update_elem(d->bpf.secrets_fd, idx, &s, BPF_ANY))
			return -errno;
	}
	if (fp) {
		memset(&d->infos[d->ninfos], 0, sizeof(d->infos[0]));
		memcpy(d->infos[d->ninfos++].fingerprint, fp, DICT_FP_HEX);
	}
	d->nsecrets++;
	/* before its windows: a scan that finds one takes enough of the carry for it */
	if (clen - 1 > *d->bpf.carry_want)
		__atomic_store_n(d->bpf.carry_want, clen - 1 < ST_CARRY ? clen - 1 : ST_CARRY,
				 __ATOMIC_RELEASE);
	return 0;
}

static int add_entry(struct dict *d, const uint8_t *value, size_t len, uint32_t flags,
		     const char *fp, uint32_t parent, uint32_t encoding, uint32_t *idx)
{
	uint32_t clen = len > ST_MAX_SECRET_LEN ? ST_MAX_SECRET_LEN : len;
	int err = new_entry(d, len, flags, fp, parent, encoding,
			    dict_confirm_hash(&d->keys, value, clen), idx);

	if (!err)
		err = index_windows(d, *idx, value, clen);
	return err ? err : 1;
}

void dict_keep_windows(struct dict *d)
{
	d->keep_windows = true;
}

void dict_entry_rec(const struct dict *d, uint32_t idx, struct dict_entry_rec *r)
{
	const struct secret_entry *e = &d->secrets[idx];

	memset(r, 0, sizeof(*r));
	r->len = e->len;
	r->encoding = e->encoding;
	r->hash = e->hash;
	memcpy(r->tag, &d->win_tags[(size_t)idx * ST_LONG_WINDOW], sizeof(r->tag));
	memcpy(r->pf, &d->win_pf[(size_t)idx * ST_LONG_WINDOW], sizeof(r->pf));
}

int dict_restore_entry(struct dict *d, const struct dict_entry_rec *r, const char *fp,
		       uint32_t parent, uint32_t *idx)
{
	uint32_t clen = r->len > ST_MAX_SECRET_LEN ? ST_MAX_SECRET_LEN : r->len, n, j;
	uint64_t key;
	int err;

	if (r->len < ST_MIN_SECRET_LEN || r->encoding >= ENC_MAX ||
	    (fp != NULL) != (r->encoding == ENC_RAW) || (!fp && parent >= d->nsecrets))
		return -EINVAL;
	if (fp) {
		memcpy(&key, fp, 8);
		if (u64map_get(&d->by_fp, u64map_key(key), &(uint64_t){ 0 }))
			return -EEXIST;	/* learned again before the restore, or twice in the file */
	}
	err = new_entry(d, r->len, 0, fp, parent, r->encoding, r->hash, idx);
	n = dict_windows(clen);
	for (j = 0; !err && j < n; j++)
		err = add_window(d, *idx, j, r->tag[j], r->pf[j]);
	if (err)
		return err;
	windows_done(d, clen < ST_LONG_MIN_LEN);
	if (fp && u64map_put(&d->by_fp, u64map_key(key), *idx + 1))
		return -ENOMEM;
	return 0;
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
	    strcmp(info_of(d, &d->secrets[found - 1])->fingerprint, fp))
		return false;
	*idx = found - 1;
	return true;
}

/* The encoded forms of a new secret, as entries of their own pointing at it. */
static int add_forms(struct dict *d, const uint8_t *value, size_t len, uint32_t parent,
		     const char *const *publics, struct run_list *runs)
{
	struct variant v[VARIANTS_MAX];
	int n = variants_of(value, len, v), i, ret = 0;
	uint32_t idx;

	if (n < 0)
		return n;
	for (i = 0; i < n && ret >= 0; i++) {
		ret = add_entry(d, v[i].bytes, v[i].len, 0, NULL, parent, v[i].encoding, &idx);
		/* no output may carry the secret in any of its forms either */
		if (ret >= 0 && redact_add_seen(v[i].bytes, v[i].len, publics,
						runs ? run_list_add : NULL, runs))
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
	struct run_list runs = { 0 };
	int ret;

	if (len < ST_MIN_SECRET_LEN)
		return -EINVAL;
	dict_fingerprint(d, value, len, fp);
	memcpy(&key, fp, 8);
	key = u64map_key(key);
	if (u64map_get(&d->by_fp, key, &found) &&
	    !strcmp(info_of(d, &d->secrets[found - 1])->fingerprint, fp)) {
		*idx = found - 1;
		return dict_add_delivery(d, *idx, o);
	}
	ret = add_entry(d, value, len, 0, fp, UINT32_MAX, ENC_RAW, idx);
	if (ret < 0)
		return ret;
	u64map_put(&d->by_fp, key, *idx + 1);
	if (dict_add_delivery(d, *idx, o) ||
	    redact_add_seen(value, len, publics, d->keep_windows ? run_list_add : NULL, &runs)) {
		free(runs.v);
		return -ENOMEM;
	}
	ret = add_forms(d, value, len, *idx, publics, d->keep_windows ? &runs : NULL);
	if (ret >= 0 && d->keep_windows)
		ret = dict_set_runs(d, *idx, &runs);
	free(runs.v);
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

int dict_forget(struct dict *d, uint32_t idx)
{
	const struct st_secret dead = { 0 };	/* len 0: below ST_MIN_SECRET_LEN, never confirmed */
	uint32_t j = idx;
	uint64_t key, found;
	int ret = 0;

	if (idx >= d->nsecrets || d->secrets[idx].encoding != ENC_RAW ||
	    (d->secrets[idx].flags & ST_SECRET_MARKER))
		return -EINVAL;
	memcpy(&key, info_of(d, &d->secrets[idx])->fingerprint, 8);
	/* its runs stay in the redactor (they only over-mask) but leave the state file */
	free(info_of(d, &d->secrets[idx])->runs);
	info_of(d, &d->secrets[idx])->runs = NULL;
	info_of(d, &d->secrets[idx])->nruns = 0;
	d->changes++;	/* the state file's next write leaves it out */
	if (u64map_get(&d->by_fp, u64map_key(key), &found) && found == idx + 1)
		u64map_del(&d->by_fp, u64map_key(key));
	/* its forms were added right after it (add_forms) */
	do {
		if (d->bpf.secrets_fd >= 0 &&
		    bpf_map_update_elem(d->bpf.secrets_fd, &j, &dead, BPF_ANY) && !ret)
			ret = -errno;
		d->secrets[j].len = 0;
		d->secrets[j].hash = 0;
		j++;
	} while (j < d->nsecrets && d->secrets[j].encoding != ENC_RAW && d->secrets[j].link == idx);
	return ret;
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

	return e && e->encoding != ENC_RAW ? dict_get(d, e->link) : e;
}

/* The info of the secret of entry idx, or NULL. */
static struct secret_info *secret_info(const struct dict *d, uint32_t idx)
{
	const struct secret_entry *e = dict_secret(d, idx);

	return e ? info_of(d, e) : NULL;
}

const char *dict_fp(const struct dict *d, uint32_t idx)
{
	const struct secret_info *in = secret_info(d, idx);

	return in ? in->fingerprint : NULL;
}

struct delivery *dict_newest_delivery(struct dict *d, uint32_t idx)
{
	struct secret_info *in = secret_info(d, idx);

	return in && in->ndeliv ? &in->deliv[in->ndeliv - 1] : NULL;
}

void dict_set_lease_end(struct dict *d, uint32_t idx, int64_t expires)
{
	struct delivery *v = dict_newest_delivery(d, idx);

	if (v) {
		v->expires = expires;
		d->changes++;
	}
}

int dict_set_request_id(struct dict *d, struct delivery *v, const char *request_id)
{
	if (v->request_id || !request_id || !*request_id)
		return 0;
	d->changes++;
	v->request_id = strpool_get(&d->strings, request_id);
	return v->request_id ? 0 : -ENOMEM;
}

int dict_set_audit_hash(struct dict *d, uint32_t idx, const char *hash)
{
	struct secret_info *in = secret_info(d, idx);
	size_t i;

	d->changes++;
	for (i = 0; in && i < in->ndeliv; i++) {
		if (in->deliv[i].audit_hash)
			continue;
		in->deliv[i].audit_hash = strpool_get(&d->strings, hash);
		if (!in->deliv[i].audit_hash)
			return -ENOMEM;
	}
	return 0;
}

const struct delivery *dict_delivery_for(const struct dict *d, uint32_t idx, uint32_t pid,
				       uint64_t at_ns)
{
	const struct secret_info *in = secret_info(d, idx);
	const struct delivery *later = NULL;
	size_t i;

	if (!in || !in->ndeliv)
		return NULL;
	for (i = in->ndeliv; i-- > 0;) {
		if (in->deliv[i].pid != pid)
			continue;
		if (!at_ns || in->deliv[i].ts_ns <= at_ns)
			return &in->deliv[i];
		if (!later)
			later = &in->deliv[i];
	}
	return later ? later : &in->deliv[in->ndeliv - 1];
}

/* ---- the userspace twin of bpf/detect/scan.bpf.c ---- */

static void candidate(const struct dict *d, const uint8_t *buf, size_t len, uint64_t pos,
		      uint32_t tag, dict_found_fn found, void *ctx)
{
	struct st_window w;
	uint32_t i, chain = 1;

	for (i = 0; i < chain && !window_get(d, tag, i, &w); i++) {
		const struct secret_entry *e;
		uint32_t clen;
		uint64_t start;

		if (!i)
			chain = w.chain;
		if (pos < w.offset || w.secret >= d->nsecrets)
			continue;
		e = &d->secrets[w.secret];
		if (!e->len)	/* forgotten */
			continue;
		clen = e->len > ST_MAX_SECRET_LEN ? ST_MAX_SECRET_LEN : e->len;
		start = pos - w.offset;
		if (start + clen > len || dict_confirm_hash(&d->keys, buf + start, clen) != e->hash)
			continue;
		if (!(e->flags & ST_SECRET_MARKER))
			found(ctx, w.secret, start);
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
