/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dictionary: every learned secret as keyed fingerprints in the BPF maps (prefilter
 * bits, window tags, one confirmation hash), plus what userspace needs to name it (Vault
 * request ID, path, field) and a userspace twin of the kernel's scan for held buffers.
 * Plaintext is passed in, fingerprinted and forgotten; the dictionary never keeps it.
 */
#ifndef SECRETRACE_DICT_H
#define SECRETRACE_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secretrace.h"
#include "fingerprint.h"
#include "lib/strpool.h"
#include "lib/u64map.h"

#define DICT_FP_KEY_BYTES 32
#define DICT_FP_HEX 33
#define DICT_MAX_DELIVERIES 8

enum secret_source {
	SECRET_FROM_RESPONSE = 0,	/* in a Vault response the process read */
	SECRET_PRESENTED,		/* a credential the process sent to Vault */
	SECRET_FROM_ENV,		/* VAULT_TOKEN (or --learn-env) in the process's environment */
	SECRET_FROM_FILE,		/* a delivered file (--learn-file) */
};

/* secret.source's word for it: response, request, env, file. */
const char *secret_source_name(enum secret_source s);

/* Where a secret came from: one Vault response (or request) to one process. */
struct secret_origin {
	const char *request_id;
	const char *path;
	const char *ns;
	const char *field;
	const char *lease_id;
	const char *correlation_id;
	const char *server;		/* "ip:port" of the Vault server */
	const char *file;		/* the delivered file it was learned from */
	uint32_t pid;
	uint64_t start_ns;		/* the process's start, with pid its identity */
	uint64_t ts_ns;
	int64_t expires;		/* the lease's end (Unix seconds), 0 without a lease */
	enum secret_source source;
};

/* The strings are shared (strpool): not to be written to, or replaced but through dict. */
struct delivery {
	char *request_id, *path, *ns, *field, *lease_id, *correlation_id, *server, *file;
	char *audit_hash;	/* the value's HMAC in Vault's audit log (--vault-audit-hash) */
	uint32_t pid;
	uint64_t start_ns;
	uint64_t ts_ns;
	int64_t expires;	/* its lease's end (Unix seconds), 0 without a lease */
	enum secret_source source;
};

/* What only the secret itself (its raw form, or a marker) carries: its fingerprint and the
 * deliveries, DICT_MAX_DELIVERIES at most, newest last, the oldest dropped. */
struct secret_info {
	char fingerprint[DICT_FP_HEX];
	uint8_t ndeliv, dcap;	/* DICT_MAX_DELIVERIES at most */
	uint32_t nruns;
	struct delivery *deliv;
	uint8_t *runs;		/* with dict_keep_windows: its redactor runs, 6 bytes each */
};

/* One dictionary entry: a secret, or one of its encoded forms. 24 bytes, as there are nine
 * or so per secret. */
struct secret_entry {
	uint32_t len;		/* of the value (of this form) */
	uint32_t gen;		/* dictionary generation that added it */
	uint32_t link;		/* a form: the raw form's index; the secret itself (encoding
				 * ENC_RAW: raw form or marker): its secret_info's index */
	uint8_t flags;		/* ST_SECRET_MARKER */
	uint8_t encoding;	/* enum secret_encoding */
	uint64_t hash;		/* st_confirm_hash of the first min(len, ST_MAX_SECRET_LEN) bytes */
};

/* The BPF side the dictionary writes to; with fds < 0 it keeps everything in memory. */
struct dict_bpf {
	int windows_fd;
	int secrets_fd;
	uint64_t *prefilter;	/* mmapped bitmap of 2^ST_PREFILTER_BITS_LOG2_MAX bits */
	volatile uint32_t *mask;
	volatile uint32_t *have_short;
	volatile uint32_t *gen;
	volatile uint32_t *carry_want;	/* the longest form indexed - 1 (ST_CARRY at most) */
};

struct dict {
	struct dict_bpf bpf;
	struct st_keys keys;
	uint8_t fp_key[DICT_FP_KEY_BYTES];
	struct secret_entry *secrets;
	uint32_t nsecrets;
	size_t cap;
	struct secret_info *infos;	/* one per secret (and marker), linked from its entry */
	uint32_t ninfos;
	size_t infocap;
	uint32_t gen;
	struct u64map by_fp;		/* first 8 fingerprint bytes -> index + 1 */
	struct strpool strings;		/* the deliveries' */
	struct u64map mem_windows;	/* without BPF: (tag, idx) -> packed struct st_window */
	uint64_t *pf_hashes;		/* every prefilter hash set, to regrow the bitmap
				 * (NULL once it is full size) */
	uint32_t npf;			/* windows set in the bitmap */
	size_t pfcap;
	uint64_t *own_prefilter;
	uint32_t own_mask, own_short, own_gen, own_carry;
	uint64_t chain_overflow;
	uint64_t changes;		/* entries and deliveries added or named: the state file's */
	/* with dict_keep_windows: each entry's window tags and prefilter hashes (without the
	 * low 16 bits, which pick no bit), ST_LONG_WINDOW a entry, for the state file */
	bool keep_windows;
	uint32_t *win_tags;
	uint64_t *win_pf;
	size_t wincap;
	/* runs of no known secret (a version 1 state file's), written again as they are */
	uint8_t *loose_runs;
	uint32_t nloose;
};

/* An entry as the state file keeps it: what the kernel's maps need, no value. */
struct dict_entry_rec {
	uint32_t len;
	uint8_t encoding;
	uint64_t hash;
	uint32_t tag[ST_LONG_WINDOW];
	uint64_t pf[ST_LONG_WINDOW];
};

/* Windows an entry of len bytes indexes. */
static inline uint32_t dict_windows(uint32_t len)
{
	return len < ST_LONG_MIN_LEN ? ST_SHORT_WINDOW : ST_LONG_WINDOW;
}

/* bpf may be NULL: an in-memory dictionary (tests, correlate). keys NULL: random keys. */
int dict_init(struct dict *d, const struct dict_bpf *bpf, const struct st_keys *keys,
	      const uint8_t fp_key[DICT_FP_KEY_BYTES]);
void dict_free(struct dict *d);
void dict_random_keys(struct st_keys *k);
/* Keep every entry's windows from now on (before the first entry), for dict_entry_rec. */
void dict_keep_windows(struct dict *d);
/* Entry idx as the state file keeps it (with dict_keep_windows). */
void dict_entry_rec(const struct dict *d, uint32_t idx, struct dict_entry_rec *r);
/* Put back a secret (fp set: its raw form, *idx its index) or one of its forms (fp NULL,
 * parent the secret's index) from a state file: 0 or -errno (-EINVAL: a bad record). */
int dict_restore_entry(struct dict *d, const struct dict_entry_rec *r, const char *fp,
		       uint32_t parent, uint32_t *idx);

/* A secret's redactor runs (runs.c), kept with it for the state file so that those of a
 * forgotten or expired secret are not written: a list as redact_add_seen gives them. */
struct run_list {
	uint64_t *v;
	size_t n, cap;
};
int run_list_add(void *ctx, uint64_t run);
/* The runs of the secret of raw entry idx: l's, deduplicated (l is sorted in place). */
int dict_set_runs(struct dict *d, uint32_t idx, struct run_list *l);
/* From a state file: n runs (6 bytes each) into the redactor, kept as those of the secret
 * of raw entry idx, or (idx UINT32_MAX) as loose runs. -ENOMEM or 0. */
int dict_restore_runs(struct dict *d, uint32_t idx, const uint8_t *runs, uint32_t n);

/* Add a secret and its encoded forms (or a delivery of a known one). *idx gets the raw
 * form's index; returns 1 if the secret is new, 0 if known, -errno on failure. value is
 * not kept. Values shorter than ST_MIN_SECRET_LEN are refused with -EINVAL. */
int dict_add(struct dict *d, const uint8_t *value, size_t len, const struct secret_origin *o,
	     uint32_t *idx);
/* Is value a learned secret (not counting markers)? */
bool dict_find(const struct dict *d, const uint8_t *value, size_t len, uint32_t *idx);
/* A request marker (not a secret): a match marks the connection as Vault's. */
int dict_add_marker(struct dict *d, const char *text);
/* Stop tracking the secret of raw entry idx and its forms (a value rotated out): the kernel's
 * and the userspace scan confirm it no more, dict_find no longer finds it (learned again, it
 * is a new secret). Its fingerprint and deliveries stay for events already on their way.
 * 0, or -errno when the kernel's map could not be told (the kernel may still report it). */
int dict_forget(struct dict *d, uint32_t idx);
/* Publish the secrets added since the last commit (bumps the generation). */
void dict_commit(struct dict *d);

/* An entry (a secret or one of its forms); dict_secret() gives the secret itself. */
const struct secret_entry *dict_get(const struct dict *d, uint32_t idx);
const struct secret_entry *dict_secret(const struct dict *d, uint32_t idx);
/* The secret's fingerprint (hex), for any of its forms. */
const char *dict_fp(const struct dict *d, uint32_t idx);
/* The newest delivery of the secret of entry idx, or NULL. */
struct delivery *dict_newest_delivery(struct dict *d, uint32_t idx);
/* Add a delivery of a known secret (a restored one); -ENOMEM or 0. */
int dict_add_delivery(struct dict *d, uint32_t idx, const struct secret_origin *o);
/* The lease of the newest delivery of the secret of entry idx ends at expires (Unix s). */
void dict_set_lease_end(struct dict *d, uint32_t idx, int64_t expires);
/* Name the Vault request that delivered v, if it named none yet; -ENOMEM or 0. */
int dict_set_request_id(struct dict *d, struct delivery *v, const char *request_id);
/* The HMAC Vault's audit device gives the secret of entry idx, on each of its deliveries
 * (and those to come); -ENOMEM or 0. */
int dict_set_audit_hash(struct dict *d, uint32_t idx, const char *hash);
/* The delivery to name for a use by pid at at_ns (boot ns; 0: now): its own newest made by
 * then (a write rescanned after a later answer gave pid the same value again names the
 * answer it was sent with), else its own newest, else the newest. */
const struct delivery *dict_delivery_for(const struct dict *d, uint32_t idx, uint32_t pid,
				       uint64_t at_ns);
void dict_fingerprint(const struct dict *d, const uint8_t *value, size_t len,
		      char out[DICT_FP_HEX]);

/* The kernel's scan, in userspace: calls found(idx, offset) for every secret whose
 * occurrence is found in buf, exactly as the BPF programs would. */
typedef void (*dict_found_fn)(void *ctx, uint32_t idx, uint64_t offset);
void dict_scan(const struct dict *d, const uint8_t *buf, size_t len, dict_found_fn found,
	       void *ctx);

/* The confirmation hash, as the kernel computes it. */
uint64_t dict_confirm_hash(const struct st_keys *k, const uint8_t *p, size_t len);

#endif
