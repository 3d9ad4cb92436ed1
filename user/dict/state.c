// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dict/encodings.h"
#include "dict/keyfile.h"
#include "dict/state.h"
#include "lib/log.h"

/*
 * The file: MAGIC, version (u32), key ID (16 bytes: a hash of the installation key, so a
 * file of another key is named as such), nonce, then the body sealed with
 * crypto_secretbox. The body (little-endian): written (i64, Unix seconds), the secret
 * count (u32), each secret (below), the loose run count (u32) and the loose runs: redactor
 * runs of no known secret (48 bits each, in 6 bytes). A secret: its fingerprint (32 hex
 * digits), its deliveries (u8 count, each: source u8, pid u32, start_ns u64, ts_ns u64,
 * expires i64, then the nine names as u16 length + bytes, 0xffff for none), its entries (u8
 * count, the raw form first, each: len u32, encoding u8, confirmation hash u64, then per
 * window a tag u32 and a prefilter hash u64) and its redactor runs (u32 count, 6 bytes
 * each). Version 1 had no runs per secret: all of them were loose.
 */
#define MAGIC "STRSTATE"
#define MAGIC_LEN 8
#define HEADER_LEN (MAGIC_LEN + 4 + STATE_KEY_ID_BYTES + crypto_secretbox_NONCEBYTES)
#define MAX_FILE (1u << 30)	/* far over 10,000 secrets' 25 MB: a bigger one is not ours */
#define NO_STRING 0xffff
#define NAMES 9
#define FP_LEN (DICT_FP_HEX - 1)
#define RUN_BYTES 6

/* ---- keys ---- */

static void derive(uint8_t *out, size_t len, const char *what, const uint8_t *key)
{
	crypto_generichash(out, len, (const uint8_t *)what, strlen(what), key, DICT_FP_KEY_BYTES);
}

void state_derive_keys(const uint8_t fp_key[DICT_FP_KEY_BYTES], struct st_keys *k,
		       uint8_t run_key[REDACT_KEY_BYTES])
{
	derive((uint8_t *)k, sizeof(*k), "secretrace kernel keys v1", fp_key);
	k->pf_mul |= 1;
	k->pfs_mul |= 1;
	derive(run_key, REDACT_KEY_BYTES, "secretrace redactor key v1", fp_key);
}

/* ---- writing ---- */

struct wbuf {
	uint8_t *p;
	size_t n, cap;
	int err;
};

static void put(struct wbuf *w, const void *v, size_t len)
{
	if (w->err || !len)	/* v may be NULL then (no runs) */
		return;
	if (w->n + len > w->cap) {
		size_t cap = w->cap ? w->cap : 65536;
		uint8_t *p;

		while (cap < w->n + len)
			cap *= 2;
		p = realloc(w->p, cap);
		if (!p) {
			w->err = -ENOMEM;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->n, v, len);
	w->n += len;
}

#define PUT(w, v) put(w, &(v), sizeof(v))	/* x86-64: little-endian already */

static void put_str(struct wbuf *w, const char *s)
{
	size_t len = s ? strlen(s) : NO_STRING;
	uint16_t l = len >= NO_STRING ? NO_STRING : len;	/* a name this long is dropped */

	PUT(w, l);
	if (l != NO_STRING)
		put(w, s, l);
}

/* Is the secret of info in past all its leases at now? */
static bool expired(const struct secret_info *in, int64_t now)
{
	uint8_t i;

	for (i = 0; i < in->ndeliv; i++)
		if (!in->deliv[i].expires || in->deliv[i].expires > now)
			return false;
	return in->ndeliv > 0;
}

static void put_secret(struct wbuf *w, const struct dict *d, uint32_t idx, uint8_t nentries)
{
	const struct secret_info *in = &d->infos[d->secrets[idx].link];
	uint8_t i, j;

	put(w, in->fingerprint, FP_LEN);
	PUT(w, in->ndeliv);
	for (i = 0; i < in->ndeliv; i++) {
		const struct delivery *v = &in->deliv[i];
		const char *names[NAMES] = { v->request_id, v->path, v->ns, v->field, v->lease_id,
					     v->correlation_id, v->server, v->file, v->audit_hash };
		uint8_t source = v->source;
		uint32_t k;

		PUT(w, source);
		PUT(w, v->pid);
		PUT(w, v->start_ns);
		PUT(w, v->ts_ns);
		PUT(w, v->expires);
		for (k = 0; k < NAMES; k++)
			put_str(w, names[k]);
	}
	PUT(w, nentries);
	for (j = 0; j < nentries; j++) {
		struct dict_entry_rec r;
		uint32_t k, n;

		dict_entry_rec(d, idx + j, &r);
		n = dict_windows(r.len > ST_MAX_SECRET_LEN ? ST_MAX_SECRET_LEN : r.len);
		PUT(w, r.len);
		PUT(w, r.encoding);
		PUT(w, r.hash);
		for (k = 0; k < n; k++) {
			PUT(w, r.tag[k]);
			PUT(w, r.pf[k]);
		}
	}
	PUT(w, in->nruns);
	put(w, in->runs, (size_t)in->nruns * RUN_BYTES);
}

/* The unexpired secrets (a secret's forms follow it in the dictionary), the loose runs. */
static int encode(const struct dict *d, int64_t now, struct wbuf *w)
{
	uint32_t i, n = 0, count_at;

	PUT(w, now);
	count_at = w->n;
	PUT(w, n);
	for (i = 0; i < d->nsecrets; i++) {
		const struct secret_entry *e = &d->secrets[i];
		uint32_t j = i + 1;

		/* len 0: forgotten (dict_forget), its forms too */
		if (e->encoding != ENC_RAW || (e->flags & ST_SECRET_MARKER) || !e->len ||
		    expired(&d->infos[e->link], now))
			continue;
		while (j < d->nsecrets && d->secrets[j].encoding != ENC_RAW &&
		       d->secrets[j].link == i && j - i < UINT8_MAX)
			j++;
		put_secret(w, d, i, j - i);
		n++;
	}
	PUT(w, d->nloose);
	put(w, d->loose_runs, (size_t)d->nloose * RUN_BYTES);
	if (w->err)
		return w->err;
	memcpy(w->p + count_at, &n, 4);
	return 0;
}

int state_encode(const struct dict *d, int64_t now, uint8_t **body, size_t *n)
{
	struct wbuf w = { 0 };
	int err = encode(d, now, &w);

	if (err) {
		free(w.p);
		return err;
	}
	*body = w.p;
	*n = w.n;
	return 0;
}

int state_seal(const struct state *s, const uint8_t *body, size_t n, uint8_t **file,
	       size_t *fn)
{
	uint32_t version = STATE_VERSION;
	uint8_t *out = malloc(HEADER_LEN + crypto_secretbox_MACBYTES + n), *nonce;

	if (!out)
		return -ENOMEM;
	nonce = out + MAGIC_LEN + 4 + STATE_KEY_ID_BYTES;
	memcpy(out, MAGIC, MAGIC_LEN);
	memcpy(out + MAGIC_LEN, &version, 4);
	memcpy(out + MAGIC_LEN + 4, s->key_id, STATE_KEY_ID_BYTES);
	randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(out + HEADER_LEN, body, n, nonce, s->box_key);
	*file = out;
	*fn = HEADER_LEN + crypto_secretbox_MACBYTES + n;
	return 0;
}

/* ---- reading ---- */

struct rbuf {
	const uint8_t *p;
	size_t n, at;
	int err;
};

static void get(struct rbuf *r, void *v, size_t len)
{
	if (r->err || r->n - r->at < len) {
		r->err = -EINVAL;
		memset(v, 0, len);
		return;
	}
	memcpy(v, r->p + r->at, len);
	r->at += len;
}

#define GET(r, v) get(r, &(v), sizeof(v))

/* A name into buf (NUL-terminated), or NULL for none. */
static const char *get_str(struct rbuf *r, char *buf)
{
	uint16_t l;

	GET(r, l);
	if (l == NO_STRING || r->err)
		return NULL;
	get(r, buf, l);
	buf[r->err ? 0 : l] = 0;
	if (strlen(buf) != l)	/* a NUL inside: not a name the writer wrote */
		r->err = -EINVAL;
	return buf;
}

static bool hex_fp(const char *fp)
{
	size_t i;

	for (i = 0; i < FP_LEN; i++)
		if (!((fp[i] >= '0' && fp[i] <= '9') || (fp[i] >= 'a' && fp[i] <= 'f')))
			return false;
	return true;
}

/* A run count and its runs (6 bytes each), or NULL and r->err. */
static const uint8_t *get_runs(struct rbuf *r, uint32_t *n)
{
	const uint8_t *p;

	GET(r, *n);
	if (r->err || (r->n - r->at) / RUN_BYTES < *n) {
		r->err = -EINVAL;
		return NULL;
	}
	p = r->p + r->at;
	r->at += (size_t)*n * RUN_BYTES;
	return p;
}

/* One secret; with apply false, checked only. */
static void get_secret(struct rbuf *r, struct dict *d, uint32_t version, int64_t now,
		       bool apply, struct state_result *res)
{
	const uint8_t *runs = NULL;
	uint32_t nruns = 0;
	static char names[NAMES][NO_STRING + 1];
	struct secret_origin o[DICT_MAX_DELIVERIES];
	char *kept[DICT_MAX_DELIVERIES][NAMES];
	char fp[DICT_FP_HEX] = { 0 };
	uint8_t nd, ne, i, j, source, filled = 0;
	uint32_t raw = UINT32_MAX, k;
	bool live = false, skip;

	get(r, fp, FP_LEN);
	GET(r, nd);
	if (!r->err && (!hex_fp(fp) || nd > DICT_MAX_DELIVERIES))
		r->err = -EINVAL;
	for (i = 0; i < nd && !r->err; i++) {
		const char *s[NAMES];

		memset(&o[i], 0, sizeof(o[i]));
		GET(r, source);
		GET(r, o[i].pid);
		GET(r, o[i].start_ns);
		GET(r, o[i].ts_ns);
		GET(r, o[i].expires);
		for (k = 0; k < NAMES; k++)
			s[k] = get_str(r, names[k]);
		if (!r->err && !secret_source_name(source))
			r->err = -EINVAL;
		o[i].source = source;
		live |= !o[i].expires || o[i].expires > now;
		if (!apply || r->err)
			continue;
		/* the entries come first: the names are kept until the deliveries are added
		 * (one that cannot be copied is left out, like a name dict_add cannot keep) */
		for (k = 0; k < NAMES; k++)
			kept[i][k] = s[k] ? strdup(s[k]) : NULL;
		filled++;
		o[i].request_id = kept[i][0], o[i].path = kept[i][1], o[i].ns = kept[i][2];
		o[i].field = kept[i][3], o[i].lease_id = kept[i][4];
		o[i].correlation_id = kept[i][5], o[i].server = kept[i][6];
		o[i].file = kept[i][7];
	}
	GET(r, ne);
	if (!r->err && !ne)
		r->err = -EINVAL;
	skip = nd && !live;	/* every lease has ended */
	for (j = 0; j < ne && !r->err; j++) {
		struct dict_entry_rec e;
		uint32_t n, eidx;

		memset(&e, 0, sizeof(e));
		GET(r, e.len);
		GET(r, e.encoding);
		GET(r, e.hash);
		n = dict_windows(e.len > ST_MAX_SECRET_LEN ? ST_MAX_SECRET_LEN : e.len);
		for (k = 0; k < n; k++) {
			GET(r, e.tag[k]);
			GET(r, e.pf[k]);
		}
		if (r->err || e.len < ST_MIN_SECRET_LEN || e.encoding >= ENC_MAX ||
		    (j == 0) != (e.encoding == ENC_RAW)) {
			r->err = -EINVAL;
			break;
		}
		if (!apply || skip)
			continue;
		if (dict_restore_entry(d, &e, j ? NULL : fp, raw, &eidx)) {
			/* the secret: known already (learned again before) or no room; a form:
			 * no room */
			res->skipped++;
			skip = !j;
		} else if (!j) {
			raw = eidx;
		}
	}
	if (version >= 2 && !r->err)
		runs = get_runs(r, &nruns);
	if (apply && !r->err && !skip) {
		for (i = 0; i < nd; i++)
			if (!dict_add_delivery(d, raw, &o[i]) && kept[i][8])
				dict_set_audit_hash(d, raw, kept[i][8]);
		if (dict_restore_runs(d, raw, runs, nruns))
			r->err = -ENOMEM;
		res->restored++;
	} else if (apply && !r->err && nd && !live) {
		res->expired++;
	}
	for (i = 0; i < filled; i++)
		for (k = 0; k < NAMES; k++)
			free(kept[i][k]);
}

int state_decode(struct dict *d, const uint8_t *p, size_t n, uint32_t version, int64_t now,
		 bool apply, int64_t *written, struct state_result *res)
{
	struct rbuf r = { .p = p, .n = n };
	const uint8_t *runs;
	uint32_t nsec, nruns, i;

	GET(&r, *written);
	GET(&r, nsec);
	for (i = 0; i < nsec && !r.err; i++)
		get_secret(&r, d, version, now, apply, res);
	runs = get_runs(&r, &nruns);	/* the loose runs */
	if (apply && !r.err && dict_restore_runs(d, UINT32_MAX, runs, nruns))
		r.err = -ENOMEM;
	if (!r.err && r.at != n)
		r.err = -EINVAL;
	return r.err;
}

int state_unseal(const struct state *s, const uint8_t *file, size_t n, uint8_t **plain,
		 size_t *plen, uint32_t *version, char *err, size_t errlen)
{
	*plain = NULL;
	if (n < MAGIC_LEN || memcmp(file, MAGIC, MAGIC_LEN)) {
		snprintf(err, errlen, "not a secretrace state file");
		return -EINVAL;
	}
	if (n < HEADER_LEN + crypto_secretbox_MACBYTES) {
		snprintf(err, errlen, "truncated (%zu bytes)", n);
		return -EINVAL;
	}
	memcpy(version, file + MAGIC_LEN, 4);
	if (*version < 1 || *version > STATE_VERSION) {
		snprintf(err, errlen, "format version %u, this tracer reads versions 1 to %u",
			 *version, STATE_VERSION);
		return -EINVAL;
	}
	if (sodium_memcmp(file + MAGIC_LEN + 4, s->key_id, STATE_KEY_ID_BYTES)) {
		snprintf(err, errlen, "written with another --key-file");
		return -EINVAL;
	}
	*plen = n - HEADER_LEN - crypto_secretbox_MACBYTES;
	*plain = malloc(*plen ? *plen : 1);
	if (!*plain) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (crypto_secretbox_open_easy(*plain, file + HEADER_LEN, n - HEADER_LEN,
				       file + MAGIC_LEN + 4 + STATE_KEY_ID_BYTES, s->box_key)) {
		snprintf(err, errlen, "corrupt or truncated (its authentication failed)");
		free(*plain);
		*plain = NULL;
		return -EINVAL;
	}
	return 0;
}

void state_set_key(struct state *s, const uint8_t fp_key[DICT_FP_KEY_BYTES])
{
	derive(s->box_key, sizeof(s->box_key), "secretrace state file key v1", fp_key);
	derive(s->key_id, sizeof(s->key_id), "secretrace state file key ID v1", fp_key);
}

int state_open(struct state *s, const char *path, const uint8_t fp_key[DICT_FP_KEY_BYTES],
	       char *err, size_t errlen)
{
	char pid[32] = "";
	ssize_t n;
	int ret;

	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	ret = keyfile_mkdir_parent(path, "state file", err, errlen);
	if (ret)
		return ret;
	if (asprintf(&s->path, "%s", path) < 0 || asprintf(&s->tmp, "%s.tmp", path) < 0 ||
	    asprintf(&s->lock, "%s.lock", path) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->lock_fd = open(s->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lock_fd < 0) {
		snprintf(err, errlen, "state file lock %s: %s", s->lock, strerror(errno));
		return -errno;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB)) {
		int e = errno;

		n = pread(s->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		if (e == EWOULDBLOCK)
			snprintf(err, errlen,
				 "state file %s is in use by another tracer (PID %s): two tracers "
				 "cannot share one; give this one another --state-file", path,
				 pid[0] ? pid : "unknown");
		else
			snprintf(err, errlen, "state file lock %s: %s", s->lock, strerror(e));
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(s->lock_fd, 0) || pwrite(s->lock_fd, pid, n, 0) != n)
		st_warn("state file lock %s: cannot write our PID: %s", s->lock, strerror(errno));
	state_set_key(s, fp_key);
	return 0;
}

/* The whole file, or NULL with errno (ENOENT: none yet). */
static uint8_t *read_whole(const char *path, size_t *n, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	uint8_t *p = NULL;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE) {
		snprintf(err, errlen, "%s", S_ISREG(st.st_mode) ? "larger than 1 GiB" :
					    "not a regular file");
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	p = malloc(st.st_size ? st.st_size : 1);
	while (p && got < (size_t)st.st_size) {
		ssize_t k = read(fd, p + got, st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += k;
	}
	close(fd);
	if (!p || got != (size_t)st.st_size) {
		snprintf(err, errlen, "cannot be read: %s", p ? "short read" : "out of memory");
		free(p);
		errno = EIO;
		return NULL;
	}
	*n = got;
	return p;
}

void state_load(struct state *s, struct dict *d, int64_t now, struct state_result *r)
{
	char why[160] = "", refused[PATH_MAX + 16];
	uint8_t *file, *plain = NULL;
	size_t n = 0, plen = 0;
	int64_t written = 0;
	uint32_t version = 0;

	memset(r, 0, sizeof(*r));
	r->gap_s = -1;
	file = read_whole(s->path, &n, why, sizeof(why));
	if (!file && errno == ENOENT)
		return;		/* the first run with this file */
	r->found = true;
	if (!file && !why[0])
		snprintf(why, sizeof(why), "%s", strerror(errno));
	if (file && !state_unseal(s, file, n, &plain, &plen, &version, why, sizeof(why)) &&
	    state_decode(d, plain, plen, version, now, false, &written, r))
		snprintf(why, sizeof(why), "corrupt (a record does not decode)");
	if (!why[0]) {
		state_decode(d, plain, plen, version, now, true, &written, r);
		r->gap_s = now > written ? now - written : 0;
		st_info("state file %s: %u secrets restored, %u expired, %u skipped; no tracer "
			"for %llds", s->path, r->restored, r->expired, r->skipped,
			(long long)r->gap_s);
	} else {
		/* kept aside to be looked at; this run starts empty and writes a new one */
		snprintf(refused, sizeof(refused), "%s.refused", s->path);
		if (rename(s->path, refused))
			refused[0] = 0;
		snprintf(r->refused, sizeof(r->refused), "%s", why);
		st_warn("state file %s refused: %s; starting with no restored secret%s%s", s->path,
			why, refused[0] ? ", kept as " : "", refused[0] ? refused : "");
	}
	free(plain);
	free(file);
}

void state_close(struct state *s)
{
	state_writer_stop(s);
	if (s->lock_fd >= 0)
		close(s->lock_fd);	/* the lock goes with it; the file stays for the next run */
	free(s->path);
	free(s->tmp);
	free(s->lock);
	sodium_memzero(s->box_key, sizeof(s->box_key));
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
}
