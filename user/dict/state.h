/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The state file (--state-file): what the dictionary learned, as keyed hashes and public
 * names (never a value), so that a restarted tracer still knows the secrets agents hold.
 * Sealed with a key derived from the installation's key file: alone, the file says nothing.
 * Written whole to PATH.tmp, fsync'ed and renamed over PATH, so a kill at any moment leaves
 * the old file or the new one. PATH.lock, flock'ed for the run, names the tracer using it.
 */
#ifndef SECRETRACE_STATE_H
#define SECRETRACE_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#include "dict/dict.h"
#include "lib/redact.h"

#define STATE_VERSION 2	/* 2: each secret with its redactor runs; 1 is read too */
#define STATE_KEY_ID_BYTES 16
#define STATE_INTERVAL_S 10	/* at most one write this often, and only after a change */

struct state {
	char *path, *tmp, *lock;
	int lock_fd;
	uint8_t box_key[crypto_secretbox_KEYBYTES];
	uint8_t key_id[STATE_KEY_ID_BYTES];
	int64_t last_write;		/* Unix seconds: the last snapshot handed to the writer */
	/* The writer thread (state_write.c) seals, writes, fsyncs and renames off the event
	 * loop; the loop encodes the snapshot (the dictionary is the loop's alone) and hands
	 * it over. Under mu: */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool started, stop, busy;
	uint8_t *pending;		/* the body to write next, or NULL */
	size_t npending;
	uint64_t pending_changes;	/* what the pending body holds, as saved_changes counts */
	uint64_t saved_changes;		/* dict->changes + the redactor's generation, written */
	uint64_t writes, write_failed;
	int unreported;			/* a failed write's -errno, for the loop to log */
};

/* What a start made of the file. */
struct state_result {
	bool found;			/* there was a file */
	uint32_t restored;		/* secrets put back */
	uint32_t expired;		/* not put back: every lease had ended */
	uint32_t skipped;		/* not put back: known already, or no room (counted) */
	int64_t gap_s;			/* from the file's writing to this start; -1 unknown */
	char refused[200];		/* why the file was not used, "" if it was (or none) */
};

/* The keys that must be the same from run to run for restored fingerprints to match:
 * the kernel's (st_keys) and the redactor's, derived from the installation key. */
void state_derive_keys(const uint8_t fp_key[DICT_FP_KEY_BYTES], struct st_keys *k,
		       uint8_t run_key[REDACT_KEY_BYTES]);
/* Take path for this run (its lock; the directory is made if absent). -EBUSY if another
 * tracer holds it, with a message naming its PID. */
int state_open(struct state *s, const char *path, const uint8_t fp_key[DICT_FP_KEY_BYTES],
	       char *err, size_t errlen);
/* Put the file's secrets back into d (and their runs into the redactor). A file that cannot
 * be used is renamed PATH.refused, and r->refused says why; never fails otherwise. */
void state_load(struct state *s, struct dict *d, int64_t now, struct state_result *r);
/* Write the state now and wait for the write (the exit's): 0 or -errno (logged, counted
 * in write_failed). */
int state_save(struct state *s, const struct dict *d, int64_t now);
/* From the event loop: if something changed and STATE_INTERVAL_S have passed, the state
 * handed to the writer thread (not waited for); a failed write is logged and counted here,
 * and tried again. */
void state_tick(struct state *s, const struct dict *d, int64_t now);
/* The writer thread stopped, after the write it holds (state_close calls it). */
void state_writer_stop(struct state *s);
void state_close(struct state *s);

/* The file's key and key ID, from the installation key (state_open calls it). */
void state_set_key(struct state *s, const uint8_t fp_key[DICT_FP_KEY_BYTES]);
/* The file's layers, for the loader and its fuzz target. Unseal: the header checked and
 * the body decrypted into *plain (malloc'ed), *version the body's format; 0 or -EINVAL
 * with why in err. */
int state_unseal(const struct state *s, const uint8_t *file, size_t n, uint8_t **plain,
		 size_t *plen, uint32_t *version, char *err, size_t errlen);
/* A body sealed into a whole file (malloc'ed): 0 or -ENOMEM. */
int state_seal(const struct state *s, const uint8_t *body, size_t n, uint8_t **file,
	       size_t *fn);
/* The body of d's state at now (malloc'ed): 0 or -ENOMEM. */
int state_encode(const struct dict *d, int64_t now, uint8_t **body, size_t *n);
/* Decode a body of format version: with apply false only check it (0 or -EINVAL); with
 * apply true put its unexpired secrets into d (and their runs into the redactor), counting
 * them in r. *written gets the time it was written. */
int state_decode(struct dict *d, const uint8_t *p, size_t n, uint32_t version, int64_t now,
		 bool apply, int64_t *written, struct state_result *r);

#endif
