/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every map and global of secretrace's BPF object. The object is linked from several
 * compilation units (bpftool gen object); maps.bpf.c defines what is declared here, the
 * other units see extern declarations.
 */
#ifndef SECRETRACE_MAPS_BPF_H
#define SECRETRACE_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "secretrace.h"
#include "fingerprint.h"

#ifndef EEXIST
#define EEXIST 17	/* a map update with BPF_NOEXIST found the key */
#endif

#ifdef ST_DEFINE_MAPS
#define ST_DECL
#else
#define ST_DECL extern
#endif

/* A call's arguments: read at a syscall's exit, or stashed at a TLS read's entry. */
struct st_stash {
	__u64 arg[6];
	__u32 hook;
	__u32 flags;
};

/* One contiguous piece of the stream a call transferred. */
struct st_seg {
	__u64 base;	/* user address */
	__u64 len;
	__u64 start;	/* stream offset of base[0] */
	__u64 name;	/* user address of this message's sockaddr (sendto, sendmsg, sendmmsg) */
	__u32 namelen;
	__u32 kernel;	/* base is kernel memory (the carry of earlier writes) */
};

/* The last bytes written to a file descriptor, whose tail heads its next write's stream so
 * that a secret split across calls is found. Each write appends its own last bytes (at most
 * ST_CARRY); when they would pass 2 * ST_CARRY, the old bytes still among the last ST_CARRY
 * move to the front first. So a write copies about twice its own bytes, not the whole
 * carry, and bytes[len - ST_CARRY, len) always hold the fd's last ST_CARRY bytes (fewer
 * at first). */
struct st_carry {
	__u32 len;
	__s32 fd;	/* the owner: the map is LRU, and a node a program still points at */
	__u32 tgid;	/* can be handed to another key; st_save_carry checks */
	__u32 pad;
	__u8 bytes[3 * ST_CARRY];	/* 2 * ST_CARRY used; the rest keeps appends verifiable */
};

struct st_found {
	__u32 secret;
	__u32 count;
	__u64 offset;
};

/* Per-CPU working state of one call's scan. Indexed by CPU in an ordinary array, since
 * per-CPU array values stop at 32 KiB. */
struct st_scan {
	__u8 buf[2 * ST_CHUNK];			/* one chunk; the slack keeps reads verifiable */
	__u8 span[2 * ST_MAX_SECRET_LEN + 16];	/* a candidate gathered for confirmation */
	struct st_seg segs[ST_MAX_SEGS];
	struct st_found found[ST_MAX_MATCHES_PER_CALL];
	__u64 calls;
	__u64 call_id;
	__u64 total;		/* bytes the call transferred, as segments hold them */
	__u64 limit;		/* bytes scanned: min(total, scan_limit) */
	__u64 chunk_start;
	__u64 chunk_len;
	__u64 fill_pos;		/* stream offset the chunk fill has reached */
	__u64 cand_pos;		/* the candidate being confirmed */
	__u64 span_want;	/* bytes of the candidate */
	__u64 span_len;		/* bytes gathered so far */
	__u64 span_hash;
	__u64 copied;		/* bytes copied out so far (data records) */
	__u64 conn_id;
	__u64 seq;
	__u64 ssl;		/* the TLS session of a library call */
	__u32 nsegs;
	__u32 seg_cursor;
	__u32 span_seg;
	__u32 nfound;
	__u32 hook;
	__s32 fd;
	__u32 gen;
	__u32 sink;		/* ST_SINK_ARGV/ENV for exec streams, else resolved from fd */
	__u32 flags;
	__u32 data_kind;
	__u32 carry_len;	/* bytes of earlier writes at the head of the stream */
	__u32 fill_failed;	/* some byte of the chunk could not be read */
	__u32 found_any;	/* 1 + the first secret (not a marker) found in this call, or 0 */
	struct st_carry carry_new;	/* the next carry, built here (too big for the stack) */
	struct st_sinkinfo si;	/* where the call's bytes went, once described */
	char path[ST_PATH_MAX];
	struct st_rec_match rec;	/* a use, built here and sent as long as its path */
};

#define ST_SCAN_VAULT_REQ (1u << 0)	/* this call is a request to Vault */
#define ST_SCAN_HOLD (1u << 1)		/* copy this call out for a rescan after learning */

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);			/* tgid */
	__type(value, struct st_traced);
} traced SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);			/* cgroup id, of every cgroup in the subtrees */
	__type(value, __u8);
} traced_cgroups SEC(".maps");

/* Where secrets were written (node modes): a process reading from one joins the reach set. */
ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct st_taint_key);
	__type(value, __u32);			/* the secret (its index) */
} taints SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct st_conn_key);
	__type(value, struct st_conn);
} vault_conns SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct st_conn_key);
	__type(value, struct st_carry);
} carry SEC(".maps");

/* TLS: the socket under a session, Vault sessions, sessions waiting for their socket,
 * reads in flight, the last write. */
ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct st_tls_key);
	__type(value, __s32);
} tls_fd SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct st_tls_key);
	__type(value, struct st_conn);
} tls_conns SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);			/* pid_tgid */
	__type(value, __u64);			/* the session */
} tls_pending SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);			/* pid_tgid */
	__type(value, struct st_stash);
} tls_stash SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct st_tls_key);
	__type(value, struct st_tls_last);
} tls_last SEC(".maps");

/* HTTP/2 TLS sessions' frame boundaries: of those not Vault's only header frames are copied. */
ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct st_tls_key);
	__type(value, struct st_h2_frames);
} tls_h2 SEC(".maps");

/* Go crypto/tls: per binary, the way to the socket; reads in flight, by goroutine (a
 * goroutine may change threads while Read blocks). */
ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ST_GO_MAX_BINARIES);
	__type(key, __u32);
	__type(value, struct st_go_offsets);
} go_offsets SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct st_tls_key);		/* tgid, the goroutine (g) */
	__type(value, struct st_stash);
} go_stash SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct st_addr);
	__type(value, __u8);
} vault_addrs SEC(".maps");

struct st_prefilter {
	__u64 word[ST_PREFILTER_WORDS];
};

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct st_prefilter);
} prefilter SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ST_MAX_WINDOWS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct st_window_key);
	__type(value, struct st_window);
} windows SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ST_MAX_SECRETS);
	__type(key, __u32);
	__type(value, struct st_secret);
} secrets SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);			/* set to the number of CPUs before load */
	__type(key, __u32);
	__type(value, struct st_scan);
} scan_state SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ST_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);	/* resized before load */
} events SEC(".maps");

/* Bytes each process had held since learned_seq last moved (epoch): one process's flood of
 * writes cannot use up the hold of the others (hold_limit each, ST_HOLD_PROCS times it in
 * all). */
#define ST_HOLD_PROCS 8

struct st_hold_use {
	__u64 epoch;
	__u64 bytes;
};

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);			/* tgid */
	__type(value, struct st_hold_use);
} hold_use SEC(".maps");

/* The Vault traffic the learner needs, in a ring of its own: uses, process records and
 * held copies (which a traced process can make at will) cannot crowd it out. */
ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);	/* resized before load */
} vault_events SEC(".maps");

/* A use recently sent, by any process: under pressure, another of the same secret to the
 * same place is counted (ST_STAT_USES_FOLDED) instead of sent. */
struct st_fold_key {
	__u32 secret;
	__u32 sink;
	__u64 where;	/* a hash of the destination: address, inode, path */
};

ST_DECL struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct st_fold_key);
	__type(value, __u64);			/* when one was last sent (boot ns) */
} use_folds SEC(".maps");

/* Set before load. */
ST_DECL const volatile __u32 target_mode;
ST_DECL const volatile __u32 scan_scope;
ST_DECL const volatile __u32 self_tgid;
ST_DECL const volatile __u64 scan_limit;
ST_DECL const volatile __u64 hold_limit;
ST_DECL const volatile struct st_keys keys;

/* Shared with userspace through the mmapped .bss. */
ST_DECL __u32 prefilter_mask;	/* live bitmap size - 1 (bits) */
ST_DECL __u32 have_short;	/* secrets of 8..14 bytes are indexed */
ST_DECL __u32 dict_gen;		/* bumped by userspace after each batch it indexes */
ST_DECL __u32 carry_want;	/* the longest indexed form - 1: a carry's part a scan samples */
ST_DECL __u64 in_seq;		/* kernel: Vault bytes handed to the learner so far */
ST_DECL __u64 learned_seq;	/* userspace: all Vault bytes up to here are learned */
ST_DECL __u64 hold_bytes;	/* held since learned_seq last caught up (all processes);
				 * reset by userspace */
ST_DECL __u64 conn_ids;
ST_DECL __u64 tls_waiting;	/* tls_pending's entries, or more: at 0 no socket call looks */
ST_DECL __u64 taint_count;	/* taints ever added: at 0 no read looks for one */
ST_DECL __u32 tracer_stopped;	/* userspace, at exit: from now on no program does anything */

/* The last bytes handed to a session's write: a retry of a failed SSL_write (the same
 * bytes again, in the same buffer or a copy) is not scanned twice. */
struct st_tls_last {
	__u64 len;
	__u64 hash;
};

/* Loops of a callback fn(i, ctx), for i < n until it returns nonzero: bpf_loop (5.17), or in
 * the object for older kernels (-DST_BOUNDED_LOOPS, docs/kernels.md) a loop the verifier walks
 * whole, so there max (a constant, at least what n can be) bounds it. */
#ifdef ST_BOUNDED_LOOPS
#define st_loop_upto(n, max, fn, ctx)						\
	do {									\
		__u32 st_n_ = (n), st_i_;					\
										\
		for (st_i_ = 0; st_i_ < (max) && st_i_ < st_n_; st_i_++) {	\
			/* an up-counting loop, which 6.1's CFG check accepts */	\
			barrier_var(st_i_);					\
			if (fn(st_i_, ctx))					\
				break;						\
		}								\
	} while (0)
/* bytes of one call scanned at most, and uses of one call reported (the rest counted) */
#define ST_CALL_SCAN_MAX ST_BOUNDED_SCAN_LIMIT
#define ST_CALL_MATCHES 8
#else
#define st_loop_upto(n, max, fn, ctx) bpf_loop(n, fn, ctx, 0)
#define ST_CALL_SCAN_MAX ST_SCAN_LIMIT_MAX
#define ST_CALL_MATCHES ST_MAX_MATCHES_PER_CALL
#endif
#define st_loop(n, fn, ctx) st_loop_upto(n, n, fn, ctx)
/* bytes of a chunk at most: the carry and the call's own scanned bytes, at most ST_CHUNK */
#define ST_CHUNK_MAX \
	(ST_CHUNK < ST_CARRY + ST_CALL_SCAN_MAX ? ST_CHUNK : ST_CARRY + ST_CALL_SCAN_MAX)

/* In the bounded-loop object some steps on the scan state are global functions, which the
 * verifier walks once, not once per iteration: ST_ONCE(fn) after fn, ST_STEP(fn) the callback. */
#ifdef ST_BOUNDED_LOOPS
#define ST_ONCE(fn)								\
	__noinline int fn##_once(__u32 i)					\
	{									\
		struct st_ref ref = { .s = st_scan_state() };			\
										\
		barrier_var(i);	/* else clang passes nothing for an unused i */	\
		return ref.s ? fn(i, &ref) : 1;					\
	}									\
	static long fn##_global(__u32 i, struct st_ref *ref)			\
	{									\
		return fn##_once(i);						\
	}
#define ST_STEP(fn) fn##_global
#else
#define ST_ONCE(fn)
#define ST_STEP(fn) fn
#endif

/* In the bounded-loop object, the verifier made to forget what it knows of a loop's variable x
 * (copied onto itself), so that iterations that reached it by different paths are one state,
 * not one each: with a variable that depends on each step's branch, their number grows with
 * every iteration. */
#ifdef ST_BOUNDED_LOOPS
#define st_loop_forget(x) bpf_probe_read_kernel(&(x), sizeof(x), &(x))
#else
#define st_loop_forget(x)
#endif

/* bpf_loop's context must live on the stack: callbacks reach the scan state through this. */
struct st_ref {
	struct st_scan *s;
};

static __always_inline void st_count(__u32 stat, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &stat);

	if (v)
		*v += n;
}

/* Bytes of a call scanned: --scan-limit, at most what the object's loops reach. */
static __always_inline __u64 st_scan_limit(void)
{
	return scan_limit < ST_CALL_SCAN_MAX ? scan_limit : ST_CALL_SCAN_MAX;
}

static __always_inline struct st_scan *st_scan_state(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&scan_state, &cpu);
}

#endif /* SECRETRACE_MAPS_BPF_H */
