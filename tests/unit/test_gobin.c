// SPDX-License-Identifier: GPL-2.0
/*
 * Go binaries (user/probes/gobin.c) against real ones: tests/agents/go/tlsclient built here
 * with the system's Go as a default, a stripped (-s -w), a PIE and an externally linked,
 * stripped PIE (cgo) executable, checked against `go tool nm` and `objdump -d`; then files
 * that are not Go, a Go program without crypto/tls, truncated and patched copies (a build
 * info claiming go1.16 or go1.24, a bad pclntab magic, a huge function count) and randomly
 * damaged tables, which must give errors, never a crash or a read out of bounds.
 * The binaries are built once per run, into a temporary folder (about 20 s).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probes/gobin.h"

#define SRC "tests/agents/go"

static char dir[64];		/* the temporary folder; "" if Go is not there */
static bool have_cgo;		/* the externally linked PIE could be built */

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int build(const char *out, const char *pkg, const char *cgo, const char *flags)
{
	return run("cd %s && GOCACHE=%s/cache GOPATH=%s/gopath GOFLAGS= GOTOOLCHAIN=local "
		   "GO111MODULE=on CGO_ENABLED=%s go build %s -o %s/%s ./%s", SRC, dir, dir,
		   cgo, flags, dir, out, pkg);
}

static int setup(void **state)
{
	(void)state;
	if (access(SRC "/go.mod", R_OK) || run("go version >/dev/null 2>&1")) {
		fprintf(stderr, "test_gobin: no Go toolchain or no %s (run from the tree's top)\n",
			SRC);
		return 0;
	}
	snprintf(dir, sizeof(dir), "/tmp/test_gobin.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (build("def", "tlsclient", "0", "") ||
	    build("strip", "tlsclient", "0", "-ldflags='-s -w'") ||
	    build("pie", "tlsclient", "0", "-buildmode=pie") || build("notls", "notls", "0", ""))
		return -1;
	have_cgo = !run("command -v gcc >/dev/null") &&
		   !build("cgopie", "tlsclient", "1", "-buildmode=pie -ldflags=-linkmode=external") &&
		   !build("cgopie-s", "tlsclient", "1",
			  "-buildmode=pie -ldflags='-linkmode=external -s -w'");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (dir[0])
		run("chmod -R u+w %s 2>/dev/null; rm -rf %s", dir, dir);
	return 0;
}

#define NEED_GO()                                                      \
	do {                                                           \
		if (!dir[0])                                           \
			skip();                                        \
	} while (0)

/* A function's address and size by `go tool nm -size`. */
static void nm(const char *file, const char *func, uint64_t *addr, uint64_t *size)
{
	char cmd[512], line[512], name[256], type;
	unsigned long a, s;
	FILE *f;

	*addr = *size = 0;
	snprintf(cmd, sizeof(cmd), "go tool nm -size %s", file);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx %lu %c %255s", &a, &s, &type, name) == 4 &&
		    !strcmp(name, func)) {
			*addr = a;
			*size = s;
		}
	pclose(f);
	assert_true(*addr && *size);
}

/* The executable segment's address minus its file offset. */
static uint64_t text_bias(const char *file)
{
	int fd = open(file, O_RDONLY);
	uint64_t bias = UINT64_MAX;
	size_t i, n;
	Elf *e;

	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	assert_int_equal(elf_getphdrnum(e, &n), 0);
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
			bias = ph.p_vaddr - ph.p_offset;
	}
	elf_end(e);
	close(fd);
	assert_true(bias != UINT64_MAX);
	return bias;
}

/* Where `objdump -d` sees RET instructions in [start, end) (addresses). */
static int objdump_rets(const char *file, uint64_t start, uint64_t end, uint64_t *rets, int max)
{
	char cmd[512], line[512];
	unsigned long a;
	int n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "objdump -d --no-show-raw-insn --start-address=%#lx "
		 "--stop-address=%#lx %s", (unsigned long)start, (unsigned long)end, file);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %lx:", &a) == 1 && strstr(line, ":\tret") && n < max)
			rets[n++] = a;
	pclose(f);
	return n;
}

static void read_file(const char *file, uint8_t **buf, size_t *len)
{
	struct stat st;
	int fd = open(file, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = st.st_size;
	*buf = malloc(*len);
	assert_non_null(*buf);
	assert_int_equal(read(fd, *buf, *len), (ssize_t)*len);
	close(fd);
}

static void write_file(const char *file, const uint8_t *buf, size_t len)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Each RET is a C3 byte inside the function, and they are exactly objdump's. */
static void check_func(const char *file, const uint8_t *img, const struct go_func *f,
		       uint64_t addr, uint64_t size, uint64_t bias)
{
	uint64_t want[GOBIN_MAX_RETS + 1];
	int i, n;

	assert_int_equal(f->entry, addr - bias);
	assert_true(f->nrets >= 1);
	for (i = 0; i < f->nrets; i++) {
		assert_true(f->rets[i] > f->entry && f->rets[i] < f->entry + size);
		assert_int_equal(img[f->rets[i]], 0xc3);
	}
	n = objdump_rets(file, addr, addr + size, want, GOBIN_MAX_RETS + 1);
	assert_int_equal(n, f->nrets);
	for (i = 0; i < n; i++)
		assert_int_equal(f->rets[i], want[i] - bias);
}

/* Inspect name, cross-check it against `go tool nm` of symfile (itself, or the unstripped
 * build whose code is the same) and objdump. */
static void check_binary(const char *name, const char *symfile, struct go_binary *b)
{
	char file[128], syms[128], why[256];
	uint64_t waddr, wsize, raddr, rsize, bias;
	uint8_t *img;
	size_t len;

	path_of(file, sizeof(file), name);
	path_of(syms, sizeof(syms), symfile);
	assert_int_equal(gobin_inspect(file, b, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_memory_equal(b->version, "go1.19.", 7);
	assert_int_equal(b->major, 1);
	assert_int_equal(b->minor, 19);
	assert_true(b->regabi);
	assert_int_equal(b->conn_iface_off, 0);
	assert_int_equal(b->netconn_fd_off, 0);
	assert_int_equal(b->netfd_pfd_off, 0);
	assert_int_equal(b->pfd_sysfd_off, 16);
	nm(syms, "crypto/tls.(*Conn).Write", &waddr, &wsize);
	nm(syms, "crypto/tls.(*Conn).Read", &raddr, &rsize);
	bias = text_bias(file);
	assert_int_equal(bias, text_bias(syms));
	read_file(file, &img, &len);
	check_func(file, img, &b->write, waddr, wsize, bias);
	check_func(file, img, &b->read, raddr, rsize, bias);
	free(img);
}

static void test_default(void **state)
{
	struct go_binary b;

	(void)state;
	NEED_GO();
	check_binary("def", "def", &b);
	assert_false(b.stripped);
	assert_true(b.has_dwarf);
	assert_string_equal(b.offsets_from, "dwarf");
}

static void test_stripped(void **state)
{
	struct go_binary b, d;
	char why[256], file[128];

	(void)state;
	NEED_GO();
	check_binary("strip", "def", &b);
	assert_true(b.stripped);
	assert_false(b.has_dwarf);
	assert_string_equal(b.offsets_from, "table");
	/* the same code as the default build: the same functions, at the same places */
	path_of(file, sizeof(file), "def");
	assert_int_equal(gobin_inspect(file, &d, why, sizeof(why)), 0);
	assert_memory_equal(&b.write, &d.write, sizeof(b.write));
	assert_memory_equal(&b.read, &d.read, sizeof(b.read));
}

static void test_pie(void **state)
{
	struct go_binary b;

	(void)state;
	NEED_GO();
	check_binary("pie", "pie", &b);
	assert_false(b.stripped);
	assert_string_equal(b.offsets_from, "dwarf");
}

/* cgo: the system linker merges .data.rel.ro.gopclntab away; stripped, only a scan for the
 * pclntab's header finds it. */
static void test_external_pie(void **state)
{
	struct go_binary b;

	(void)state;
	NEED_GO();
	if (!have_cgo)
		skip();
	check_binary("cgopie", "cgopie", &b);
	assert_false(b.stripped);
	check_binary("cgopie-s", "cgopie", &b);
	assert_true(b.stripped);
	assert_string_equal(b.offsets_from, "table");
}

static void expect(const char *file, int err, const char *why_part)
{
	struct go_binary b;
	char why[256];

	memset(&b, 0xa5, sizeof(b));
	assert_int_equal(gobin_inspect(file, &b, why, sizeof(why)), err);
	assert_non_null(strstr(why, why_part));
	assert_int_equal(b.write.nrets, 0);	/* nothing half-filled is left */
	assert_string_equal(b.version, "");
}

static void test_not_go(void **state)
{
	(void)state;
	expect("/bin/ls", -ENOENT, "not a Go binary");
	expect("/etc/passwd", -ENOENT, "not an ELF file");
	expect("/nonexistent/file", -ENOENT, "No such file");
	expect("/dev/null", -ENOENT, "not an ELF file");
}

static void test_no_tls(void **state)
{
	char file[128];

	(void)state;
	NEED_GO();
	path_of(file, sizeof(file), "notls");
	expect(file, -ENOENT, "crypto/tls");
}

static void test_truncated(void **state)
{
	static const size_t cuts[] = { 4, 63, 64, 1000, 4096, 100000, 1000000 };
	char file[128], out[128], why[256];
	struct go_binary b;
	uint8_t *img;
	size_t len, i;

	(void)state;
	NEED_GO();
	path_of(file, sizeof(file), "def");
	path_of(out, sizeof(out), "truncated");
	read_file(file, &img, &len);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]) + 3; i++) {
		size_t n = i < sizeof(cuts) / sizeof(cuts[0]) ? cuts[i] :
			   i == sizeof(cuts) / sizeof(cuts[0]) ? len / 2 : len - (i % 2 ? 1 : 4000);

		write_file(out, img, n);
		assert_true(gobin_inspect(out, &b, why, sizeof(why)) < 0);
		assert_true(why[0]);
	}
	free(img);
}

/* A copy of name with its bytes at off replaced. */
static void patched(const char *name, const char *out, size_t off, const void *bytes,
		    size_t n)
{
	char file[128];
	uint8_t *img;
	size_t len;

	path_of(file, sizeof(file), name);
	read_file(file, &img, &len);
	assert_true(off + n <= len);
	memcpy(img + off, bytes, n);
	write_file(out, img, len);
	free(img);
}

/* The first place of what in the file, from start on. */
static size_t find(const char *name, size_t start, const void *what, size_t n)
{
	char file[128];
	uint8_t *img, *p;
	size_t len, off;

	path_of(file, sizeof(file), name);
	read_file(file, &img, &len);
	assert_true(start < len);
	p = memmem(img + start, len - start, what, n);
	assert_non_null(p);
	off = p - img;
	free(img);
	return off;
}

/* The build info's version string, as go1.16 and go1.24 would write it. */
static void test_versions(void **state)
{
	char out[128];
	size_t off;

	(void)state;
	NEED_GO();
	path_of(out, sizeof(out), "patched");
	off = find("strip", 0, "\xff Go buildinf:", 14);
	off = find("strip", off, "go1.19.", 7);	/* the inline string after it */
	patched("strip", out, off, "go1.16", 6);
	expect(out, -ENOTSUP, "go1.16");
	expect(out, -ENOTSUP, "stack ABI");
	patched("strip", out, off, "go1.24", 6);
	expect(out, -ENOTSUP, "newer than");
	patched("strip", out, off, "gx1.19", 6);
	expect(out, -ENOTSUP, "not understood");
}

static size_t pclntab_off(void)
{
	static const uint8_t magic[] = { 0xf0, 0xff, 0xff, 0xff, 0, 0, 1, 8 };

	return find("strip", 0, magic, sizeof(magic));
}

static void test_bad_pclntab(void **state)
{
	static const uint8_t bad[] = { 0xaa, 0xff, 0xff, 0xff }, go12[] = { 0xfb, 0xff, 0xff, 0xff };
	static const uint8_t go120[] = { 0xf1, 0xff, 0xff, 0xff };
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0 };
	static const uint8_t quantum[] = { 4 };
	char out[128];
	size_t off;

	(void)state;
	NEED_GO();
	off = pclntab_off();
	path_of(out, sizeof(out), "badpcln");
	patched("strip", out, off, bad, sizeof(bad));
	expect(out, -ENOTSUP, "magic 0xffffffaa unknown");
	patched("strip", out, off, go12, sizeof(go12));
	expect(out, -ENOTSUP, "Go 1.2-1.15");
	patched("strip", out, off, go120, sizeof(go120));
	expect(out, -ENOTSUP, "is not go1.19's");
	patched("strip", out, off + 6, quantum, sizeof(quantum));
	expect(out, -EINVAL, "not of amd64");
	patched("strip", out, off + 8, huge, sizeof(huge));
	expect(out, -EINVAL, "functions: more than it holds");
	patched("strip", out, off + 8 + 3 * 8, huge, sizeof(huge));	/* funcname offset */
	expect(out, -EINVAL, "outside the table");
}

/* Random bytes over the pclntab's header, function table and names: any answer but a
 * crash (valgrind and the sanitizers see reads out of bounds). */
static void test_damaged(void **state)
{
	char file[128], out[128], why[256];
	size_t len, off, i, k;
	struct go_binary b;
	uint8_t *img, *copy;

	(void)state;
	NEED_GO();
	off = pclntab_off();
	path_of(file, sizeof(file), "strip");
	path_of(out, sizeof(out), "damaged");
	read_file(file, &img, &len);
	copy = malloc(len);
	assert_non_null(copy);
	srandom(7);
	for (i = 0; i < 40; i++) {
		memcpy(copy, img, len);
		for (k = 0; k < 1 + i % 8; k++) {
			size_t at = off + (size_t)random() % (i < 20 ? 96 : len - off);

			copy[at] = random();
		}
		write_file(out, copy, len);
		if (gobin_inspect(out, &b, why, sizeof(why)) == 0)
			assert_true(b.write.nrets > 0 && b.read.nrets > 0);
		else
			assert_true(why[0]);
	}
	free(copy);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_stripped),
		cmocka_unit_test(test_pie),
		cmocka_unit_test(test_external_pie),
		cmocka_unit_test(test_not_go),
		cmocka_unit_test(test_no_tls),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_bad_pclntab),
		cmocka_unit_test(test_damaged),
	};

	return cmocka_run_group_tests_name("gobin", tests, setup, teardown);
}
