/* SPDX-License-Identifier: GPL-2.0 */
/* The ring buffer's records, dispatched in order to the stages that use them. */
#ifndef SECRETRACE_EVENTS_H
#define SECRETRACE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct probes;
struct dict;
struct ring_buffer;

struct events_ctx {
	struct probes *probes;
	struct dict *dict;
	uint64_t records;
	/* the events ring: read up to now before a Vault record (a ring of its own, read
	 * first) of a process whose exec or fork record has not been read yet */
	struct ring_buffer *events_rb;
};

int events_init(struct events_ctx *c, struct probes *p, struct dict *d);
void events_free(void);
/* ring_buffer callback */
int events_handle(void *ctx, void *data, size_t size);
/* After each pass over the Vault ring: forget the Vault connections of the processes whose
 * exit was read before it (an exit waits for that pass: its last Vault records may follow). */
void events_vault_done(void);
/* Emit the process.start events that are due (all of them, or one pid's). */
void events_flush_starts(uint64_t now_boot_ns, bool all, uint32_t pid);
/* Resolve a Vault address (URL or host:port) and watch connections to it; named: a
 * --vault-addr (learn/conn.h, learner_named_server). */
int events_watch_vault_addr(const char *url, bool named, char *err, size_t errlen);

#endif
