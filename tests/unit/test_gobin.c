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
		   !build("cgopie", "tlsclient", "1",
			  "-buildmode=pie -ldflags=-linkmode=external") &&
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
	static const uint8_t bad[] = { 0xaa, 0xff, 0xff, 0xff };
	static const uint8_t go12[] = { 0xfb, 0xff, 0xff, 0xff };
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

/*
 * A Go 1.17 binary, which no toolchain here builds: made by hand, with the build info's
 * pointers to the version string and the pclntab's absolute, pointer-sized entries of Go
 * 1.16-1.17; as a PIE, those pointers are 0 in the file and left to R_X86_64_RELATIVE
 * relocations.
 */
#define BASE 0x400000
#define TEXT 0x1000
#define PCLN 0x1100
#define DATA 0x1400
#define RELA 0x1500
#define SHSTR 0x15c0
#define SHDRS 0x1600
#define GO117_SIZE (SHDRS + 6 * sizeof(Elf64_Shdr))

static void put(uint8_t *img, uint64_t off, uint64_t v, int n)
{
	memcpy(img + off, &v, n);
}

/* The pointer v at off, or in a PIE a relocation saying so (rela: its next slot). */
static void ptr(uint8_t *img, uint64_t off, uint64_t v, bool pie, int *rela)
{
	Elf64_Rela *r = (Elf64_Rela *)(img + RELA) + (*rela)++;

	if (!pie) {
		put(img, off, v, 8);
		return;
	}
	r->r_offset = BASE + off;
	r->r_info = ELF64_R_INFO(0, R_X86_64_RELATIVE);
	r->r_addend = v;
}

static void go117(uint8_t *img, bool pie, const char *version, uint32_t magic)
{
	static const char names[] = "\0.text\0.gopclntab\0.go.buildinfo\0.rela.dyn\0.shstrtab";
	static const char funcs[] = "crypto/tls.(*Conn).Write\0crypto/tls.(*Conn).Read\0main.f";
	static const struct { uint32_t type, name; uint64_t off, size; } secs[] = {
		{ SHT_PROGBITS, 1, TEXT, PCLN - TEXT }, { SHT_PROGBITS, 7, PCLN, DATA - PCLN },
		{ SHT_PROGBITS, 18, DATA, RELA - DATA }, { SHT_RELA, 32, RELA, 6 * 24 },
		{ SHT_STRTAB, 42, SHSTR, sizeof(names) },
	};
	static const uint32_t nameoff[] = { 0, 25, 49 };
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	int i, rela = 0;

	memset(img, 0, GO117_SIZE);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = pie ? ET_DYN : ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_shoff = SHDRS;
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 3;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 6;
	eh->e_shstrndx = 5;
	for (i = 0; i < 3; i++) {
		static const uint32_t flags[] = { PF_R | PF_X, PF_R, PF_R | PF_W };
		static const uint64_t start[] = { TEXT, PCLN, DATA }, end[] = { PCLN, DATA, SHSTR };
		Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh)) + i;

		ph->p_type = PT_LOAD;
		ph->p_flags = flags[i];
		ph->p_offset = start[i];
		ph->p_vaddr = ph->p_paddr = BASE + start[i];
		ph->p_filesz = ph->p_memsz = end[i] - start[i];
	}
	for (i = 0; i < 5; i++) {
		Elf64_Shdr *sh = (Elf64_Shdr *)(img + SHDRS) + i + 1;

		sh->sh_type = secs[i].type;
		sh->sh_name = secs[i].name;
		sh->sh_offset = secs[i].off;
		sh->sh_size = secs[i].size;
		sh->sh_addr = secs[i].type == SHT_STRTAB ? 0 : BASE + secs[i].off;
		sh->sh_entsize = secs[i].type == SHT_RELA ? sizeof(Elf64_Rela) : 0;
	}
	memcpy(img + SHSTR, names, sizeof(names));
	memset(img + TEXT, 0xcc, PCLN - TEXT);
	memcpy(img + TEXT, "\x48\x89\xd8\x74\x01\xc3\x31\xc0", 8);	/* mov; je; ret; xor */
	memcpy(img + TEXT + 0x40, "\x31\xc0\xc3", 3);			/* xor; ret */
	img[TEXT + 0x80] = 0xc3;
	/* pclntab: magic, 0, 0, 1, 8; nfunc, nfiles, funcnametab, cutab, filetab, pctab,
	 * functab; functab: (entry, _func offset) x 3, end; each _func: entry, nameoff */
	put(img, PCLN, magic, 4);
	put(img, PCLN + 6, 0x0801, 2);
	put(img, PCLN + 8, 3, 8);
	put(img, PCLN + 24, 72, 8);
	put(img, PCLN + 56, 0x80, 8);
	memcpy(img + PCLN + 72, funcs, sizeof(funcs));
	for (i = 0; i < 4; i++)
		ptr(img, PCLN + 0x80 + 16 * i, BASE + TEXT + 0x40 * i, pie, &rela);
	for (i = 0; i < 3; i++) {
		put(img, PCLN + 0x80 + 16 * i + 8, 0x40 + 16 * i, 8);
		put(img, PCLN + 0xc0 + 16 * i, BASE + TEXT + 0x40 * i, 8);
		put(img, PCLN + 0xc8 + 16 * i, nameoff[i], 4);
	}
	/* build info: header, then a pointer to the string header (data, len) of the version */
	memcpy(img + DATA, "\xff Go buildinf:\x08\x00", 16);
	ptr(img, DATA + 16, BASE + DATA + 0x40, pie, &rela);
	ptr(img, DATA + 0x40, BASE + DATA + 0x50, pie, &rela);
	put(img, DATA + 0x48, strlen(version), 8);
	memcpy(img + DATA + 0x50, version, strlen(version));
}

static void test_go117(void **state)
{
	static uint8_t img[GO117_SIZE];
	char out[64], why[256];
	struct go_binary b;
	int pie, fd;

	(void)state;
	snprintf(out, sizeof(out), "/tmp/test_gobin117.XXXXXX");
	fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	for (pie = 0; pie < 2; pie++) {
		go117(img, pie, "go1.17.13", 0xfffffffa);
		write_file(out, img, sizeof(img));
		assert_int_equal(gobin_inspect(out, &b, why, sizeof(why)), 0);
		assert_string_equal(b.version, "go1.17.13");
		assert_int_equal(b.minor, 17);
		assert_true(b.regabi && b.stripped && !b.has_dwarf);
		assert_string_equal(b.offsets_from, "table");
		assert_int_equal(b.pfd_sysfd_off, 16);
		assert_int_equal(b.write.entry, TEXT);
		assert_int_equal(b.write.nrets, 1);
		assert_int_equal(b.write.rets[0], TEXT + 5);
		assert_int_equal(b.read.entry, TEXT + 0x40);
		assert_int_equal(b.read.nrets, 1);
		assert_int_equal(b.read.rets[0], TEXT + 0x42);
		go117(img, pie, "go1.16.15", 0xfffffffa);
		write_file(out, img, sizeof(img));
		expect(out, -ENOTSUP, "go1.16.15 uses the stack ABI");
		go117(img, pie, "go1.17.13", 0xfffffff0);
		write_file(out, img, sizeof(img));
		expect(out, -ENOTSUP, "is not go1.17's");
		go117(img, pie, "go1.18.10", 0xfffffffa);
		write_file(out, img, sizeof(img));
		expect(out, -ENOTSUP, "is not go1.18's");
	}
	unlink(out);
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
		cmocka_unit_test(test_go117),
	};

	return cmocka_run_group_tests_name("gobin", tests, setup, teardown);
}
