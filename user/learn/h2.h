/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Learning over HTTP/2: a connection's two byte streams as frames, header blocks decoded
 * with nghttp2's HPACK decoder (one per direction, since the dynamic tables are), DATA
 * reassembled per stream. Each stream's request and response come out as the same
 * struct http_msg the HTTP/1.1 parser produces, so the Vault learning is shared.
 */
#ifndef SECRETRACE_LEARN_H2_H
#define SECRETRACE_LEARN_H2_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learn/http.h"

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24

/* Called with the stream's request (ownership passes) and later its response. */
typedef void (*h2_msg_fn)(void *ctx, uint32_t stream, struct http_msg *m);
/* Each header field the client sent, decoded, with its representation in the block (rep,
 * n bytes: an index, or a literal as it went on the wire). */
typedef void (*h2_field_fn)(void *ctx, const nghttp2_nv *nv, const uint8_t *rep, size_t n);

struct h2_stream {
	uint32_t id;
	struct http_msg *req;	/* being received from the client */
	struct http_msg *resp;	/* being received from the server */
	struct h2_stream *next;
};

struct h2_dir {
	struct secbuf pending;	/* bytes of a frame not complete yet */
	size_t skip;		/* the client preface still to skip */
	nghttp2_hd_inflater *hd;
	uint32_t block_stream;	/* a header block spanning CONTINUATION frames */
	uint8_t block_flags;
	struct secbuf block;
};

struct h2_conn {
	struct h2_dir dir[2];	/* 0: client to server, 1: server to client */
	struct h2_stream *streams;
	size_t max_body;
	h2_msg_fn on_request, on_response;
	h2_field_fn on_field;	/* optional */
	bool fields_only;	/* the client's header fields go to on_field, nothing else is kept */
	void *ctx;
	bool failed;
	char error[160];
};

int h2_init(struct h2_conn *c, size_t max_body, h2_msg_fn on_request, h2_msg_fn on_response,
	    void *ctx);
/* Feed bytes of one direction (from_server: the responses). Returns 0, or -1 once the
 * connection cannot be followed (error says why). */
int h2_feed(struct h2_conn *c, bool from_server, const uint8_t *data, size_t len);
/* From now on only the client's header fields matter (to on_field): no message is kept. */
void h2_fields_only(struct h2_conn *c);
/* No response is half received. */
bool h2_idle(const struct h2_conn *c);
void h2_free(struct h2_conn *c);
/* Does a client's first bytes start HTTP/2 (the preface)? */
bool h2_is_preface(const uint8_t *data, size_t len);

#endif
