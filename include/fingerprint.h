/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dictionary's hash functions, compiled unchanged into the BPF programs and into
 * userspace so that both index and look up windows identically. All are keyed with
 * per-run random keys; none is stored in a form from which a secret can be read back:
 * the prefilter keeps single bits, the window map 32-bit tags, the secret map one 64-bit
 * keyed hash per secret.
 */
#ifndef SECRETRACE_FINGERPRINT_H
#define SECRETRACE_FINGERPRINT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifndef ST_INLINE
#define ST_INLINE static inline __attribute__((always_inline))
#endif

struct st_keys {
	__u64 pf_xor;		/* prefilter, 8-byte windows */
	__u64 pf_mul;		/* odd */
	__u64 pfs_xor;		/* prefilter, 4-byte windows */
	__u64 pfs_mul;		/* odd */
	__u64 tag;		/* window tags */
	__u64 confirm;		/* whole-span hash */
};

#define ST_MIX_MUL 0xd6e8feb86659fd93ULL
#define ST_SHORT_DOMAIN 0x5a5a5a5a00000000ULL

ST_INLINE __u64 st_mix64(__u64 x)
{
	x ^= x >> 32;
	x *= ST_MIX_MUL;
	x ^= x >> 32;
	x *= ST_MIX_MUL;
	x ^= x >> 32;
	return x;
}

/* Prefilter: one multiply gives both Bloom bit indices (k = 2). Shifts are fixed and the
 * index is masked by the live size, so the bitmap can grow in place. */
ST_INLINE __u64 st_pf_hash(__u64 window, __u64 key_xor, __u64 key_mul)
{
	return (window ^ key_xor) * key_mul;
}

ST_INLINE __u32 st_pf_bit1(__u64 h, __u32 mask)
{
	return (__u32)(h >> 40) & mask;
}

ST_INLINE __u32 st_pf_bit2(__u64 h, __u32 mask)
{
	return (__u32)(h >> 16) & mask;
}

/* 32-bit tag under which a window's dictionary entries are stored. */
ST_INLINE __u32 st_tag_long(__u64 window, __u64 key)
{
	return (__u32)(st_mix64(window ^ key) >> 32);
}

ST_INLINE __u32 st_tag_short(__u32 window, __u64 key)
{
	return (__u32)(st_mix64((__u64)window ^ key ^ ST_SHORT_DOMAIN) >> 32);
}

/* Whole-span hash: seeded with the length, one mixing step per 8-byte little-endian word,
 * the last word zero-padded. Callers pass the words; this is the step and the seed. */
ST_INLINE __u64 st_confirm_seed(__u32 len, __u64 key)
{
	return st_mix64(key ^ ((__u64)len * ST_MIX_MUL));
}

ST_INLINE __u64 st_confirm_step(__u64 h, __u64 word)
{
	return st_mix64(h ^ word) + 0x9e3779b97f4a7c15ULL;
}

#endif /* SECRETRACE_FINGERPRINT_H */
