/* SPDX-License-Identifier: GPL-2.0 */
/* Secret material in memory: the process's pages are locked (never swapped), core dumps
 * are off, and buffers that held plaintext are wiped before they are freed. */
#ifndef SECRETRACE_SECMEM_H
#define SECRETRACE_SECMEM_H

#include <stddef.h>
#include <stdint.h>

/* Call first thing; returns 0, or -errno if sodium could not start. */
int secmem_init(void);
void secmem_wipe(void *p, size_t n);
/* In a child about to exec: undo what secmem_init changed for this process. */
void secmem_child_restore(void);

/* A growable byte buffer whose old and freed storage is wiped. */
struct secbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

int secbuf_append(struct secbuf *b, const void *p, size_t n);
void secbuf_reset(struct secbuf *b);	/* wipe, keep storage */
void secbuf_free(struct secbuf *b);	/* wipe, release storage */

#endif
