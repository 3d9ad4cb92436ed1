// SPDX-License-Identifier: GPL-2.0
/*
 * Probes, Go part: uprobes on crypto/tls.(*Conn).Write and .Read of each Go executable a
 * traced process runs (docs/go.md). Per file, for every process, like the TLS libraries
 * (tls.c): the kernel filter picks the traced processes. gobin.c says where the probes go:
 * Write's entry, Read's entry and every RET of Read (no uretprobes: Go moves stacks);
 * the binary's way from a *tls.Conn to its socket goes into go_offsets at the binary's
 * index, which each probe's cookie carries with its kind.
 *
 * Every exec'd file is looked at once (device, inode); only ELF files are inspected.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/u64map.h"
#include "probes/gobin.h"
#include "probes/go.h"
#include "probes/probes.h"
#include "secretrace.skel.h"

#define GO_MAX_PROBES (2 + GOBIN_MAX_RETS)

static struct u64map seen;	/* (dev, inode) of every file looked at */
static uint32_t nbins;		/* go_offsets entries used */
static char attached[2048];	/* the files with probes, comma-separated */

static bool is_elf(int fd)
{
	unsigned char m[4];

	return pread(fd, m, sizeof(m), 0) == sizeof(m) && !memcmp(m, "\177ELF", 4);
}

/* Write's entry, Read's entry, Read's RETs: offsets and cookies; returns the count. */
static uint32_t probe_list(const struct go_binary *b, uint32_t bin, uint64_t offs[],
			   uint64_t cookies[])
{
	uint32_t n = 0;
	int i;

	offs[n] = b->write.entry;
	cookies[n++] = (uint64_t)bin << 8 | ST_GO_WRITE;
	offs[n] = b->read.entry;
	cookies[n++] = (uint64_t)bin << 8 | ST_GO_READ;
	for (i = 0; i < b->read.nrets && i < GOBIN_MAX_RETS; i++) {
		offs[n] = b->read.rets[i];
		cookies[n++] = (uint64_t)bin << 8 | ST_GO_READ_RET;
	}
	return n;
}

static int attach(struct probes *p, const char *path, const uint64_t *offs,
		  const uint64_t *cookies, uint32_t n)
{
	struct bpf_program *prog = p->skel->progs.handle_go_tls;
	uint32_t i;
	int err;

	if (p->uprobe_multi)
		return probes_attach_uprobe_multi(p, prog, path, offs, cookies, n, false);
	for (i = 0; i < n; i++) {
		err = probes_attach_uprobe(p, prog, path, offs[i], cookies[i], false);
		if (err)
			return err;
	}
	return 0;
}

/* The file is held open while it is inspected and probed, and both go through
 * /proc/self/fd: a process that exits meanwhile takes its /proc/PID/root path with it. */
int go_attach_file(struct probes *p, const char *path)
{
	uint64_t offs[GO_MAX_PROBES], cookies[GO_MAX_PROBES], key;
	char why[160] = "", fdpath[32];
	struct st_go_offsets o;
	struct go_binary b;
	struct stat st;
	uint32_t n, bin;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		goto out;
	key = u64map_key((uint64_t)st.st_dev << 40 ^ st.st_ino);
	if ((!seen.cap && u64map_init(&seen, 64)) || u64map_get(&seen, key, NULL))
		goto out;
	u64map_put(&seen, key, 1);
	if (!is_elf(fd))
		goto out;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	err = gobin_inspect(fdpath, &b, why, sizeof(why));
	if (err == -ENOENT)	/* not Go, or no crypto/tls: nothing to probe */
		goto out;
	if (err) {
		st_warn("Go binary %s: TLS probes not attached (%s): its TLS traffic is not seen",
			path, why[0] ? why : strerror(-err));
		goto out;
	}
	if (nbins >= ST_GO_MAX_BINARIES) {
		st_warn("Go binary %s: TLS probes not attached (more than %d Go binaries): its "
			"TLS traffic is not seen", path, ST_GO_MAX_BINARIES);
		goto out;
	}
	bin = nbins;
	o = (struct st_go_offsets){ .conn_iface = b.conn_iface_off,
				    .netconn_fd = b.netconn_fd_off,
				    .netfd_pfd = b.netfd_pfd_off,
				    .pfd_sysfd = b.pfd_sysfd_off };
	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.go_offsets), &bin, &o, BPF_ANY)) {
		st_warn("Go binary %s: TLS probes not attached (offsets map: %s)", path,
			strerror(errno));
		goto out;
	}
	nbins++;
	n = probe_list(&b, bin, offs, cookies);
	err = attach(p, fdpath, offs, cookies, n);
	if (err) {
		st_warn("Go binary %s: TLS probes did not attach (%s): its TLS traffic is not seen",
			path, strerror(-err));
		goto out;
	}
	close(fd);
	snprintf(attached + strlen(attached), sizeof(attached) - strlen(attached), "%s%s",
		 attached[0] ? "," : "", path);
	st_debug("Go TLS uprobes on %s (%s, %u probes, offsets from %s, %s)", path, b.version,
		 n, b.offsets_from, p->uprobe_multi ? "uprobe_multi" : "one link each");
	return (int)n;
out:
	close(fd);
	return 0;
}

int go_attach_exe(struct probes *p, uint32_t pid, const char *exe)
{
	char path[PATH_MAX + 32];

	if (!exe || exe[0] != '/')
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/root%s", pid, exe);
	return go_attach_file(p, path);
}

int go_attach_process(struct probes *p, uint32_t pid)
{
	char link[64], exe[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = 0;
	/* a file replaced since it started: only the link still reaches it */
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		return go_attach_file(p, link);
	return go_attach_exe(p, pid, exe);
}

const char *go_attached(void)
{
	return attached;
}

void go_free(void)
{
	u64map_free(&seen);
	nbins = 0;
	attached[0] = 0;
}
