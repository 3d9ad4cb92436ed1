/* SPDX-License-Identifier: GPL-2.0 */
/* Learning, first stage: a Vault connection's bytes as HTTP/1.1 messages (libhttp-parser:
 * Content-Length and chunked bodies), and gzip/deflate bodies decoded with zlib. */
#ifndef SECRETRACE_LEARN_HTTP_H
#define SECRETRACE_LEARN_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/secmem.h"

#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_HEADER_BYTES (64 * 1024)

struct http_header {
	char *name;
	char *value;	/* may be a credential (X-Vault-Token): wiped when freed */
};

struct http_msg {
	bool is_request;
	char *method;
	char *url;
	int status;
	struct http_header hdr[HTTP_MAX_HEADERS];
	int nhdr;
	size_t header_bytes;
	struct secbuf body;
	bool body_over_limit;	/* the body was larger than the stream's max_body */
	uint64_t body_len;	/* bytes of body seen, kept or not */
	uint8_t head[256];	/* the body's first bytes, kept even when it is dropped */
	size_t head_len;	/* (Vault writes request_id first: a failure can name it) */
};

typedef void (*http_msg_fn)(void *ctx, struct http_msg *m);	/* takes ownership of m */
typedef bool (*http_skip_body_fn)(void *ctx);			/* response to HEAD? */

struct http_stream {
	http_parser parser;
	http_parser_settings settings;
	struct http_msg *cur;
	struct secbuf field, value;
	int last;		/* 1: header field, 2: header value */
	size_t max_body;
	bool failed;
	bool list_method;	/* the request being parsed is a LIST (fed as COPY) */
	char error[160];
	http_msg_fn on_message;
	http_skip_body_fn skip_body;
	void *ctx;
};

void http_stream_init(struct http_stream *s, bool requests, size_t max_body, http_msg_fn on_msg,
		      http_skip_body_fn skip_body, void *ctx);
/* Feed bytes; complete messages go to on_msg. Returns 0, or -1 once the stream is broken
 * (error holds the reason; later bytes are ignored). */
int http_stream_feed(struct http_stream *s, const uint8_t *data, size_t len);
/* A connection closed: a response delimited by the close is complete now. */
void http_stream_eof(struct http_stream *s);
/* No message is half-parsed. */
bool http_stream_idle(const struct http_stream *s);
void http_stream_free(struct http_stream *s);

const char *http_header(const struct http_msg *m, const char *name);
/* Build a message (HTTP/2 frames): a header (the first HTTP_MAX_HEADERS are kept), body
 * bytes (past max_body the body is dropped, its first bytes kept in head). 0 or -ENOMEM. */
int http_msg_add_header(struct http_msg *m, const void *name, size_t nlen, const void *value,
			size_t vlen);
int http_msg_add_body(struct http_msg *m, const void *at, size_t n, size_t max_body);
void http_msg_free(struct http_msg *m);
/* The body without its Content-Encoding (identity, gzip, x-gzip, deflate), at most max
 * bytes. Returns 0, or -1 with err set. */
int http_decode_body(const struct http_msg *m, size_t max, struct secbuf *out, char *err,
		     size_t errlen);

#endif
