// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the spool's reader (output/spool.c): the input is what a previous run
 * (or a crash, or a damaged disk) left in a spool directory: segment files and a cursor.
 * Input: a byte of flags and segment count, then per segment an id step (1 byte) and a
 * length (2 bytes, little-endian) and that many bytes; then the cursor: with flag 0x80 one
 * made of a segment's index (1 byte) and an offset (2 bytes), else the rest taken as its
 * text. Lines appended after the drain come from the same bytes.
 * Invariants: no crash, leak or undefined behaviour; spool_open succeeds; every batch the
 * reader gets starts at a line's start and ends with a newline; the lines read add up to
 * what was pending; once all is delivered nothing is pending; lines appended afterwards
 * come back byte for byte, less those the bound dropped (counted).
 * Build and run: tools/fuzz.sh [seconds] (FUZZ_TARGETS=spool for this one alone)
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/spool.h"
#include "fuzz.h"

#define MAX_SEGS 40

static char dir[64];

static void write_file(const char *name, const uint8_t *p, size_t n)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	check(fd >= 0);
	check(write(fd, p, n) == (ssize_t)n);
	close(fd);
}

static void clear_dir(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			check(!unlinkat(dirfd(d), de->d_name, 0));
	closedir(d);
	check(!rmdir(dir));
}

/* Reads and delivers every pending batch; returns the lines read, and the bytes in out. */
static uint64_t drain(struct spool *s, char **out, size_t *outlen)
{
	struct spool_mark m;
	uint64_t lines = 0;

	while (spool_head(s, &m)) {
		size_t n = m.end - m.off, i, got = 0;
		char *buf = malloc(n + 1), prev = '\n';
		int fd = spool_open_seg(s, m.id);

		check(buf && fd >= 0);
		if (m.off)
			check(pread(fd, &prev, 1, m.off - 1) == 1);
		check(prev == '\n');	/* a batch starts at a line's start */
		check(pread(fd, buf, n, m.off) == (ssize_t)n);
		close(fd);
		check(n && buf[n - 1] == '\n');
		for (i = 0; i < n; i++)
			got += buf[i] == '\n';
		m.lines = got;
		check(spool_take(s, &m));
		check(spool_done(s, true, 0));
		lines += got;
		if (out) {
			*out = realloc(*out, *outlen + n);
			check(*out);
			memcpy(*out + *outlen, buf, n);
			*outlen += n;
		}
		free(buf);
	}
	return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	uint64_t ids[MAX_SEGS], id = 0, pending, lines, want, dropped;
	char err[256], name[32], *back = NULL, *sent;
	size_t nback = 0, nsent = 0, i;
	struct spool s;
	int nseg, k;
	uint8_t flags;

	if (size < 1)
		return 0;
	/* tmpfs where there is one: the target is file I/O bound */
	snprintf(dir, sizeof(dir), "%s/fuzz_spool.%d",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm", (int)getpid());
	clear_dir();
	check(!mkdir(dir, 0700));
	flags = *p++;
	nseg = flags & 0x3f;
	if (nseg > MAX_SEGS)
		nseg = MAX_SEGS;
	for (k = 0; k < nseg && end - p >= 3; k++) {
		size_t n = p[1] | p[2] << 8;

		id += p[0] ? p[0] : 1;
		ids[k] = id;
		p += 3;
		if (n > (size_t)(end - p))
			n = end - p;
		snprintf(name, sizeof(name), "%016" PRIx64 ".seg", id);
		write_file(name, p, n);
		p += n;
	}
	nseg = k;
	if (flags & 0x80 && end - p >= 3 && nseg) {
		char cur[40];

		snprintf(cur, sizeof(cur), "%016" PRIx64 " %016x\n", ids[p[0] % nseg],
			 (unsigned)(p[1] | p[2] << 8));
		write_file("cursor", (const uint8_t *)cur, strlen(cur));
		p += 3;
	} else if (p < end) {
		write_file("cursor", p, end - p > 40 ? 40 : end - p);
	}

	check(!spool_open(&s, dir, flags & 0x40 ? 0 : 1 << 20, err, sizeof(err)));
	pending = s.pending;
	lines = drain(&s, NULL, NULL);
	check(lines == pending);
	check(!s.pending && !spool_pending_bytes(&s));

	/* the input's bytes again, as lines: appended, then read back whole */
	sent = malloc(size + size / 97 + 2);
	check(sent);
	want = 0;
	for (i = 0; i < size; i++) {
		sent[nsent++] = data[i] == '\n' ? ' ' : data[i];
		if (i % 97 == 96 || i == size - 1) {
			sent[nsent++] = '\n';
			want++;
		}
	}
	dropped = s.dropped;
	for (k = 0; k < 40; k++)	/* 40 copies: past the 64 KiB bound with big inputs */
		check(!spool_append(&s, sent, nsent, want));
	lines = drain(&s, &back, &nback);
	check(lines + (s.dropped - dropped) == 40 * want);
	check(nback % nsent == 0 && nback / nsent == lines / want);
	for (i = 0; i < nback; i += nsent)
		check(!memcmp(back + i, sent, nsent));
	free(back);
	free(sent);
	spool_close(&s);
	clear_dir();
	return 0;
}
