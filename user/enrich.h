/* SPDX-License-Identifier: GPL-2.0 */
/* Enrichment of where bytes went: socket peers, file paths, sink kinds, and the
 * destinations a process connected to (when the kernel socket no longer says). */
#ifndef SECRETRACE_ENRICH_H
#define SECRETRACE_ENRICH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "secretrace.h"

int enrich_init(void);
void enrich_free(void);
/* "ip" and port of an address; ip empty when the address is not inet. */
void enrich_addr(const struct st_addr *a, char *ip, size_t iplen, int *port);
void enrich_connect(const struct st_rec_connect *r);
void enrich_exit(uint32_t pid);
/* secretrace.sink, destination.*, network.transport, file.path of a use. */
void enrich_sink(json_t *ev, uint32_t pid, int32_t fd, const struct st_sinkinfo *si,
		 const char *path);
/* A short key naming the sink (for repeat aggregation). */
void enrich_sink_key(uint32_t pid, int32_t fd, const struct st_sinkinfo *si, const char *path,
		     char *out, size_t outlen);
const char *transport_name(uint32_t t);

#endif
