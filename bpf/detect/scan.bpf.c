// SPDX-License-Identifier: GPL-2.0
/*
 * The one scanning routine every hook uses. A call's stream is copied a chunk at a time
 * into per-CPU scratch; every 8-byte word at a stream offset that is a multiple of 8 is
 * tested against a Bloom prefilter (and, when short secrets exist, both of its 4-byte
 * halves against a second key). The dictionary indexes each secret's windows at offsets
 * 0..7 (0..3 for short secrets), so any occurrence of a secret puts exactly one of its
 * indexed windows on a sampled position. A hit looks up the window's tag, gathers the
 * candidate span from user memory and compares its keyed hash with the secret's: only
 * (secret, offset) leaves the kernel, never the bytes.
 */
#include "maps.bpf.h"
#include "targets/filter.bpf.h"
#include "enrich/fdinfo.bpf.h"
#include "detect/scan.bpf.h"
#include "detect/fold.bpf.h"

#define ST_SAMPLE_BYTES 256	/* bytes tested per sampling callback */
#define ST_BLOCK_WORDS (ST_SAMPLE_BYTES / 8)
#define ST_SPAN_MASK (2 * ST_MAX_SECRET_LEN - 1)

/* ---- chunk fill ---- */

struct st_pages {
	struct st_scan *s;
	__u64 src;	/* user address of the piece */
	__u32 at;	/* where it goes in the chunk */
	__u32 len;
};

/* One page of a piece whose one-shot read failed: only pages not resident go unscanned. */
static long st_page_step(__u32 i, struct st_pages *p)
{
	__u64 src = p->src + (i ? ((p->src & ~4095ULL) + (__u64)i * 4096 - p->src) : 0);
	__u64 end = p->src + p->len, n;
	__u32 at = p->at + (src - p->src);

	if (src >= end)
		return 1;
	n = ((src & ~4095ULL) + 4096 < end ? (src & ~4095ULL) + 4096 : end) - src;
	if (n > 4096)
		n = 4096;
	if (bpf_probe_read_user(p->s->buf + (at & (ST_CHUNK - 1)), n, (void *)src)) {
		p->s->fill_failed = 1;
		st_count(ST_STAT_BYTES_NOT_SCANNED, n);
		st_count(ST_STAT_BYTES_SCANNED, -n);
	}
	return 0;
}

static long st_fill_step(__u32 i, struct st_ref *ref)
{
	struct st_scan *s = ref->s;
	__u64 end = s->chunk_start + s->chunk_len;
	struct st_seg *g;
	__u64 off, n;
	__u32 at;

	if (s->fill_pos >= end || s->seg_cursor >= s->nsegs)
		return 1;
	g = &s->segs[s->seg_cursor & (ST_MAX_SEGS - 1)];
	off = s->fill_pos - g->start;
	n = g->len - off;
	if (n > end - s->fill_pos)
		n = end - s->fill_pos;
	if (n > ST_CHUNK)
		n = ST_CHUNK;
	at = (s->fill_pos - s->chunk_start) & (ST_CHUNK - 1);
	if (g->kernel) {
		if (st_read(s->buf + at, n, g, g->base + off))
			s->fill_failed = 1;
	} else if (bpf_probe_read_user(s->buf + at, n, (void *)(g->base + off))) {
		/* some page is not resident (the call never touched it): go page by page */
		struct st_pages p = { .s = s, .src = g->base + off, .at = at, .len = n };

		st_loop(ST_CHUNK / 4096 + 1, st_page_step, &p);
	}
	s->fill_pos += n;
	if (s->fill_pos >= g->start + g->len)
		s->seg_cursor++;
	return 0;
}

/* ---- confirmation ---- */

static long st_gather_step(__u32 i, struct st_ref *ref)
{
	struct st_scan *s = ref->s;
	struct st_seg *g;
	__u64 pos, off, n;

	if (s->span_len >= s->span_want || s->span_seg >= s->nsegs)
		return 1;
	g = &s->segs[s->span_seg & (ST_MAX_SEGS - 1)];
	pos = s->cand_pos + s->span_len;
	off = pos - g->start;
	n = g->len - off;
	if (n > s->span_want - s->span_len)
		n = s->span_want - s->span_len;
	if (n > ST_MAX_SECRET_LEN)
		n = ST_MAX_SECRET_LEN;
	if (st_read(s->span + (s->span_len & (ST_MAX_SECRET_LEN - 1)), n, g, g->base + off))
		return 1;
	s->span_len += n;
	s->span_seg++;
	return 0;
}

static long st_hash_step(__u32 i, struct st_ref *ref)
{
	struct st_scan *s = ref->s;
	__u64 h = s->span_hash;
	__u32 k;

#pragma unroll
	for (k = 0; k < 8; k++) {
		__u32 off = i * 64 + k * 8;

		if (off >= s->span_want)
			break;
		h = st_confirm_step(h, *(__u64 *)(s->span + (off & ST_SPAN_MASK)));
	}
	s->span_hash = h;
	return 0;
}
ST_ONCE(st_hash_step)

struct st_bsearch {
	struct st_scan *s;
	__u64 pos;
	__u32 lo, hi;
};

static long st_bsearch_step(__u32 i, struct st_bsearch *b)
{
	__u32 mid = (b->lo + b->hi) / 2;

	if (b->hi - b->lo <= 1)
		return 1;
	if (b->s->segs[mid & (ST_MAX_SEGS - 1)].start <= b->pos)
		b->lo = mid;
	else
		b->hi = mid;
	return 0;
}

/* Index of the segment holding stream offset pos (a loop, so the verifier walks it once). */
static __always_inline __u32 st_seg_of(struct st_scan *s, __u64 pos)
{
	struct st_bsearch b = { .s = s, .pos = pos, .lo = 0, .hi = s->nsegs };

	if (s->nsegs <= 2)	/* a buffer, after a carry or not: most calls */
		return s->nsegs == 2 && s->segs[1].start <= pos;
	st_loop(12, st_bsearch_step, &b);	/* 2^12 > ST_MAX_SEGS */
	return b.lo;
}

/* Is the secret `idx` at stream offset start? Hashes the span read back from user memory. */
int st_confirm(__u64 start, __u32 idx)
{
	struct st_scan *s = st_scan_state();
	struct st_secret *sec = bpf_map_lookup_elem(&secrets, &idx);
	struct st_ref ref;
	__u32 len;

	if (!s || !sec)
		return 0;
	len = sec->len;
	if (len < ST_MIN_SECRET_LEN || len > ST_MAX_SECRET_LEN || start + len > s->total)
		return 0;
	st_count(ST_STAT_CONFIRMS, 1);
	ref.s = s;
	s->cand_pos = start;
	s->span_want = len;
	s->span_len = 0;
	s->span_seg = st_seg_of(s, start);
	st_loop(ST_MAX_SEGS, st_gather_step, &ref);
	if (s->span_len != len)
		return 0;
	*(__u64 *)(s->span + len) = 0;	/* the hash reads the last word zero-padded */
	s->span_hash = st_confirm_seed(len, keys.confirm);
	st_loop_upto((len + 63) / 64, ST_MAX_SECRET_LEN / 64, ST_STEP(st_hash_step), &ref);
	return s->span_hash == sec->hash;
}

static __always_inline void st_record(struct st_scan *s, __u32 idx, __u64 start)
{
	__u32 j;

	for (j = 0; j < ST_CALL_MATCHES; j++) {
		struct st_found *f = &s->found[j];

		if (j >= s->nfound)
			break;
		if (f->secret == idx) {
			f->count++;
			return;
		}
	}
	if (s->nfound >= ST_CALL_MATCHES) {
		st_count(ST_STAT_MATCHES_DROPPED, 1);
		return;
	}
	s->found[s->nfound & (ST_MAX_MATCHES_PER_CALL - 1)] = (struct st_found){
		.secret = idx, .count = 1, .offset = start,
	};
	s->nfound++;
	if (!s->found_any)
		s->found_any = idx + 1;
}

/* A prefilter hit: the word at stream offset pos (a 4-byte half when is_short). */
int st_candidate(__u64 pos, __u64 window, __u32 is_short)
{
	struct st_scan *s = st_scan_state();
	struct st_window_key key = {};
	struct st_window *e;
	__u32 i, chain;

	if (!s)
		return 0;
	st_count(ST_STAT_CANDIDATES, 1);
	key.tag = is_short ? st_tag_short((__u32)window, keys.tag) : st_tag_long(window, keys.tag);
	e = bpf_map_lookup_elem(&windows, &key);
	if (!e)
		return 0;
	chain = e->chain;
	for (i = 0; i < ST_MAX_CHAIN; i++) {
		struct st_secret *sec;
		__u32 idx;
		__u64 start;

		if (i >= chain)
			break;
		if (i) {
			key.idx = i;
			e = bpf_map_lookup_elem(&windows, &key);
			if (!e)
				break;
		}
		if (pos < e->offset)
			continue;
		start = pos - e->offset;
		idx = e->secret;
		sec = bpf_map_lookup_elem(&secrets, &idx);
		/* wholly inside the carry: reported by the call that completed it */
		if (!sec || start + sec->len <= s->carry_len || !st_confirm(start, idx))
			continue;
		if (sec->flags & ST_SECRET_MARKER)
			s->flags |= ST_SCAN_VAULT_REQ;
		else
			st_record(s, idx, start);
	}
	return 0;
}

/* ---- sampling ---- */

static __always_inline __u64 st_bit(const __u64 *bm, __u32 b)
{
	return (bm[(b >> 6) & (ST_PREFILTER_WORDS - 1)] >> (b & 63)) & 1;
}

/* Words of a block (of `words` words, a constant) whose first prefilter bit is set: one
 * multiply, one load, no branch per word, and no call, so that the keys and pointers stay
 * in registers. */
static __always_inline __u32 st_block_hits(const __u8 *blk, const __u64 *bm, __u64 kx, __u64 km,
					   __u32 mask, const __u32 words)
{
	__u32 hits = 0, k;

#pragma unroll
	for (k = 0; k < words; k++) {
		__u64 h = (*(const __u64 *)(blk + k * 8) ^ kx) * km;

		hits |= (__u32)st_bit(bm, st_pf_bit1(h, mask)) << k;
		barrier_var(hits);	/* one word at a time: clang would hoist every load */
	}
	return hits;
}

/* The same for the 4-byte halves of each word (short secrets): bit 2k low, 2k+1 high. */
static __always_inline __u64 st_block_hits_short(const __u8 *blk, const __u64 *bm, __u64 kx,
						 __u64 km, __u32 mask, const __u32 words)
{
	__u64 hits = 0;
	__u32 k;

#pragma unroll
	for (k = 0; k < 2 * words; k++) {
		__u64 h = ((__u64)*(const __u32 *)(blk + k * 4) ^ kx) * km;

		hits |= st_bit(bm, st_pf_bit1(h, mask)) << k;
		barrier_var(hits);
	}
	return hits;
}

/* Index of the lowest set bit of x (nonzero), by de Bruijn multiplication: the BPF target
 * has no count-trailing-zeros (and clang crashes lowering __builtin_ctz for it). */
static const __u8 st_debruijn[64] = {
	0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4,
	62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
	63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
	46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9, 13, 8, 7, 6,
};

static __always_inline __u32 st_low_bit(__u64 x)
{
	return st_debruijn[((x & -x) * 0x03f79d71b4cb0a89ULL) >> 58];
}

/* The few words that passed the first bit: the second bit, then the dictionary. Only the
 * set bits are visited (with 1,000 secrets most blocks have a few, of 96 tests). */
static __noinline void st_block_candidates(struct st_scan *s, __u32 q, __u32 hits,
					   __u64 short_hits, __u32 mask)
{
	const __u8 *blk = s->buf + (q & (ST_CHUNK - 1));
	__u64 pos = s->chunk_start + q;
	struct st_prefilter *pf;
	const __u64 *bm;
	__u32 k, n, zero = 0;

	pf = bpf_map_lookup_elem(&prefilter, &zero);
	if (!pf)
		return;
	bm = pf->word;

	for (n = 0; n < ST_BLOCK_WORDS && hits; n++) {
		__u64 w;

		k = st_low_bit(hits) & (ST_BLOCK_WORDS - 1);
		hits &= hits - 1;
		w = *(const __u64 *)(blk + k * 8);
		if (st_bit(bm, st_pf_bit2(st_pf_hash(w, keys.pf_xor, keys.pf_mul), mask)))
			st_candidate(pos + k * 8, w, 0);
	}
	for (n = 0; n < 2 * ST_BLOCK_WORDS && short_hits; n++) {
		__u32 w;

		k = st_low_bit(short_hits) & (2 * ST_BLOCK_WORDS - 1);
		short_hits &= short_hits - 1;
		w = *(const __u32 *)(blk + k * 4);
		if (st_bit(bm, st_pf_bit2(st_pf_hash(w, keys.pfs_xor, keys.pfs_mul), mask)))
			st_candidate(pos + k * 4, w, 1);
	}
}

/* The chunk's last, partial block, in 64-byte pieces tested like blocks: the words past
 * the chunk's end (stale bytes of the scratch) are masked out of the hits. */
#define ST_PIECE_WORDS 8

static __always_inline void st_tail_hits(struct st_scan *s, __u32 q, const __u64 *bm,
					 __u32 mask, __u32 *hits, __u64 *short_hits)
{
	__u32 m;

	for (m = 0; m < ST_BLOCK_WORDS / ST_PIECE_WORDS; m++) {
		__u32 o = q + m * ST_PIECE_WORDS * 8, left, h;
		const __u8 *blk = s->buf + (o & (ST_CHUNK - 1));
		__u64 sh;

		if (o + 4 > s->chunk_len)
			break;
		left = s->chunk_len - o;	/* bytes of the chunk from o */
		h = st_block_hits(blk, bm, keys.pf_xor, keys.pf_mul, mask, ST_PIECE_WORDS);
		if (left < ST_PIECE_WORDS * 8)
			h &= (1u << (left / 8)) - 1;
		*hits |= h << (m * ST_PIECE_WORDS);
		if (!have_short)
			continue;
		sh = st_block_hits_short(blk, bm, keys.pfs_xor, keys.pfs_mul, mask,
					 ST_PIECE_WORDS);
		if (left < ST_PIECE_WORDS * 8)
			sh &= (1ULL << (left / 4)) - 1;
		*short_hits |= sh << (m * 2 * ST_PIECE_WORDS);
	}
}

static long st_sample_step(__u32 i, struct st_ref *ref)
{
	struct st_scan *s = ref->s;
	__u32 zero = 0, mask = prefilter_mask, q = i * ST_SAMPLE_BYTES;
	struct st_prefilter *pf;
	__u64 short_hits = 0;
	const __u8 *blk;
	__u32 hits;

	if (q >= s->chunk_len)
		return 1;
	pf = bpf_map_lookup_elem(&prefilter, &zero);
	if (!pf)
		return 1;
	if (q + ST_SAMPLE_BYTES > s->chunk_len) {
		hits = 0;
		st_tail_hits(s, q, pf->word, mask, &hits, &short_hits);
	} else {
		blk = s->buf + (q & (ST_CHUNK - 1));
		hits = st_block_hits(blk, pf->word, keys.pf_xor, keys.pf_mul, mask,
				     ST_BLOCK_WORDS);
		if (have_short)
			short_hits = st_block_hits_short(blk, pf->word, keys.pfs_xor,
							 keys.pfs_mul, mask, ST_BLOCK_WORDS);
	}
	if (hits | short_hits)
		st_block_candidates(s, q, hits, short_hits, mask);
	/* a buffer naming many secrets (a response body written out whole): report what
	 * was found so far, so the next blocks have room */
	if (s->nfound >= ST_CALL_MATCHES / 2) {
		st_finish_call();
		s->nfound = 0;
	}
	return q + ST_SAMPLE_BYTES >= s->chunk_len;
}

ST_ONCE(st_sample_step)
/* A request line "METHOD /v1/..." at the start of a socket stream marks a Vault connection. */
static __always_inline bool st_vault_request_line(struct st_scan *s)
{
	__u64 w0, w1;
	__u32 at = s->carry_len & (ST_CARRY * 2 - 1);	/* the call's own first bytes */

	if (s->chunk_len < at + 12)
		return false;
	w0 = *(__u64 *)(s->buf + at);
	w1 = *(__u64 *)(s->buf + at + 8);
	return st_is_vault_request(w0, w1);
}

static long st_chunk_step(__u32 i, struct st_ref *ref)
{
	struct st_scan *s = ref->s;
	__u64 start = (__u64)i * ST_CHUNK;

	if (start >= s->limit)
		return 1;
	s->chunk_start = start;
	s->chunk_len = s->limit - start < ST_CHUNK ? s->limit - start : ST_CHUNK;
	if (s->nsegs <= 2) {	/* a buffer, after a carry or not: most calls */
		st_fill_step(0, ref);
		st_fill_step(1, ref);
	} else {
		st_loop(ST_MAX_SEGS, st_fill_step, ref);
	}
	if (i == 0 && s->sink == ST_SINK_UNKNOWN && st_vault_request_line(s))
		s->flags |= ST_SCAN_VAULT_REQ;
	st_loop_upto((s->chunk_len + ST_SAMPLE_BYTES - 1) / ST_SAMPLE_BYTES, ST_CHUNK_MAX / ST_SAMPLE_BYTES + 1,
		     ST_STEP(st_sample_step), ref);
	return 0;
}

/* Scan the stream the caller put in the scan state, up to the scan limit. */
int st_scan_stream(void)
{
	struct st_scan *s = st_scan_state();
	struct st_ref ref = { .s = s };
	__u64 lim = st_scan_limit();

	if (!s)
		return 0;
	/* the limit is on the call's own bytes; the carry of earlier calls comes on top */
	s->limit = s->total - s->carry_len < lim ? s->total : s->carry_len + lim;
	if (s->total > s->limit)
		st_count(ST_STAT_BYTES_NOT_SCANNED, s->total - s->limit);
	st_count(ST_STAT_BYTES_SCANNED, s->limit - s->carry_len);
	s->fill_pos = 0;
	s->seg_cursor = 0;
	s->fill_failed = 0;
	st_loop(ST_CALL_SCAN_MAX / ST_CHUNK + 1, st_chunk_step, &ref);
	return 0;
}

/* ---- records ---- */

/* Where the bytes at offset went (a sendmmsg's messages may each name a destination;
 * bytes of the carry went where this call's own first bytes go). */
static __always_inline void st_describe(struct st_scan *s, __u64 offset)
{
	struct st_seg *g;

	if (offset < s->carry_len)
		offset = s->carry_len;
	g = &s->segs[st_seg_of(s, offset) & (ST_MAX_SEGS - 1)];

	__builtin_memset(&s->si, 0, sizeof(s->si));
	if (s->sink == ST_SINK_ARGV || s->sink == ST_SINK_ENV) {
		s->si.sink = s->sink;
		return;
	}
	st_describe_fd(s->fd, g->name, g->namelen, &s->si, s->path);
}

/* A use goes out only as long as its path: most are a few dozen bytes, not ST_PATH_MAX,
 * so the ring buffer holds many more of them through a burst (or is folded: fold.bpf.h). */
static long st_emit_step(__u32 i, struct st_ref *ref)
{
	struct st_scan *s = ref->s;
	struct st_rec_match *r = &s->rec;
	struct st_fold_key key;
	struct st_found *f;
	__u32 len;

	if (i >= s->nfound)
		return 1;
	f = &s->found[i & (ST_MAX_MATCHES_PER_CALL - 1)];
	st_fill_hdr(&r->hdr, ST_REC_MATCH);
	r->call_id = s->call_id;
	r->offset = f->offset;
	r->carry_len = s->carry_len;
	r->pad = 0;
	r->secret = f->secret;
	r->count = f->count;
	r->hook = s->hook;
	r->fd = s->fd;
	st_describe(s, f->offset);
	if (st_use_folded(&key, f->secret, &s->si))
		return 0;
	r->si = s->si;
	len = s->si.path_len;
	if (len > ST_PATH_MAX - 256)
		len = ST_PATH_MAX - 256;
	barrier_var(len);
	bpf_probe_read_kernel(r->path, len & (ST_PATH_MAX - 1),
			      s->path + (s->si.path_off & (ST_PATH_MAX - 256 - 1)));
	r->si.path_off = 0;
	r->si.path_len = len;
	if (bpf_ringbuf_output(&events, r, offsetof(struct st_rec_match, path) + len, 0))
		st_count(ST_STAT_LOST_MATCH, 1);
	else
		st_use_sent(&key);
	return 0;
}
ST_ONCE(st_emit_step)

/* After the scan: report what was found. */
int st_finish_call(void)
{
	struct st_scan *s = st_scan_state();
	struct st_ref ref = { .s = s };

	if (!s || !s->nfound)
		return 0;
	st_loop(ST_CALL_MATCHES, ST_STEP(st_emit_step), &ref);
	return 0;
}

/* The last eighth of the ring buffer is kept for uses and process records: a process that
 * floods it with held buffers (the bulk of its bytes) cannot crowd out the record of a
 * leak. Held records past that are lost, counted like a full ring. (Vault traffic has its
 * own ring, vault_events.) */
static __always_inline bool st_ring_low(void)
{
	__u64 size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);

	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size / 8 > size;
}

/* Room in the hold for n more bytes of the current process (taken if so). */
static __always_inline bool st_hold_take(__u64 n)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct st_hold_use *u = bpf_map_lookup_elem(&hold_use, &tgid), fresh = {};
	__u64 epoch = learned_seq;

	if (!u) {
		bpf_map_update_elem(&hold_use, &tgid, &fresh, BPF_NOEXIST);
		u = bpf_map_lookup_elem(&hold_use, &tgid);
		if (!u)
			return false;
	}
	if (u->epoch != epoch) {	/* a release since: its count starts over */
		u->epoch = epoch;
		u->bytes = 0;
	}
	if (u->bytes + n > hold_limit || hold_bytes + n > hold_limit * ST_HOLD_PROCS)
		return false;
	u->bytes += n;
	__sync_fetch_and_add(&hold_bytes, n);
	return true;
}

static long st_copy_step(__u32 i, struct st_ref *ref)
{
	struct st_scan *s = ref->s;
	__u64 limit = s->total < ST_COPY_LIMIT ? s->total : ST_COPY_LIMIT;
	struct st_rec_data *r;
	struct st_seg *g;
	__u64 off, n;

	if (s->fill_pos >= limit || s->seg_cursor >= s->nsegs)
		return 1;
	g = &s->segs[s->seg_cursor & (ST_MAX_SEGS - 1)];
	off = s->fill_pos - g->start;
	n = g->len - off;
	if (n > limit - s->fill_pos)
		n = limit - s->fill_pos;
	if (n > ST_DATA_CHUNK)
		n = ST_DATA_CHUNK;
	if (s->data_kind == ST_DATA_HELD && !st_hold_take(n)) {
		st_count(ST_STAT_HOLD_OVERFLOW, s->total - s->fill_pos);
		return 1;
	}
	if (s->data_kind != ST_DATA_HELD)
		r = bpf_ringbuf_reserve(&vault_events, sizeof(*r), 0);
	else
		r = st_ring_low() ? NULL : bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		st_count(s->data_kind == ST_DATA_HELD ? ST_STAT_LOST_DATA : ST_STAT_LOST_VAULT, 1);
		return 1;
	}
	st_fill_hdr(&r->hdr, ST_REC_DATA);
	r->call_id = s->call_id;
	r->conn_id = s->conn_id;
	r->ssl = s->ssl;
	r->offset = s->fill_pos;
	r->seq = s->seq;
	r->kind = s->data_kind;
	r->hook = s->hook;
	r->fd = s->fd;
	r->gen = s->gen;
	r->len = n;
	r->flags = 0;
	r->nfound = 0;
	if (s->data_kind == ST_DATA_HELD && s->fill_pos == 0) {
		/* so that the rescan does not report again what the kernel already did */
		__u32 j;

		for (j = 0; j < ST_CALL_MATCHES; j++) {
			if (j >= s->nfound)
				break;
			r->found[j] = s->found[j].secret;
		}
		r->nfound = j;
	}
	r->carry_len = s->carry_len;
	if (st_read(r->data, n, g, g->base + off)) {
		r->len = 0;
		r->flags |= ST_DATA_UNREADABLE;
	}
	s->fill_pos += n;
	if (s->fill_pos >= g->start + g->len)
		s->seg_cursor++;
	if (s->fill_pos >= limit || s->seg_cursor >= s->nsegs)
		r->flags |= ST_DATA_LAST;
	r->si = s->si;
	bpf_probe_read_kernel(r->path, sizeof(r->path), s->path);
	bpf_ringbuf_submit(r, 0);
	return 0;
}
ST_ONCE(st_copy_step)

/* Copy the stream out as data records: Vault traffic for the learner, or a held copy. */
int st_copy_stream(__u32 kind)
{
	struct st_scan *s = st_scan_state();
	struct st_ref ref = { .s = s };

	if (!s)
		return 0;
	s->data_kind = kind;
	/* a held call waits for the Vault reads so far (in another ring: matched by seq) */
	if (kind == ST_DATA_HELD)
		s->seq = in_seq;
	s->fill_pos = 0;
	s->seg_cursor = 0;
	st_describe(s, 0);
	st_loop(ST_COPY_LIMIT / ST_DATA_CHUNK + ST_MAX_SEGS, ST_STEP(st_copy_step), &ref);
	if (s->total > ST_COPY_LIMIT && kind != ST_DATA_HELD)
		st_count(ST_STAT_VAULT_TRUNCATED, s->total - ST_COPY_LIMIT);
	return 0;
}

/* The call's own last bytes (at most ST_CARRY), for the fd's carry, at the start of the
 * scratch's span (span_len of them). From the chunk just scanned when it holds them (most
 * calls: a stream scanned whole ends with its last chunk), else read again. */
int st_carry_tail(void)
{
	struct st_scan *s = st_scan_state();
	struct st_ref ref = { .s = s };
	__u64 n, from;

	if (!s)
		return 0;
	n = s->total - s->carry_len;
	if (n > ST_CARRY)
		n = ST_CARRY;
	from = s->total - n;
	if (s->limit == s->total && from >= s->chunk_start && !s->fill_failed) {
		s->span_len = 0;
		if (!bpf_probe_read_kernel(s->span, n & (2 * ST_CARRY - 1),
					   s->buf + ((from - s->chunk_start) & (ST_CHUNK - 1))))
			s->span_len = n;
		return 0;
	}
	s->cand_pos = from;
	s->span_want = n;
	s->span_len = 0;
	s->span_seg = st_seg_of(s, from);
	st_loop(ST_MAX_SEGS, st_gather_step, &ref);
	return 0;
}

/* ---- content hash of a TLS write, to tell a retry from a new write ---- */

struct st_hashwalk {
	struct st_scan *s;
	__u64 buf;
	__u64 len;
	__u64 h;
};

static long st_content_step(__u32 i, struct st_hashwalk *w)
{
	__u64 off = (__u64)i * ST_DATA_CHUNK, n;
	struct st_scan *s = w->s;
	__u32 k;

	if (off >= w->len)
		return 1;
	n = w->len - off < ST_DATA_CHUNK ? w->len - off : ST_DATA_CHUNK;
	/* 6.1's verifier walks the branch a constant len never takes, with bounds that
	 * cannot hold (umin 4096 > umax 4095), and loses the buffer's pointer: the mask gives
	 * n bounds from its bits again */
	barrier_var(n);
	n &= 2 * ST_DATA_CHUNK - 1;
	if (bpf_probe_read_user(s->buf, n, (void *)(w->buf + off)))
		return 1;
	*(__u64 *)(s->buf + n) = 0;	/* the last word zero-padded */
	for (k = 0; k < ST_DATA_CHUNK / 8; k++) {
		if (k * 8 >= n)
			break;
		w->h = st_confirm_step(w->h, *(__u64 *)(s->buf + (k * 8 & (ST_CHUNK - 1))));
	}
	return 0;
}

/* A keyed hash of the first scan_limit bytes of a user buffer. */
__u64 st_content_hash(__u64 buf, __u64 len)
{
	struct st_scan *s = st_scan_state();
	struct st_hashwalk w = { .s = s, .buf = buf, .len = len };

	if (!s)
		return 0;
	if (w.len > st_scan_limit())
		w.len = st_scan_limit();
	w.h = st_confirm_seed(len, keys.confirm);
	st_loop(ST_CALL_SCAN_MAX / ST_DATA_CHUNK, st_content_step, &w);
	return w.h;
}

/* The first bytes of a connection, when they are a TLS ClientHello (its server name) or an
 * HTTP request (its Host): userspace reads destination.domain from them. */
#define ST_PEEK_MAX 512

int st_peek(void)
{
	struct st_scan *s = st_scan_state();
	struct st_rec_data *r;
	struct st_seg *g;
	struct file *f;
	__u8 head[2] = {};
	__u64 n;

	if (!s || !s->nsegs)
		return 0;
	g = &s->segs[0];
	if (g->kernel || bpf_probe_read_user(head, 2, (void *)g->base))
		return 0;
	if (!(head[0] == 0x16 && head[1] == 3) && !(head[0] >= 'A' && head[0] <= 'Z'))
		return 0;
	n = g->len < ST_PEEK_MAX ? g->len : ST_PEEK_MAX;
	r = st_ring_low() ? NULL : bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		st_count(ST_STAT_LOST_DATA, 1);
		return 0;
	}
	st_fill_hdr(&r->hdr, ST_REC_DATA);
	r->kind = ST_DATA_PEEK;
	r->fd = s->fd;
	r->call_id = s->call_id;
	r->conn_id = r->ssl = r->offset = r->seq = 0;
	r->flags = ST_DATA_LAST;
	r->hook = s->hook;
	r->gen = r->carry_len = r->nfound = 0;
	barrier_var(n);		/* else clang drops the mask, and 6.1's verifier loses n's bounds */
	if (bpf_probe_read_user(r->data, n & (ST_PEEK_MAX * 2 - 1), (void *)g->base))
		n = 0;
	r->len = n;
	__builtin_memset(&r->si, 0, sizeof(r->si));
	/* the socket's own inode: the host name is this socket's, not the fd number's (dup2
	 * puts another socket under the same number without a connect or a close) */
	f = st_fd_file(s->fd);
	if (f)
		r->si.ino = BPF_CORE_READ(f, f_inode, i_ino);
	bpf_ringbuf_submit(r, 0);
	return 0;
}
