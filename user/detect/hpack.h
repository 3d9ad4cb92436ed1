/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Secrets in HTTP/2 header fields that the kernel's scan cannot see on the wire: a field
 * sent again by its HPACK dynamic table index (one byte), or Huffman-coded when the secret
 * is too short for its Huffman forms to be indexed (dict/encodings.c). learn/h2.c decodes
 * the header blocks a traced process writes on its HTTP/2 TLS sessions, following their
 * encoder tables; each field comes here and a secret in it is a use, encoding hpack.
 */
#ifndef SECRETRACE_DETECT_HPACK_H
#define SECRETRACE_DETECT_HPACK_H

#include <nghttp2/nghttp2.h>
#include <stddef.h>
#include <stdint.h>

#include "secretrace.h"

struct dict;

#define HPACK_FIELD_SECRETS 8	/* distinct secrets looked at in one field value */

/* The secrets (dictionary entries) in a decoded field that the kernel's scan could not see
 * in its representation on the wire (a table index; a Huffman-coded literal none of whose
 * indexed forms is in it); returns how many. */
int hpack_unseen(const struct dict *d, const nghttp2_nv *nv, const uint8_t *rep, size_t n,
		 uint32_t out[HPACK_FIELD_SECRETS]);
/* One decoded field of the header block in record r's write; rep, n: its representation
 * as it was on the wire. What hpack_unseen() gives is reported as uses. */
void hpack_field(struct dict *d, const struct st_rec_data *r, const nghttp2_nv *nv,
		 const uint8_t *rep, size_t n);
/* An HTTP/2 session whose header blocks can no longer be followed (a record lost, bytes
 * not copied, a block that does not decode): counted, reported as a loss. */
void hpack_session_lost(void);
uint64_t hpack_sessions_lost(void);

#endif
