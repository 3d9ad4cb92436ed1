// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel scanner, exhaustively, against a plain substring search. The real BPF
 * object is loaded into this kernel; a traced child makes the calls (write, writev,
 * pwrite64, pwritev, sendto, sendmsg, sendmmsg) on buffers the test lays out: every
 * secret length class at every offset modulo the stride, every split point between
 * iovecs and messages, across the 32 KiB chunk boundary and at the scan limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dict/dict.h"
#include "probes/probes.h"
#include "lib/redact.h"
#include "lib/secmem.h"
#include "secretrace.skel.h"

#define FILLER "abcdefghij"
#define BUF_MAX (160 * 1024)
#define MAX_SPLITS 8

enum op { OP_WRITE = 1, OP_WRITEV, OP_PWRITE64, OP_PWRITEV, OP_SENDTO, OP_SENDMSG, OP_SENDMMSG,
	  OP_WRITE_UNTOUCHED, OP_EXIT };

#define UNTOUCHED_BYTES (3 * 4096)

/* What the child is told to do, in memory shared with it. */
struct command {
	int op;
	size_t len;
	int nsplit;			/* iovec (or message) boundaries */
	size_t split[MAX_SPLITS];
	uint8_t buf[BUF_MAX];
};

struct found {
	uint32_t secret;
	uint32_t count;
	uint64_t offset;
	uint32_t hook;
	uint32_t carry;		/* bytes of earlier writes the stream began with */
};

static struct {
	struct probes p;
	struct dict d;
	struct ring_buffer *rb;
	struct command *cmd;
	uint8_t *untouched;	/* shared pages the child never touches */
	pid_t child;
	int to_child, from_child;
	struct found found[4 * ST_MAX_MATCHES_PER_CALL];
	int nfound;
	int failures;	/* mismatches in the current test (the first ones are printed) */
	/* the secrets */
	uint8_t value[24][6000];
	size_t len[24];
	uint32_t idx[24];
	int n;
} F;

static int on_record(void *ctx, void *data, size_t size)
{
	const struct st_rec_match *m = data;

	(void)ctx;
	/* a use record is as long as its path */
	if (size >= offsetof(struct st_rec_match, path) &&
	    size >= offsetof(struct st_rec_match, path) + m->si.path_len &&
	    m->hdr.type == ST_REC_MATCH && F.nfound < 4 * ST_MAX_MATCHES_PER_CALL)
		F.found[F.nfound++] = (struct found){ m->secret, m->count, m->offset, m->hook,
						      m->carry_len };
	return 0;
}

/* ---- the traced child ---- */

static void build_iov(struct iovec *iov, int *n)
{
	size_t from = 0;
	int i;

	*n = 0;
	for (i = 0; i <= F.cmd->nsplit; i++) {
		size_t to = i < F.cmd->nsplit ? F.cmd->split[i] : F.cmd->len;

		iov[*n].iov_base = F.cmd->buf + from;
		iov[(*n)++].iov_len = to - from;
		from = to;
	}
}

static void child_loop(int cmd_fd, int ack_fd)
{
	int devnull = open("/dev/null", O_WRONLY), sv[2], file;
	unsigned touched = 0;
	char path[] = "/tmp/secretrace-scan-XXXXXX", op, sink[BUF_MAX];

	file = mkstemp(path);
	unlink(path);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		_exit(2);
	while (read(cmd_fd, &op, 1) == 1) {
		struct iovec iov[MAX_SPLITS + 1];
		struct msghdr mh = { 0 };
		struct mmsghdr mm[MAX_SPLITS + 1];
		int n, i;

		build_iov(iov, &n);
		/* fault the buffer in, as a program that produced it would have: the scanner
		 * reads only resident pages (/dev/null never reads the buffer itself) */
		for (i = 0; i < (int)F.cmd->len; i += 4096)
			touched += ((volatile uint8_t *)F.cmd->buf)[i];
		if (F.cmd->len)
			touched += ((volatile uint8_t *)F.cmd->buf)[F.cmd->len - 1];
		switch (F.cmd->op) {
		case OP_WRITE:
			if (write(devnull, F.cmd->buf, F.cmd->len) < 0)
				_exit(3);
			break;
		case OP_WRITEV:
			if (writev(devnull, iov, n) < 0)
				_exit(3);
			break;
		case OP_PWRITE64:
			if (pwrite(file, F.cmd->buf, F.cmd->len, 0) < 0)
				_exit(3);
			break;
		case OP_PWRITEV:
			if (pwritev(file, iov, n, 0) < 0)
				_exit(3);
			break;
		case OP_SENDTO:
			if (sendto(sv[0], F.cmd->buf, F.cmd->len, 0, NULL, 0) < 0)
				_exit(3);
			break;
		case OP_SENDMSG:
			mh.msg_iov = iov;
			mh.msg_iovlen = n;
			if (sendmsg(sv[0], &mh, 0) < 0)
				_exit(3);
			break;
		case OP_SENDMMSG:	/* one message per piece */
			memset(mm, 0, sizeof(mm));
			for (i = 0; i < n; i++) {
				mm[i].msg_hdr.msg_iov = &iov[i];
				mm[i].msg_hdr.msg_iovlen = 1;
			}
			if (sendmmsg(sv[0], mm, n, 0) != n)
				_exit(3);
			break;
		case OP_WRITE_UNTOUCHED:
			if (write(devnull, F.untouched, UNTOUCHED_BYTES) < 0)
				_exit(3);
			break;
		case OP_EXIT:
			_exit(0);
		}
		while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		if (write(ack_fd, "k", 1) != 1)
			_exit(4);
	}
	_exit(touched & 0);
}

/* ---- fixture ---- */

static void make_secret(uint8_t *s, size_t len, uint32_t seed)
{
	static const char alpha[] = "KLMNOPQRSTUVWXYZ0123456789-_+/=";
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		s[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
	}
}

static int setup(void **state)
{
	static const size_t lens[] = { 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 23, 24, 31, 32, 33,
				       64, 100, 1000, 4095, 4096, 4097, 5000 };
	struct probes_cfg pc = { .target_mode = ST_TARGET_PIDS, .scan_limit = ST_SCAN_LIMIT_DEFAULT,
				 .hold_limit = 1 << 20, .ringbuf_bytes = 4 << 20 };
	struct secretrace_bpf *s;
	struct dict_bpf db;
	int to[2], from[2];
	char err[256];
	size_t i;

	(void)state;
	if (secmem_init() || redact_init())
		return -1;
	if (probes_check(&F.p, err, sizeof(err))) {
		fprintf(stderr, "test_scan: %s\n", err);
		return -1;
	}
	dict_random_keys(&pc.keys);
	if (probes_load(&F.p, &pc, err, sizeof(err))) {
		fprintf(stderr, "test_scan: %s\n", err);
		return -1;
	}
	s = F.p.skel;
	db = (struct dict_bpf){ .windows_fd = bpf_map__fd(s->maps.windows),
				.secrets_fd = bpf_map__fd(s->maps.secrets),
				.prefilter = F.p.prefilter, .mask = &s->bss->prefilter_mask,
				.have_short = &s->bss->have_short, .gen = &s->bss->dict_gen,
				.carry_want = &s->bss->carry_want };
	if (dict_init(&F.d, &db, &pc.keys, NULL))
		return -1;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct secret_origin o = { .request_id = "r", .field = "f" };

		F.len[i] = lens[i];
		make_secret(F.value[i], lens[i], 77 + i * 1000);
		if (dict_add(&F.d, F.value[i], lens[i], &o, &F.idx[i]) != 1)
			return -1;
	}
	F.n = i;
	dict_commit(&F.d);

	F.cmd = mmap(NULL, sizeof(*F.cmd), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	F.untouched = mmap(NULL, UNTOUCHED_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			   -1, 0);
	if (F.cmd == MAP_FAILED || F.untouched == MAP_FAILED || pipe(to) || pipe(from))
		return -1;
	memset(F.untouched, 'x', UNTOUCHED_BYTES);	/* resident here, not in the child */
	F.child = fork();
	if (F.child == 0) {
		close(to[1]);
		close(from[0]);
		child_loop(to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	F.to_child = to[1];
	F.from_child = from[0];
	if (probes_trace_pid(&F.p, F.child, F.child) || probes_attach(&F.p, err, sizeof(err))) {
		fprintf(stderr, "test_scan: %s\n", err);
		return -1;
	}
	F.rb = ring_buffer__new(bpf_map__fd(s->maps.events), on_record, NULL, NULL);
	return F.rb ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (F.child > 0) {
		kill(F.child, SIGKILL);
		waitpid(F.child, NULL, 0);
	}
	ring_buffer__free(F.rb);
	dict_free(&F.d);
	probes_destroy(&F.p);
	redact_free();
	return 0;
}

/* ---- one case ---- */

/* Have the child make the call; return once its records are all in the ring buffer. */
static void run(int op)
{
	char ack;

	F.cmd->op = op;
	F.nfound = 0;
	assert_int_equal(write(F.to_child, "c", 1), 1);
	assert_int_equal(read(F.from_child, &ack, 1), 1);
	ring_buffer__consume(F.rb);
}

static void fill(size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		F.cmd->buf[i] = FILLER[i % (sizeof(FILLER) - 1)];
	F.cmd->len = len;
	F.cmd->nsplit = 0;
}

static int count_in(const uint8_t *hay, size_t n, const uint8_t *needle, size_t len)
{
	int c = 0;
	size_t i;

	for (i = 0; i + len <= n; i++)
		c += !memcmp(hay + i, needle, len);
	return c;
}

/* The kernel reported exactly the secrets a substring search finds in [0, limit)
 * (secrets longer than ST_MAX_SECRET_LEN by that prefix). */
static void check(const char *what, size_t limit)
{
	size_t scanned = F.cmd->len < limit ? F.cmd->len : limit;
	int i, j;

	for (i = 0; i < F.n; i++) {
		size_t len = F.len[i] < ST_MAX_SECRET_LEN ? F.len[i] : ST_MAX_SECRET_LEN;
		int want = count_in(F.cmd->buf, scanned, F.value[i], len);
		int got = 0;

		for (j = 0; j < F.nfound; j++)	/* a call may report a secret in batches */
			if (F.found[j].secret == F.idx[i])
				got += F.found[j].count;
		if (got != want && F.failures++ < 20)
			print_message("%s: secret of %zu bytes: found %d times, expected %d (buffer "
				      "%zu bytes, %d splits)\n",
				      what, F.len[i], got, want, F.cmd->len, F.cmd->nsplit);
	}
}

/* ---- tests ---- */

static void assert_no_failures(void)
{
	int n = F.failures;

	F.failures = 0;
	if (n)
		fail_msg("%d mismatches with a substring search", n);
}

static void test_write_every_offset(void **state)
{
	int i, op;
	size_t off, tail;

	(void)state;
	for (i = 0; i < F.n; i++)
		for (off = 0; off < 18; off++)
			for (tail = 0; tail < 9; tail += 4) {
				fill(off + F.len[i] + tail);
				memcpy(F.cmd->buf + off, F.value[i], F.len[i]);
				run(OP_WRITE);
				check("write", SIZE_MAX);
				if (F.nfound)	/* stream offsets count the carry */
					assert_int_equal(F.found[0].offset - F.found[0].carry, off);
			}
	/* the other single-buffer calls take the same path: a few offsets each */
	for (op = OP_PWRITE64; op <= OP_SENDTO; op++) {
		if (op == OP_PWRITEV)
			continue;
		for (i = 0; i < F.n; i++)
			for (off = 0; off < 9; off++) {
				fill(off + F.len[i] + 3);
				memcpy(F.cmd->buf + off, F.value[i], F.len[i]);
				run(op);
				check(op == OP_SENDTO ? "sendto" : "pwrite64", SIZE_MAX);
			}
	}
	assert_no_failures();
}

static void test_iovec_every_split(void **state)
{
	static const int ops[] = { OP_WRITEV, OP_PWRITEV, OP_SENDMSG, OP_SENDMMSG };
	static const char *names[] = { "writev", "pwritev", "sendmsg", "sendmmsg" };
	size_t k, off = 5;
	int i, o;

	(void)state;
	for (o = 0; o < 4; o++)
		for (i = 0; i < F.n; i++) {
			if (F.len[i] > 100)
				continue;
			/* two pieces, split at every point inside the secret */
			for (k = 1; k < F.len[i]; k++) {
				fill(off + F.len[i] + 7);
				memcpy(F.cmd->buf + off, F.value[i], F.len[i]);
				F.cmd->nsplit = 1;
				F.cmd->split[0] = off + k;
				run(ops[o]);
				check(names[o], SIZE_MAX);
			}
			/* one byte per piece at the start, an empty piece, three pieces */
			fill(off + F.len[i] + 7);
			memcpy(F.cmd->buf + off, F.value[i], F.len[i]);
			F.cmd->nsplit = 4;
			F.cmd->split[0] = off + 1;
			F.cmd->split[1] = off + 2;
			F.cmd->split[2] = off + 2;
			F.cmd->split[3] = off + F.len[i] - 1;
			run(ops[o]);
			check(names[o], SIZE_MAX);
		}
	assert_no_failures();
}

static void test_chunk_boundary_and_limit(void **state)
{
	size_t k, limit = ST_SCAN_LIMIT_DEFAULT;
	int i;

	(void)state;
	for (i = 0; i < F.n; i++) {
		if (F.len[i] > 100)
			continue;
		/* across the 32 KiB chunk boundary, at every position */
		for (k = 1; k < F.len[i]; k++) {
			fill(2 * ST_CHUNK);
			memcpy(F.cmd->buf + ST_CHUNK - k, F.value[i], F.len[i]);
			run(OP_WRITE);
			check("write across the chunk boundary", SIZE_MAX);
		}
		/* ending exactly at the scan limit: found */
		fill(limit + 100);
		memcpy(F.cmd->buf + limit - F.len[i], F.value[i], F.len[i]);
		run(OP_WRITE);
		check("write ending at the scan limit", limit);
		assert_int_equal(F.nfound, 1);
		/* starting at the scan limit: not scanned */
		fill(limit + 100);
		memcpy(F.cmd->buf + limit, F.value[i], F.len[i]);
		run(OP_WRITE);
		assert_int_equal(F.nfound, 0);
	}
	/* a long secret across the boundary, through writev */
	for (i = 0; i < F.n; i++) {
		if (F.len[i] < 1000)
			continue;
		fill(2 * ST_CHUNK);
		memcpy(F.cmd->buf + ST_CHUNK - F.len[i] / 2, F.value[i], F.len[i]);
		F.cmd->nsplit = 1;
		F.cmd->split[0] = ST_CHUNK - 3;
		run(OP_WRITEV);
		check("writev of a long secret across the chunk boundary", SIZE_MAX);
	}
	assert_no_failures();
}

static void test_several_repeats_and_near_misses(void **state)
{
	size_t at = 0;
	int i;

	(void)state;
	fill(BUF_MAX > 60000 ? 60000 : BUF_MAX);
	for (i = 0; i < F.n && at + 2 * F.len[i] + 10 < F.cmd->len; i++) {
		memcpy(F.cmd->buf + at, F.value[i], F.len[i]);
		memcpy(F.cmd->buf + at + F.len[i] + 3, F.value[i], F.len[i]);	/* twice */
		at += 2 * F.len[i] + 10;
	}
	run(OP_WRITE);
	check("many secrets, twice each", SIZE_MAX);
	assert_true(F.nfound > 10);
	/* every secret with one byte changed: nothing */
	for (i = 0; i < F.n; i++) {
		size_t k;

		/* (a secret longer than ST_MAX_SECRET_LEN is recognised by that prefix) */
		for (k = 0; k < F.len[i] && k < ST_MAX_SECRET_LEN;
		     k += F.len[i] > 64 ? F.len[i] / 16 : 1) {
			fill(F.len[i] + 16);
			memcpy(F.cmd->buf + 7, F.value[i], F.len[i]);
			F.cmd->buf[7 + k] ^= 0x20;
			run(OP_WRITE);
			if (F.nfound && F.failures++ < 20)
				print_message("near miss of the %zu-byte secret at %zu: found secret %u\n",
					      F.len[i], k, F.found[0].secret);
		}
	}
	assert_no_failures();
}

/* Write the next `n` bytes of `src` as one call; how many times was secret idx found? */
static int write_piece(int op, const uint8_t *src, size_t n, uint32_t idx)
{
	int j, got = 0;

	memcpy(F.cmd->buf, src, n);
	F.cmd->len = n;
	F.cmd->nsplit = 0;
	run(op);
	for (j = 0; j < F.nfound; j++)
		got += F.found[j].secret == idx ? F.found[j].count : 0;
	return got;
}

/* Secrets of up to max_len bytes spread over consecutive calls on one fd are found once,
 * by the call that completes them: one byte per call, three bytes per call, every two-call
 * split, and after a large write whose tail holds the secret's start. */
static void split_across_calls(size_t max_len)
{
	static const int ops[] = { OP_WRITE, OP_SENDTO, OP_WRITEV };
	uint8_t text[6000];
	size_t k, step, at;
	int i, o, got;

	for (o = 0; o < 3; o++)
		for (i = 0; i < F.n; i++) {
			size_t len = F.len[i];

			if (len > max_len)
				continue;
			for (step = 1; step <= 3; step += 2) {
				got = write_piece(ops[o], (const uint8_t *)FILLER FILLER, 20, F.idx[i]);
				for (at = 0; at < len; at += step)
					got += write_piece(ops[o], F.value[i] + at,
							   at + step > len ? len - at : step, F.idx[i]);
				for (k = 0; k < 3; k++)	/* later calls do not report it again */
					got += write_piece(ops[o], (const uint8_t *)"xyz", 3, F.idx[i]);
				if (got != 1 && F.failures++ < 20)
					print_message("op %d: %zu-byte secret in %zu-byte calls: found %d "
						      "times\n", ops[o], len, step, got);
			}
			for (k = 1; k < len; k++) {
				got = write_piece(ops[o], F.value[i], k, F.idx[i]);
				got += write_piece(ops[o], F.value[i] + k, len - k, F.idx[i]);
				if (got != 1 && F.failures++ < 20)
					print_message("op %d: %zu-byte secret split at %zu: found %d times\n",
						      ops[o], len, k, got);
			}
		}
	/* a 5000-byte write ending with the secret's first half, then the rest */
	for (i = 0; i < F.n; i++) {
		size_t len = F.len[i], half = len / 2;

		if (len > max_len)
			continue;
		for (k = 0; k < sizeof(text); k++)
			text[k] = FILLER[k % 10];
		memcpy(text + sizeof(text) - half, F.value[i], half);
		got = write_piece(OP_WRITE, text, sizeof(text), F.idx[i]);
		got += write_piece(OP_WRITE, F.value[i] + half, len - half, F.idx[i]);
		if (got != 1 && F.failures++ < 20)
			print_message("%zu-byte secret after a large write: found %d times\n", len, got);
	}
}

static void test_split_across_calls(void **state)
{
	volatile uint32_t *want = &F.p.skel->bss->carry_want;
	uint32_t dict_want = *want;
	int i, got;

	(void)state;
	/* the dictionary holds forms longer than ST_CARRY: every call keeps all of it */
	assert_int_equal(dict_want, ST_CARRY);
	split_across_calls(200);
	/* as if the longest form were 64 bytes: a call samples the carry's last 63 bytes, and
	 * secrets up to 64 are found */
	*want = 63;
	split_across_calls(64);
	/* ... so a 100-byte one is found when it starts in them, and not when it starts well
	 * before (no dictionary holds it while the carry says 63) */
	for (i = 0; i < F.n && F.len[i] != 100; i++)
		;
	assert_int_equal(F.len[i], 100);
	got = write_piece(OP_WRITE, F.value[i], 30, F.idx[i]);
	got += write_piece(OP_WRITE, F.value[i] + 30, 70, F.idx[i]);
	assert_int_equal(got, 1);
	got = write_piece(OP_WRITE, F.value[i], 90, F.idx[i]);	/* 90 > 63 + 7 (alignment) */
	got += write_piece(OP_WRITE, F.value[i] + 90, 10, F.idx[i]);
	assert_int_equal(got, 0);
	/* a secret learned between its two parts (a credential the agent already had): the
	 * whole carry was kept, and the scan after the dictionary grew samples enough of it */
	for (i = 0; i < F.n && F.len[i] != 64; i++)
		;
	*want = 14;
	got = write_piece(OP_WRITE, F.value[i], 50, F.idx[i]);
	*want = 63;
	got += write_piece(OP_WRITE, F.value[i] + 50, 14, F.idx[i]);
	assert_int_equal(got, 1);
	*want = dict_want;
	assert_no_failures();
}

static uint64_t not_scanned(void)
{
	uint64_t st[ST_STAT_MAX];

	assert_int_equal(probes_stats(&F.p, st), 0);
	return st[ST_STAT_BYTES_NOT_SCANNED];
}

/* What is not scanned is counted, to the byte: past the scan limit, and pages the call
 * never made resident. */
static void test_not_scanned_is_counted(void **state)
{
	uint64_t before;

	(void)state;
	fill(ST_SCAN_LIMIT_DEFAULT + 1234);
	before = not_scanned();
	run(OP_WRITE);
	assert_int_equal(not_scanned() - before, 1234);

	before = not_scanned();
	run(OP_WRITE_UNTOUCHED);
	assert_int_equal(not_scanned() - before, UNTOUCHED_BYTES);
}

/* A buffer naming more distinct secrets than a call's list of matches holds (a Vault
 * response body written out whole): every one is reported, once, and the first one again
 * at the end (after the list was sent and emptied) twice in all. */
static void test_more_secrets_than_one_list(void **state)
{
	enum { MANY = 3 * ST_MAX_MATCHES_PER_CALL, LEN = 20 };
	static uint8_t value[MANY][LEN];
	uint32_t idx[MANY];
	size_t at = 0;
	int i, j;

	(void)state;
	fill(MANY * (LEN + 5) + LEN);
	for (i = 0; i < MANY; i++) {
		struct secret_origin o = { .request_id = "r", .field = "many" };

		make_secret(value[i], LEN, 991 + i * 7919);
		assert_int_equal(dict_add(&F.d, value[i], LEN, &o, &idx[i]), 1);
		memcpy(F.cmd->buf + at, value[i], LEN);
		at += LEN + 5;
	}
	memcpy(F.cmd->buf + at, value[0], LEN);
	dict_commit(&F.d);
	run(OP_WRITE);
	for (i = 0; i < MANY; i++) {
		int got = 0;

		for (j = 0; j < F.nfound; j++)
			if (F.found[j].secret == idx[i])
				got += F.found[j].count;
		if (got != (i ? 1 : 2) && F.failures++ < 20)
			print_message("secret %d of %d found %d times in one write\n", i, MANY, got);
	}
	assert_no_failures();
}

/* A secret split across a long write (past one 32 KiB chunk, past two) and the next: the
 * carry is taken from the chunk just scanned, which must be the stream's last bytes. */
static void test_split_after_long_write(void **state)
{
	static const size_t sizes[] = { ST_CHUNK - 5, ST_CHUNK + 3, ST_CHUNK + 600, 2 * ST_CHUNK - 20,
					2 * ST_CHUNK + 10, 3 * ST_CHUNK + 7 };
	static uint8_t text[BUF_MAX];
	size_t si, k;
	int i, got;

	(void)state;
	for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
		for (i = 0; i < F.n; i++) {
			size_t len = F.len[i], half = len / 2, sz = sizes[si];

			if (len > ST_CARRY)	/* its start must be in the carry */
				continue;
			for (k = 0; k < sz; k++)
				text[k] = FILLER[k % (sizeof(FILLER) - 1)];
			memcpy(text + sz - half, F.value[i], half);
			got = write_piece(OP_WRITE, text, sz, F.idx[i]);
			got += write_piece(OP_WRITE, F.value[i] + half, len - half, F.idx[i]);
			if (got != 1 && F.failures++ < 20)
				print_message("%zu-byte secret split after a %zu-byte write: found %d "
					      "times\n", len, sz, got);
		}
	assert_no_failures();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_every_offset),
		cmocka_unit_test(test_iovec_every_split),
		cmocka_unit_test(test_chunk_boundary_and_limit),
		cmocka_unit_test(test_several_repeats_and_near_misses),
		cmocka_unit_test(test_not_scanned_is_counted),
		cmocka_unit_test(test_split_across_calls),
		cmocka_unit_test(test_more_secrets_than_one_list),
		cmocka_unit_test(test_split_after_long_write),
	};

	return cmocka_run_group_tests_name("bpf_scan", tests, setup, teardown);
}
