/* SPDX-License-Identifier: GPL-2.0 */
/*
 * No race between learning and use. While a Vault response is on its way to the learner
 * (the kernel's in_seq is ahead of learned_seq), the kernel also copies every outgoing
 * buffer here. Once the learner has caught up, the held buffers are rescanned for the
 * secrets learned since the kernel scanned them, then wiped.
 */
#ifndef SECRETRACE_HOLD_H
#define SECRETRACE_HOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "secretrace.h"

struct dict;

struct hold_shared {
	volatile __u64 *in_seq;	/* kernel: Vault reads handed to the learner */
	volatile __u64 *learned_seq;	/* ours: learned up to here */
	volatile __u64 *hold_bytes;	/* kernel: bytes held since the last release */
};

int hold_init(struct dict *d, const struct hold_shared *shared);
void hold_free(void);
/* The kernel reported secret in call call_id: a rescan of that call, if it is held, must
 * not report it again (a call naming many secrets sends them in several batches, and the
 * held copy lists only the last). */
void hold_note_found(uint64_t call_id, uint32_t secret);
/* A held call's bytes; with the learner idle, a complete call is rescanned at once. */
void hold_data(const struct st_rec_data *r, bool learner_idle);
/* Everything up to seq is learned: rescan, report, wipe (calls whose last record is still
 * to come wait for it, and calls that wait for later Vault reads: those come in their own
 * ring, maybe not read yet), let the kernel stop holding. */
void hold_release(uint64_t seq);
/* At the end, everything consumed: rescan what is still queued, calls whose last record
 * never came (lost to a full ring) too. */
void hold_flush(void);
/* Release a hold the learner is not waiting on anymore (records lost, no response). */
void hold_tick(uint64_t now_boot_ns, int learner_idle);
uint64_t hold_rescanned_bytes(void);
/* Held bytes userspace could not rescan (counted with the kernel's hold_overflow). */
uint64_t hold_dropped_bytes(void);

#endif
