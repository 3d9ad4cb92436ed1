// SPDX-License-Identifier: GPL-2.0
/*
 * Probes, TLS part: uprobes on the TLS libraries a traced process can use. They are
 * attached per library file for every process (the kernel filter picks the traced ones),
 * so that a process, a freshly forked or exec'd child, or a library it dlopens, is seen
 * from its very first call: at start, every OpenSSL and GnuTLS on the system's library
 * paths and node in PATH; later, any other file a traced process maps or executes that
 * exports the functions (a container's own libssl, a static build), as soon as it is seen.
 *
 * One entry program and one return program serve every function; the attach cookie names
 * the function. Where the kernel has uprobe_multi links (6.6+), a file takes two links
 * (attaching and, above all, detaching uprobes one by one waits for a grace period each);
 * elsewhere, one perf-event uprobe per function.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "probes/probes.h"
#include "secretrace.skel.h"
#include "probes/tls.h"
#include "lib/u64map.h"

static const struct {
	const char *name;
	enum st_tls_func func;
	bool ret;		/* a return probe too (its value is the bytes read) */
} funcs[] = {
	{ "SSL_write", ST_TLS_SSL_WRITE, false },
	{ "SSL_write_ex", ST_TLS_SSL_WRITE_EX, false },
	{ "SSL_read", ST_TLS_SSL_READ, true },
	{ "SSL_read_ex", ST_TLS_SSL_READ_EX, true },
	{ "SSL_set_fd", ST_TLS_SSL_SET_FD, false },
	{ "gnutls_record_send", ST_TLS_GNUTLS_SEND, false },
	{ "gnutls_record_recv", ST_TLS_GNUTLS_RECV, true },
	{ "gnutls_transport_set_int2", ST_TLS_GNUTLS_SET_INT2, false },
	{ "SSL_do_handshake", ST_TLS_HANDSHAKE, false },
	{ "SSL_connect", ST_TLS_HANDSHAKE, false },
};
#define NFUNCS (sizeof(funcs) / sizeof(funcs[0]))

static struct u64map seen;	/* (dev, inode) of every file looked at */
static char attached[2048];	/* the files with uprobes, comma-separated */

/* File offsets of the functions a file defines (dynamic or static symbols); 0: absent. */
static int func_offsets(const char *path, uint64_t off[NFUNCS])
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t i, nph;
	int fd, found = 0;

	memset(off, 0, sizeof(uint64_t) * NFUNCS);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph)) {
		if (elf)
			elf_end(elf);
		close(fd);
		return 0;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t k, n;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB))
			continue;
		data = elf_getdata(scn, NULL);
		n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (k = 0; data && k < n; k++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, k, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			for (i = 0; name && i < NFUNCS; i++) {
				size_t p;

				if (off[i] || strcmp(name, funcs[i].name))
					continue;
				/* the address, as an offset into the file: through its segment */
				for (p = 0; p < nph; p++) {
					GElf_Phdr ph;

					if (gelf_getphdr(elf, p, &ph) && ph.p_type == PT_LOAD &&
					    (ph.p_flags & PF_X) && sym.st_value >= ph.p_vaddr &&
					    sym.st_value < ph.p_vaddr + ph.p_memsz) {
						off[i] = sym.st_value - ph.p_vaddr + ph.p_offset;
						found++;
						break;
					}
				}
			}
		}
	}
	elf_end(elf);
	close(fd);
	return found;
}

static int attach_multi(struct probes *p, const char *path, const uint64_t off[NFUNCS])
{
	uint64_t offs[NFUNCS], cookies[NFUNCS];
	uint32_t n = 0, i;
	int err;

	for (i = 0; i < NFUNCS; i++)
		if (off[i]) {
			offs[n] = off[i];
			cookies[n++] = funcs[i].func;
		}
	err = probes_attach_uprobe_multi(p, p->skel->progs.handle_tls_enter, path, offs, cookies,
					 n, false);
	if (err)
		return err;
	for (i = 0, n = 0; i < NFUNCS; i++)
		if (off[i] && funcs[i].ret) {
			offs[n] = off[i];
			cookies[n++] = funcs[i].func;
		}
	if (!n)
		return 0;
	return probes_attach_uprobe_multi(p, p->skel->progs.handle_tls_return, path, offs, cookies,
					  n, true);
}

static int attach_each(struct probes *p, const char *path, const uint64_t off[NFUNCS])
{
	size_t i;
	int err;

	for (i = 0; i < NFUNCS; i++) {
		if (!off[i])
			continue;
		err = probes_attach_uprobe(p, p->skel->progs.handle_tls_enter, path, off[i], funcs[i].func, false);
		if (!err && funcs[i].ret)
			err = probes_attach_uprobe(p, p->skel->progs.handle_tls_return,
						     path, off[i], funcs[i].func,
					 true);
		if (err)
			return err;
	}
	return 0;
}

int tls_attach_file(struct probes *p, const char *path)
{
	uint64_t off[NFUNCS];
	struct stat st;
	uint64_t key;
	int n, err;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	key = u64map_key((uint64_t)st.st_dev << 40 ^ st.st_ino);
	if (!seen.cap && u64map_init(&seen, 64))
		return -ENOMEM;
	if (u64map_get(&seen, key, NULL))
		return 0;
	u64map_put(&seen, key, 1);
	n = func_offsets(path, off);
	if (!n)	/* no TLS functions here */
		return 0;
	err = p->uprobe_multi ? attach_multi(p, path, off) : attach_each(p, path, off);
	if (err) {
		st_warn("TLS probes on %s did not attach (%s): its TLS traffic is not seen", path,
			strerror(-err));
		return err;
	}
	snprintf(attached + strlen(attached), sizeof(attached) - strlen(attached), "%s%s",
		 attached[0] ? "," : "", path);
	st_debug("TLS uprobes on %s (%d functions, %s)", path, n,
		 p->uprobe_multi ? "uprobe_multi" : "one link each");
	return n;
}

/* Files whose name says they may be a TLS library (or hold one, statically). */
static bool tls_candidate(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libssl.so", 9) || !strncmp(base, "libgnutls.so", 12) ||
	       !strcmp(base, "node") || !strcmp(base, "nodejs");
}

int tls_attach_system(struct probes *p)
{
	static const char *const patterns[] = {
		"/lib/x86_64-linux-gnu/libssl.so.*", "/usr/lib/x86_64-linux-gnu/libssl.so.*",
		"/lib64/libssl.so.*", "/usr/lib64/libssl.so.*", "/usr/local/lib/libssl.so.*",
		"/lib/x86_64-linux-gnu/libgnutls.so.*", "/usr/lib/x86_64-linux-gnu/libgnutls.so.*",
		"/lib64/libgnutls.so.*", "/usr/lib64/libgnutls.so.*",
	};
	const char *path = getenv("PATH");
	char *dirs, *d, *save = NULL, file[PATH_MAX];
	size_t i, k;
	int n = 0;

	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		glob_t g;

		if (glob(patterns[i], 0, NULL, &g))
			continue;
		for (k = 0; k < g.gl_pathc; k++)
			n += tls_attach_file(p, g.gl_pathv[k]) > 0;
		globfree(&g);
	}
	/* node carries OpenSSL linked in and exports its functions */
	dirs = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(file, sizeof(file), "%s/node", d);
		n += tls_attach_file(p, file) > 0;
		snprintf(file, sizeof(file), "%s/nodejs", d);
		n += tls_attach_file(p, file) > 0;
	}
	free(dirs);
	return n;
}

int tls_attach_exe(struct probes *p, uint32_t pid, const char *exe)
{
	char path[PATH_MAX];

	if (!exe || !tls_candidate(exe))
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/root%s", pid, exe);
	return tls_attach_file(p, path);
}

int tls_attach_process(struct probes *p, uint32_t pid)
{
	char maps[64], line[PATH_MAX + 128], path[PATH_MAX + 32];
	FILE *f;
	int n = 0;

	snprintf(maps, sizeof(maps), "/proc/%u/maps", pid);
	f = fopen(maps, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/');

		if (!file)
			continue;
		file[strcspn(file, "\n")] = 0;
		if (!tls_candidate(file))
			continue;
		/* through the process's root: a container's library is its own file */
		snprintf(path, sizeof(path), "/proc/%u/root%s", pid, file);
		n += tls_attach_file(p, path) > 0;
	}
	fclose(f);
	return n;
}

const char *tls_attached(void)
{
	return attached;
}

void tls_free(void)
{
	u64map_free(&seen);
	attached[0] = 0;
}
