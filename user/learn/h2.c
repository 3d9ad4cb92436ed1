// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/h2.h"

#define FRAME_HEADER 9
#define FRAME_MAX (1u << 20)	/* peers may raise SETTINGS_MAX_FRAME_SIZE; this is ours */

enum { DATA = 0, HEADERS = 1, PRIORITY = 2, RST_STREAM = 3, SETTINGS = 4, PUSH_PROMISE = 5,
       PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9 };
enum { END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4, PADDED = 0x8, PRIO = 0x20 };

static int fail(struct h2_conn *c, const char *why)
{
	c->failed = true;
	snprintf(c->error, sizeof(c->error), "HTTP/2: %s", why);
	return -1;
}

bool h2_is_preface(const uint8_t *data, size_t len)
{
	return len >= H2_PREFACE_LEN && !memcmp(data, H2_PREFACE, H2_PREFACE_LEN);
}

int h2_init(struct h2_conn *c, size_t max_body, h2_msg_fn on_request, h2_msg_fn on_response,
	    void *ctx)
{
	memset(c, 0, sizeof(*c));
	c->max_body = max_body;
	c->on_request = on_request;
	c->on_response = on_response;
	c->ctx = ctx;
	c->dir[0].skip = H2_PREFACE_LEN;
	if (nghttp2_hd_inflate_new(&c->dir[0].hd) || nghttp2_hd_inflate_new(&c->dir[1].hd))
		return -ENOMEM;
	return 0;
}

static void stream_free(struct h2_stream *st)
{
	http_msg_free(st->req);
	http_msg_free(st->resp);
	free(st);
}

static void streams_free(struct h2_conn *c)
{
	while (c->streams) {
		struct h2_stream *st = c->streams;

		c->streams = st->next;
		stream_free(st);
	}
}

void h2_fields_only(struct h2_conn *c)
{
	c->fields_only = true;
	streams_free(c);
}

void h2_free(struct h2_conn *c)
{
	int i;

	streams_free(c);
	for (i = 0; i < 2; i++) {
		secbuf_free(&c->dir[i].pending);
		secbuf_free(&c->dir[i].block);
		if (c->dir[i].hd)
			nghttp2_hd_inflate_del(c->dir[i].hd);
		c->dir[i].hd = NULL;
	}
}

static struct h2_stream *stream_of(struct h2_conn *c, uint32_t id)
{
	struct h2_stream *st;

	for (st = c->streams; st; st = st->next)
		if (st->id == id)
			return st;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->id = id;
	st->next = c->streams;
	c->streams = st;
	return st;
}

static void stream_drop(struct h2_conn *c, uint32_t id)
{
	struct h2_stream **pp, *st;

	for (pp = &c->streams; (st = *pp); pp = &st->next)
		if (st->id == id) {
			*pp = st->next;
			stream_free(st);
			return;
		}
}

/* The message being received on a stream in this direction. */
static struct http_msg *msg_of(struct h2_stream *st, bool from_server)
{
	struct http_msg **m = from_server ? &st->resp : &st->req;

	if (!*m) {
		*m = calloc(1, sizeof(**m));
		if (*m)
			(*m)->is_request = !from_server;
	}
	return *m;
}

/* The stream's message in this direction is complete: hand it over. */
static void complete(struct h2_conn *c, struct h2_stream *st, bool from_server)
{
	struct http_msg *m = from_server ? st->resp : st->req;

	if (!m)
		return;
	if (from_server) {
		st->resp = NULL;
		c->on_response(c->ctx, st->id, m);
		stream_drop(c, st->id);
	} else {
		st->req = NULL;
		c->on_request(c->ctx, st->id, m);
	}
}

static int header_block(struct h2_conn *c, struct h2_dir *d, bool from_server)
{
	const uint8_t *in = d->block.data ? d->block.data : (const uint8_t *)"";
	size_t left = d->block.len;
	struct h2_stream *st = c->fields_only ? NULL : stream_of(c, d->block_stream);
	struct http_msg *m = st ? msg_of(st, from_server) : NULL;

	if (!m && !c->fields_only)
		return fail(c, "out of memory");
	for (;;) {
		nghttp2_nv nv;
		int flags = 0;
		ssize_t n = nghttp2_hd_inflate_hd2(d->hd, &nv, &flags, in, left, 1);

		if (n < 0)
			return fail(c, "header block does not decode (HPACK)");
		if ((flags & NGHTTP2_HD_INFLATE_EMIT) && !from_server && c->on_field)
			c->on_field(c->ctx, &nv, in, n);
		in += n;
		left -= n;
		if ((flags & NGHTTP2_HD_INFLATE_EMIT) && m) {
			if (nv.namelen == 7 && !memcmp(nv.name, ":method", 7)) {
				free(m->method);
				m->method = strndup((const char *)nv.value, nv.valuelen);
			} else if (nv.namelen == 5 && !memcmp(nv.name, ":path", 5)) {
				free(m->url);
				m->url = strndup((const char *)nv.value, nv.valuelen);
			} else if (nv.namelen == 7 && !memcmp(nv.name, ":status", 7)) {
				m->status = atoi((const char *)nv.value);
			} else if (http_msg_add_header(m, nv.name, nv.namelen, nv.value,
						       nv.valuelen)) {
				return fail(c, "out of memory");
			}
		}
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(d->hd);
			break;
		}
		if (!left && !(flags & NGHTTP2_HD_INFLATE_EMIT))
			break;
	}
	secbuf_reset(&d->block);
	if (m && d->block_flags & END_STREAM)
		complete(c, st, from_server);
	d->block_stream = 0;
	return 0;
}

/* Payload without padding (and without the priority fields of HEADERS). */
static int unpad(struct h2_conn *c, uint8_t type, uint8_t flags, const uint8_t **p, size_t *len)
{
	size_t pad = 0;

	if (flags & PADDED && (type == DATA || type == HEADERS || type == PUSH_PROMISE)) {
		if (!*len)
			return fail(c, "frame too short");
		pad = (*p)[0];
		(*p)++;
		(*len)--;
	}
	if (type == HEADERS && flags & PRIO) {
		if (*len < 5)
			return fail(c, "frame too short");
		*p += 5;
		*len -= 5;
	}
	if (type == PUSH_PROMISE) {
		if (*len < 4)
			return fail(c, "frame too short");
		*p += 4;
		*len -= 4;
	}
	if (pad > *len)
		return fail(c, "padding longer than the frame");
	*len -= pad;
	return 0;
}

static int frame(struct h2_conn *c, bool from_server, uint8_t type, uint8_t flags, uint32_t id,
		 const uint8_t *p, size_t len)
{
	struct h2_dir *d = &c->dir[from_server];
	struct h2_stream *st;
	size_t i;

	if (d->block_stream && type != CONTINUATION)
		return fail(c, "header block interrupted");
	/* RFC 9113 6.1, 6.2, 6.10: a connection error; stream 0 also means "no block" above */
	if (!id && (type == DATA || type == HEADERS || type == PUSH_PROMISE || type == CONTINUATION))
		return fail(c, "a stream's frame on stream 0");
	switch (type) {
	case HEADERS:
	case PUSH_PROMISE:
		if (unpad(c, type, flags, &p, &len))
			return -1;
		d->block_stream = id;
		d->block_flags = type == HEADERS ? flags : flags & ~END_STREAM;
		if (secbuf_append(&d->block, p, len))
			return fail(c, "out of memory");
		return flags & END_HEADERS ? header_block(c, d, from_server) : 0;
	case CONTINUATION:
		if (!d->block_stream || id != d->block_stream)
			return fail(c, "CONTINUATION without its HEADERS");
		if (secbuf_append(&d->block, p, len))
			return fail(c, "out of memory");
		return flags & END_HEADERS ? header_block(c, d, from_server) : 0;
	case DATA:
		if (c->fields_only)
			return 0;
		if (unpad(c, type, flags, &p, &len))
			return -1;
		st = stream_of(c, id);
		if (!st || !msg_of(st, from_server) ||
		    http_msg_add_body(msg_of(st, from_server), p, len, c->max_body))
			return fail(c, "out of memory");
		if (flags & END_STREAM)
			complete(c, st, from_server);
		return 0;
	case SETTINGS:
		/* the table size one side allows is what the other side's encoder may use */
		for (i = 0; !(flags & ACK) && i + 6 <= len; i += 6) {
			uint16_t sid = p[i] << 8 | p[i + 1];
			uint32_t v = (uint32_t)p[i + 2] << 24 | p[i + 3] << 16 | p[i + 4] << 8 | p[i + 5];

			if (sid == 1 && nghttp2_hd_inflate_change_table_size(c->dir[!from_server].hd, v))
				return fail(c, "bad SETTINGS_HEADER_TABLE_SIZE");
		}
		return 0;
	case RST_STREAM:
		stream_drop(c, id);
		return 0;
	default:	/* PRIORITY, PING, GOAWAY, WINDOW_UPDATE, extensions: nothing to learn */
		return 0;
	}
}

int h2_feed(struct h2_conn *c, bool from_server, const uint8_t *data, size_t len)
{
	struct h2_dir *d = &c->dir[from_server];
	size_t off = 0;

	if (c->failed)
		return -1;
	if (d->skip) {
		size_t n = len < d->skip ? len : d->skip;

		if (memcmp(data, H2_PREFACE + H2_PREFACE_LEN - d->skip, n))
			return fail(c, "no client preface");
		d->skip -= n;
		data += n;
		len -= n;
	}
	if (secbuf_append(&d->pending, data, len))
		return fail(c, "out of memory");
	while (d->pending.len - off >= FRAME_HEADER) {
		const uint8_t *h = d->pending.data + off;
		uint32_t flen = (uint32_t)h[0] << 16 | h[1] << 8 | h[2];
		uint32_t id = ((uint32_t)h[5] << 24 | h[6] << 16 | h[7] << 8 | h[8]) & 0x7fffffff;

		if (flen > FRAME_MAX)
			return fail(c, "frame larger than 1 MiB");
		if (d->pending.len - off < FRAME_HEADER + flen)
			break;
		if (frame(c, from_server, h[3], h[4], id, h + FRAME_HEADER, flen))
			return -1;
		off += FRAME_HEADER + flen;
	}
	/* keep the incomplete frame's bytes at the start (wiping what was consumed) */
	if (off) {
		size_t rest = d->pending.len - off;

		memmove(d->pending.data, d->pending.data + off, rest);
		secmem_wipe(d->pending.data + rest, off);
		d->pending.len = rest;
	}
	return 0;
}

bool h2_idle(const struct h2_conn *c)
{
	const struct h2_stream *st;

	if (c->failed)
		return true;
	if (c->dir[1].pending.len || c->dir[1].block_stream)
		return false;
	for (st = c->streams; st; st = st->next)
		if (st->resp)
			return false;
	return true;
}
