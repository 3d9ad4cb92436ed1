/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one redactor every string leaving the program passes: it knows a keyed 64-bit hash
 * of every 8-byte run of every learned secret (not the secrets) and refuses any string
 * containing one. Runs that also occur in a secret's public metadata (Vault path, lease
 * ID, field name) are not indexed: they are not secret. Runs are hashed with ASCII case,
 * and base64's two alphabets ('-' '_' against '+' '/'), folded: a secret's hex in either
 * case and its base64 in either alphabet share runs.
 *
 * Layout: the hash's top 16 bits pick one of 65,536 buckets, each a sorted array of the
 * next 32 bits, so a run costs about 4 bytes and the set grows one small bucket at a time
 * (no whole-table rehash). A 48-bit match is false about runs / 2^48 per window: that
 * refuses a clean string or over-masks 8 bytes, never lets a secret through.
 */
#ifndef SECRETRACE_REDACT_H
#define SECRETRACE_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REDACT_RUN 8
#define REDACTED "[redacted]"

#define REDACT_KEY_BYTES 16

int redact_init(void);
/* Hash runs with key instead of init's random one (before the first run is added): a set
 * exported under the same key can be imported again (the state file). -EBUSY if late. */
int redact_set_key(const uint8_t key[REDACT_KEY_BYTES]);
/* A run given by redact_add_seen back; -EINVAL if it has more than 48 bits, -ENOMEM. */
int redact_import(uint64_t run);
void redact_free(void);
/* Index the runs of a secret; publics is a NULL-terminated list of public strings. */
int redact_add(const uint8_t *secret, size_t len, const char *const *publics);
/* The same, and each run indexed given to seen (the 48 bits that decide a match), so that
 * a secret's runs can be kept with it (the state file); -ENOMEM if seen fails. */
int redact_add_seen(const uint8_t *secret, size_t len, const char *const *publics,
		    int (*seen)(void *ctx, uint64_t run), void *ctx);
/* Does s contain a run of a learned secret? */
bool redact_contains(const char *s, size_t n);
/* Overwrite every run of a learned secret in s with '*'; returns how many bytes. */
size_t redact_buffer(char *s, size_t n);
/* Changes whenever a run is added: a string checked before may not pass now. */
uint64_t redact_generation(void);
/* Count n refusals more, or fewer (an event rendered from a template redacted once). */
void redact_recount(int64_t n);
/* Strings refused since start (events and diagnostics). */
uint64_t redact_count(void);
/* Bytes the run set holds now: bucket headers plus the arrays' capacities. */
size_t redact_memory(void);

#endif
