/* SPDX-License-Identifier: GPL-2.0 */
/* Enrichment of where bytes went: socket peers, file paths, sink kinds, and the
 * destinations a process connected to (when the kernel socket no longer says). */
#ifndef SECRETRACE_ENRICH_H
#define SECRETRACE_ENRICH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secretrace.h"

int enrich_init(void);
void enrich_free(void);
/* "ip" and port of an address; ip empty when the address is not inet. */
void enrich_addr(const struct st_addr *a, char *ip, size_t iplen, int *port);
void enrich_connect(const struct st_rec_connect *r);
void enrich_exit(uint32_t pid);
/* Where a use went, as events and policies name it. */
struct sink_view {
	const char *sink;		/* socket, file, pipe, tty, argv, env */
	const char *transport;		/* tcp, udp, unix (sockets) */
	char ip[46];			/* the peer's address ("" if none) */
	int port;
	char address[ST_PATH_MAX];	/* a unix socket peer's path */
	char file[ST_PATH_MAX];		/* file or tty path, pipe:[inode] */
	const char *domain;		/* TLS SNI or HTTP Host seen on the socket */
	bool path_truncated;
	uint32_t pid;			/* the writer */
	uint64_t ino;			/* pipe, or unix peer socket */
};

void enrich_view(uint32_t pid, int32_t fd, const struct st_sinkinfo *si, const char *path,
		 struct sink_view *v);
/* secretrace.sink, destination.*, network.transport, file.path, secretrace.peer.* */
void enrich_sink(json_t *ev, const struct sink_view *v);
/* A short key naming the sink (for repeat aggregation). */
void enrich_sink_key(const struct sink_view *v, char *out, size_t outlen);
/* The first bytes a process wrote to a socket: the TLS SNI or HTTP Host they name. */
void enrich_peek(const struct st_rec_data *r);
const char *transport_name(uint32_t t);

#endif
