/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The wire between secretrace's BPF programs and its userspace: map keys and values,
 * ring-buffer records, counters. Only __u8..__u64 types, no vmlinux.h, so that both
 * sides compile it unchanged.
 */
#ifndef SECRETRACE_WIRE_H
#define SECRETRACE_WIRE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define ST_COMM_LEN 16
#define ST_MIN_SECRET_LEN 8
/* Longest span confirmed in the kernel; a longer secret is matched on this prefix. */
#define ST_MAX_SECRET_LEN 4096
/* Bytes copied and sampled per pass; per-CPU scratch holds one chunk (plus verifier slack). */
#define ST_CHUNK 32768
#define ST_SCAN_LIMIT_DEFAULT (64 * 1024)
#define ST_SCAN_LIMIT_MAX (16 * 1024 * 1024)
/* iovecs (across all messages of a sendmmsg) scanned per call; the rest is counted. The
 * object for kernels without bpf_loop (ST_BOUNDED_LOOPS, docs/kernels.md), whose loops the
 * verifier walks whole, has smaller per-call limits: fewer segments, and ST_BOUNDED_SCAN_LIMIT
 * bytes of a call scanned at most. */
#ifdef ST_BOUNDED_LOOPS
#define ST_MAX_SEGS 32
#else
#define ST_MAX_SEGS 1024
#endif
#define ST_BOUNDED_SCAN_LIMIT 4096
/* Dictionary entries (a secret and each of its forms: ~14 per secret with HPACK's 8
 * Huffman forms, so about 18,000 secrets) and windows the maps can hold. */
#define ST_MAX_SECRETS (1 << 18)
#define ST_MAX_WINDOWS (1 << 21)
/* Prefilter: a bitmap of at most 2^24 bits; the live size is prefilter_mask + 1. */
#define ST_PREFILTER_BITS_LOG2_MAX 24
#define ST_PREFILTER_WORDS ((1u << ST_PREFILTER_BITS_LOG2_MAX) / 64)
/* Payload bytes carried by one data record (Vault traffic, held buffers). */
#define ST_DATA_CHUNK 4096
/* Bytes of one call's stream copied out as data records at most (Vault I/O, held). */
#define ST_COPY_LIMIT (256 * 1024)
/* Path buffer of a record; a path is at most ST_PATH_MAX - 256 bytes, placed at path_off. */
#define ST_PATH_MAX 1024
#define ST_ARGS_MAX 4096
#define ST_ENV_MAX 16384
/* Distinct secrets reported per call; more are counted in ST_STAT_MATCHES_DROPPED. */
#define ST_MAX_MATCHES_PER_CALL 64
/* Bytes of a file descriptor's last writes kept to find a secret split across calls. A scan
 * samples only the last carry_want of them (the longest indexed form less one); all of
 * them while a Vault response is being learned, when the forms to come are not known. */
#define ST_CARRY 512
/* Chain length of one dictionary window (identical windows of several secrets). */
#define ST_MAX_CHAIN 16

/* Prefilter samples: 8-byte windows every 8 bytes find secrets of 15 bytes or more;
 * 4-byte windows every 4 bytes (the halves of the same loads) find 8..14-byte secrets. */
#define ST_LONG_WINDOW 8
#define ST_SHORT_WINDOW 4
#define ST_LONG_MIN_LEN (2 * ST_LONG_WINDOW - 1)

/* Which processes are traced: one lookup decides, first thing in every program. */
enum st_target_mode {
	ST_TARGET_PIDS = 0,	/* tgids in the traced map (-p, -- COMMAND) and their descendants */
	ST_TARGET_CGROUPS = 1,	/* cgroup ids in the traced_cgroups map (--cgroup subtrees) */
	ST_TARGET_ALL = 2,	/* every process but the tracer (--all) */
};

/* Whose writes are scanned in the cgroup and all modes (--scan). Every targeted process is
 * learned from; in reach scope only the processes in the traced map (reach) are scanned: those
 * that received a secret (talked to Vault, or read a file, pipe or socket a secret was written
 * to) and their descendants, a set the kernel keeps
 * itself. The other processes' writes cost the filter and a look at their first bytes (a
 * request to Vault teaches). */
enum st_scan_scope {
	ST_SCOPE_REACH = 0,
	ST_SCOPE_EVERYTHING = 1,
};

/* How a process entered the reach set (st_traced.flags). */
#define ST_REACH_TARGET (1u << 0)	/* -p, -- COMMAND: traced from the start */
#define ST_REACH_VAULT (1u << 1)	/* read a Vault response */
#define ST_REACH_TAINT (1u << 2)	/* read a file, pipe or socket a secret was written to */
#define ST_REACH_FORK (1u << 3)		/* forked from a process in the set */
#define ST_REACH_USE (1u << 4)		/* wrote a secret (--scan everything) */

/* The hooked call a record came from; names in user/probes/hooks.h. */
enum st_hook {
	ST_HOOK_WRITE = 1,
	ST_HOOK_WRITEV,
	ST_HOOK_PWRITE64,
	ST_HOOK_PWRITEV,
	ST_HOOK_PWRITEV2,
	ST_HOOK_SENDTO,
	ST_HOOK_SENDMSG,
	ST_HOOK_SENDMMSG,
	ST_HOOK_EXECVE,
	ST_HOOK_READ,
	ST_HOOK_READV,
	ST_HOOK_RECVFROM,
	ST_HOOK_RECVMSG,
	ST_HOOK_RECVMMSG,
	ST_HOOK_CONNECT,
	ST_HOOK_SENDFILE,
	ST_HOOK_SPLICE,
	ST_HOOK_IO_URING,
	ST_HOOK_PROCESS_VM_WRITEV,
	ST_HOOK_SSL_WRITE,
	ST_HOOK_SSL_READ,
	ST_HOOK_GNUTLS_SEND,
	ST_HOOK_GNUTLS_RECV,
	ST_HOOK_GO_TLS_WRITE,	/* crypto/tls.(*Conn).Write */
	ST_HOOK_GO_TLS_READ,	/* crypto/tls.(*Conn).Read */
	ST_HOOK_MAX,
};

/* TLS library functions: the attach cookie of their uprobes (user/probes/tls.c). */
enum st_tls_func {
	ST_TLS_SSL_WRITE = 1,
	ST_TLS_SSL_WRITE_EX,
	ST_TLS_SSL_READ,
	ST_TLS_SSL_READ_EX,
	ST_TLS_SSL_SET_FD,
	ST_TLS_GNUTLS_SEND,
	ST_TLS_GNUTLS_RECV,
	ST_TLS_GNUTLS_SET_INT2,
	ST_TLS_HANDSHAKE,	/* SSL_do_handshake, SSL_connect: the socket is about to be used */
};

/* Go crypto/tls probes (user/probes/go.c): the attach cookie is the binary's index in
 * go_offsets, shifted by 8, or'ed with the probe's kind. */
enum st_go_probe {
	ST_GO_WRITE = 1,	/* (*Conn).Write entry */
	ST_GO_READ,		/* (*Conn).Read entry */
	ST_GO_READ_RET,		/* a RET of (*Conn).Read */
};

#define ST_GO_MAX_BINARIES 1024

/* Per Go binary: from a *tls.Conn to its socket's descriptor (docs/go.md). */
struct st_go_offsets {
	__s64 conn_iface;	/* tls.Conn.conn, a net.Conn interface (itab, data) */
	__s64 netconn_fd;	/* net.conn.fd (*netFD) in the interface's data */
	__s64 netfd_pfd;	/* netFD.pfd (poll.FD) */
	__s64 pfd_sysfd;	/* poll.FD.Sysfd (int) */
};

enum st_sink {
	ST_SINK_UNKNOWN = 0,
	ST_SINK_SOCKET,
	ST_SINK_FILE,
	ST_SINK_PIPE,
	ST_SINK_TTY,
	ST_SINK_ARGV,
	ST_SINK_ENV,
	ST_SINK_CHARDEV,	/* a character device that is not a tty (/dev/null) */
};

enum st_transport {
	ST_TRANSPORT_NONE = 0,
	ST_TRANSPORT_TCP,
	ST_TRANSPORT_UDP,
	ST_TRANSPORT_UNIX,
	ST_TRANSPORT_OTHER,
};

/* Per-CPU counters; userspace sums them. */
enum st_stat {
	ST_STAT_BYTES_SCANNED = 0,
	ST_STAT_BYTES_NOT_SCANNED,	/* past the scan limit, segment limit, or unreadable */
	ST_STAT_BYTES_UNSCANNABLE,	/* sendfile, splice, process_vm_writev */
	ST_STAT_CALLS_UNSCANNABLE,	/* io_uring_enter (byte count unknown) and the above */
	ST_STAT_LOST_MATCH,		/* ring buffer full: a secret use lost */
	ST_STAT_LOST_DATA,		/* ring buffer full: Vault traffic or a held buffer lost */
	ST_STAT_LOST_PROC,		/* ring buffer full: exec/fork/exit/connect record lost */
	ST_STAT_HOLD_OVERFLOW,		/* held-buffer bytes over the bound, not rescanned */
	ST_STAT_VAULT_TRUNCATED,	/* Vault bytes past the per-call copy limit */
	ST_STAT_MATCHES_DROPPED,	/* distinct secrets past the per-call match limit */
	ST_STAT_CANDIDATES,		/* prefilter hits */
	ST_STAT_CONFIRMS,		/* candidates whose span was hashed */
	ST_STAT_CHAIN_OVERFLOW,		/* dictionary chains longer than ST_MAX_CHAIN */
	ST_STAT_TRACED_FULL,		/* a child could not be added to the traced map */
	ST_STAT_STASH_FULL,		/* a TLS read's arguments could not be stashed */
	ST_STAT_REACH_FULL,		/* a process could not join the reach set (map full) */
	ST_STAT_REACHED,		/* processes that joined the reach set */
	ST_STAT_LOST_VAULT,		/* Vault ring buffer full: Vault traffic lost */
	ST_STAT_USES_FOLDED,		/* ring under pressure: a use reported recently not sent */
	ST_STAT_MAX,
};

/* traced map value */
struct st_traced {
	__u32 flags;		/* ST_REACH_* */
	__u32 root_pid;
};

/* Where a secret was written, for the reader to join the reach set: an inode (a file, a pipe),
 * the receiving end of a unix socket, or a TCP connection seen from its receiving end. */
struct st_taint_key {
	__u64 kind;		/* ST_TAINT_* */
	__u64 id;		/* the inode's or sock's address, or a hash of the receiver's 4-tuple */
};

#define ST_TAINT_INODE 1
#define ST_TAINT_TCP 2
#define ST_TAINT_SOCK 3

/* Dictionary windows map: key = (keyed tag of the window, chain index). */
struct st_window_key {
	__u32 tag;
	__u32 idx;
};

struct st_window {
	__u32 secret;	/* index into the secrets map */
	__u16 offset;	/* where the window starts inside the secret */
	__u16 chain;	/* entries under this tag (stored in idx 0) */
};

/* secrets map value: no plaintext, only the length and a keyed hash of the bytes. */
struct st_secret {
	__u32 len;	/* bytes confirmed (capped at ST_MAX_SECRET_LEN) */
	__u32 flags;
	__u64 hash;	/* st_confirm_hash() of the first len bytes */
};

#define ST_SECRET_MARKER (1u << 0)	/* not a secret: a Vault request marker (X-Vault-Token:) */

/* Vault server addresses (--vault-addr, VAULT_ADDR): connects to them are Vault connections. */
struct st_addr {
	__u16 family;	/* AF_INET, AF_INET6, AF_UNIX */
	__u16 port;	/* host order */
	__u8 addr[16];	/* IPv4 in the first 4 bytes */
};

struct st_conn_key {
	__u32 tgid;
	__s32 fd;
};

/* A TLS session (OpenSSL SSL *, gnutls_session_t) of a process: tls_conns map key. */
struct st_tls_key {
	__u32 tgid;
	__u32 pad;
	__u64 ssl;
};

struct st_conn {
	__u64 id;
	__u32 flags;
	__u32 pad;
};

#define ST_CONN_VAULT (1u << 0)
/* An HTTP/2 TLS session that is not Vault's: its header frames are still copied (userspace
 * follows its HPACK table, detect/hpack.c), its reads no longer are. */
#define ST_CONN_H2 (1u << 1)

/* Where a TLS session opened with the HTTP/2 preface is in its frames, kept by the kernel
 * alone: bytes of the frame under way that the next writes still carry, and whether they
 * are copied. */
struct st_h2_frames {
	__u32 left;
	__u32 flags;
	__u64 buf, len, pos;	/* the walk of the write in progress (the stack is full) */
	__u32 filter;
	__u32 pad;
};

#define ST_H2_COPY (1u << 0)	/* the frame under way is copied */
#define ST_H2_ALL (1u << 1)	/* frames no longer told apart (a header cut): copy all */

/* Ring-buffer records */
enum st_record_type {
	ST_REC_EXEC = 1,
	ST_REC_FORK,
	ST_REC_EXIT,
	ST_REC_CONNECT,
	ST_REC_MATCH,
	ST_REC_DATA,
	ST_REC_CLOSE,
	ST_REC_UNSCANNED,
	ST_REC_REACH,
	ST_REC_CGROUP,
};

struct st_rec_hdr {
	__u32 type;
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 uid;
	__u64 ts_ns;		/* CLOCK_BOOTTIME */
	__u64 start_ns;		/* the process's start time, for process.entity_id */
	__u64 cgroup_id;	/* its cgroup v2 (the container it runs in) */
	__u32 reached;		/* in the reach set (node modes; always 1 with -p, -- COMMAND) */
	__u32 ppid;		/* the parent's tgid: names it when the fork record was lost */
	char comm[ST_COMM_LEN];
};

/* Where a buffer went: the socket's peer, or the kind of file. */
struct st_sinkinfo {
	__u32 sink;		/* enum st_sink */
	__u32 transport;	/* enum st_transport */
	struct st_addr dst;
	__u16 path_off;		/* the path (files, unix sockets) is path[path_off..+path_len) */
	__u16 path_len;
	__u32 path_truncated;	/* leading components did not fit */
	__u64 ino;		/* inode number (pipes: names the pipe) */
};

struct st_rec_match {
	struct st_rec_hdr hdr;
	__u64 call_id;
	__u64 offset;		/* stream offset of the first occurrence */
	__u32 carry_len;	/* the stream began with this many bytes of earlier calls */
	__u32 pad;
	__u32 secret;
	__u32 count;		/* occurrences in this call */
	__u32 hook;
	__s32 fd;
	struct st_sinkinfo si;
	char path[ST_PATH_MAX];
};

/* Bytes of a Vault connection (in or out), a held copy of an outgoing buffer, or the first
 * bytes of a connection (which name the host it is for). */
enum st_data_kind {
	ST_DATA_VAULT_OUT = 1,
	ST_DATA_VAULT_IN,
	ST_DATA_HELD,
	ST_DATA_PEEK,		/* a socket's first bytes: a TLS ClientHello or an HTTP request */
};

#define ST_DATA_LAST (1u << 0)	/* last record of this call */
#define ST_DATA_UNREADABLE (1u << 1)	/* the bytes could not be read (len is 0) */

struct st_rec_data {
	struct st_rec_hdr hdr;
	__u64 call_id;
	__u64 conn_id;		/* Vault connection, 0 for held data */
	__u64 offset;		/* stream offset of data[0] within the call */
	__u64 seq;		/* for VAULT_IN: the value in_seq took */
	__u64 ssl;		/* the TLS session, for Vault traffic read through a TLS library */
	__u32 kind;		/* enum st_data_kind */
	__u32 flags;
	__u32 hook;
	__s32 fd;
	__u32 gen;		/* dictionary generation the kernel scanned this call with */
	__u32 len;
	__u32 carry_len;	/* the stream began with this many bytes of earlier calls */
	__u32 nfound;		/* HELD, first record: secrets the kernel reported in this call */
	__u32 found[ST_MAX_MATCHES_PER_CALL];
	struct st_sinkinfo si;	/* where the buffer went (the Vault server, for Vault I/O) */
	char path[ST_PATH_MAX];
	__u8 data[ST_DATA_CHUNK];
};

struct st_rec_exec {
	struct st_rec_hdr hdr;
	__u32 ppid;
	__u32 args_len;		/* NUL-separated argv, possibly truncated */
	__u32 env_len;
	__u32 args_truncated;
	__u32 env_truncated;
	__u16 exe_off;		/* the executable's path is exe[exe_off..+exe_len) */
	__u16 exe_len;
	char exe[ST_PATH_MAX];
	char data[ST_ARGS_MAX + ST_ENV_MAX];	/* argv at 0, environment at ST_ARGS_MAX */
};

struct st_rec_fork {
	struct st_rec_hdr hdr;	/* the parent */
	__u32 child_pid;
	__u32 pad;
	__u64 child_start_ns;
};

struct st_rec_exit {
	struct st_rec_hdr hdr;
	__s32 exit_code;	/* as wait(2) encodes it */
	__u32 pad;
};

struct st_rec_connect {
	struct st_rec_hdr hdr;
	__s32 fd;
	__s32 ret;
	__u32 transport;
	__u32 vault;		/* the address is a known Vault server */
	__u64 ino;		/* the socket's own inode: whose fd number this connect names */
	struct st_addr dst;
	char path[128];		/* AF_UNIX sun_path */
};

struct st_rec_close {
	struct st_rec_hdr hdr;
	__u64 conn_id;
	__s32 fd;
	__u32 pad;
};

/* A process joined the reach set by itself (node modes): who it is, while it is alive. */
struct st_rec_reach {
	struct st_rec_hdr hdr;
	__u32 ppid;
	__u32 how;		/* ST_REACH_* */
	__u16 exe_off;		/* the executable's path is exe[exe_off..+exe_len) */
	__u16 exe_len;
	__u32 pad;
	char exe[ST_PATH_MAX];
};

/* A cgroup v2 made (cgroup_mkdir): its path below the hierarchy's root, read before any
 * record of a process in it, so that its container is known even when the cgroup is gone
 * by the time those records are read. */
#define ST_CGROUP_PATH_MAX 512
struct st_rec_cgroup {
	struct st_rec_hdr hdr;	/* of the process that made it */
	__u64 id;
	__u32 path_len;		/* without the NUL; ST_CGROUP_PATH_MAX - 1: maybe cut */
	__u32 pad;
	char path[ST_CGROUP_PATH_MAX];
};

struct st_rec_unscanned {
	struct st_rec_hdr hdr;
	__u64 bytes;		/* 0 where the kernel cannot tell (io_uring) */
	__u32 hook;
	__s32 fd;
};

#endif /* SECRETRACE_WIRE_H */
