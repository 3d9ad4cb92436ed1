// SPDX-License-Identifier: GPL-2.0
/*
 * Probes, TLS part: uprobes on the TLS libraries a traced process can use. They are
 * attached per library file for every process (the kernel filter picks the traced ones),
 * so that a process, a freshly forked or exec'd child, or a library it dlopens, is seen
 * from its very first call: at start, every OpenSSL and GnuTLS on the system's library
 * paths and node in PATH; later, any other file a traced process maps or executes that
 * exports the functions (a container's own libssl, a static build), as soon as it is seen.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "probes.h"
#include "secretrace.skel.h"
#include "tls_attach.h"
#include "u64map.h"

struct hook {
	const char *func;
	bool ret;
	struct bpf_program *(*prog)(struct secretrace_bpf *s);
};

#define PROG(name)                                                                       \
	static struct bpf_program *prog_##name(struct secretrace_bpf *s)                 \
	{                                                                                \
		return s->progs.name;                                                    \
	}
PROG(handle_ssl_write)
PROG(handle_ssl_write_ex)
PROG(handle_ssl_read)
PROG(handle_ssl_read_ex)
PROG(handle_tls_read_ret)
PROG(handle_ssl_set_fd)
PROG(handle_ssl_handshake)
PROG(handle_gnutls_record_send)
PROG(handle_gnutls_record_recv)
PROG(handle_gnutls_transport_set_int2)

static const struct hook hooks[] = {
	{ "SSL_write", false, prog_handle_ssl_write },
	{ "SSL_write_ex", false, prog_handle_ssl_write_ex },
	{ "SSL_read", false, prog_handle_ssl_read },
	{ "SSL_read", true, prog_handle_tls_read_ret },
	{ "SSL_read_ex", false, prog_handle_ssl_read_ex },
	{ "SSL_read_ex", true, prog_handle_tls_read_ret },
	{ "SSL_set_fd", false, prog_handle_ssl_set_fd },
	{ "SSL_do_handshake", false, prog_handle_ssl_handshake },
	{ "SSL_connect", false, prog_handle_ssl_handshake },
	{ "gnutls_record_send", false, prog_handle_gnutls_record_send },
	{ "gnutls_record_recv", false, prog_handle_gnutls_record_recv },
	{ "gnutls_record_recv", true, prog_handle_tls_read_ret },
	{ "gnutls_transport_set_int2", false, prog_handle_gnutls_transport_set_int2 },
};

static struct u64map seen;	/* (dev, inode) of every file looked at */
static struct bpf_link **links;
static size_t nlinks, caplinks;
static char attached[2048];	/* the files with uprobes, comma-separated */

static int keep_link(struct bpf_link *l)
{
	if (nlinks == caplinks) {
		size_t cap = caplinks ? caplinks * 2 : 32;
		struct bpf_link **n = realloc(links, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		links = n;
		caplinks = cap;
	}
	links[nlinks++] = l;
	return 0;
}

int tls_attach_file(struct probes *p, const char *path)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts);
	struct stat st;
	uint64_t key;
	size_t i, n = 0;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	key = u64map_key((uint64_t)st.st_dev << 40 ^ st.st_ino);
	if (!seen.cap && u64map_init(&seen, 64))
		return -ENOMEM;
	if (u64map_get(&seen, key, NULL))
		return 0;
	u64map_put(&seen, key, 1);
	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		struct bpf_link *l;

		opts.func_name = hooks[i].func;
		opts.retprobe = hooks[i].ret;
		/* a file without the function fails here: it is not a TLS library */
		l = bpf_program__attach_uprobe_opts(hooks[i].prog(p->skel), -1, path, 0, &opts);
		if (!l)
			continue;
		if (keep_link(l)) {
			bpf_link__destroy(l);
			return -ENOMEM;
		}
		n++;
	}
	if (n) {
		size_t len = strlen(attached);

		snprintf(attached + len, sizeof(attached) - len, "%s%s", len ? "," : "", path);
		st_debug("TLS uprobes on %s (%zu functions)", path, n);
	}
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

void tls_detach(void)
{
	while (nlinks)
		bpf_link__destroy(links[--nlinks]);
	free(links);
	links = NULL;
	caplinks = 0;
	u64map_free(&seen);
	attached[0] = 0;
}
