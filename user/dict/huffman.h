/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HPACK's Huffman code (RFC 7541 section 5.2, Appendix B), which HTTP/2 clients apply to
 * header values whenever it is shorter: a secret in a header goes out in this form. No
 * library exports the encoder's table (nghttp2 keeps it internal), so it is here; the
 * unit test checks it against nghttp2's own encoder.
 */
#ifndef SECRETRACE_HUFFMAN_H
#define SECRETRACE_HUFFMAN_H

#include <stddef.h>
#include <stdint.h>

/* Bits of the code of s (without the padding to a byte). */
size_t hpack_huffman_bits(const uint8_t *s, size_t len);

/* lead zero bits (0..7, standing for whatever came before s in the same value), then the
 * code of s, then the EOS padding (ones) to a byte boundary, into out, which has room for
 * (lead + hpack_huffman_bits(s, len) + 7) / 8 bytes; returns how many were written. With
 * lead 0 this is the RFC's encoding of s. */
size_t hpack_huffman_encode(const uint8_t *s, size_t len, unsigned lead, uint8_t *out);

#endif
