// SPDX-License-Identifier: GPL-2.0
/*
 * Probes, Go part: what a Go binary's own file says about crypto/tls (docs/go.md).
 *
 * - The Go version, from the build info blob the linker leaves in .go.buildinfo (Go's
 *   src/debug/buildinfo/buildinfo.go): inline varint strings since Go 1.18, pointers to Go
 *   strings before. It decides what is supported: Go 1.17 (register ABI on amd64) to 1.23.
 * - The functions, from .symtab when the binary has one, else from the pclntab, the table
 *   the runtime itself walks (Go's src/runtime/symtab.go, pcHeader and _func; the magic
 *   must be the one of that Go version).
 * - Their RET instructions, by disassembling each whole function with capstone: uprobes
 *   there stand in for return probes, which Go's moving stacks do not allow.
 * - The offsets from a *tls.Conn to the socket's descriptor, from DWARF when present, else
 *   from a table per Go version.
 *
 * Every read of the file is bounds-checked against the mapped file: a truncated or hostile
 * file gives an error and a reason, never a guess.
 */
#include <capstone/capstone.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probes/gobin.h"

#define WRITE_FN "crypto/tls.(*Conn).Write"
#define READ_FN "crypto/tls.(*Conn).Read"

#define BUILDINFO_MAGIC "\xff Go buildinf:"
#define BUILDINFO_SCAN (64 * 1024)	/* as debug/buildinfo: the blob is near the start */
#define MAX_FUNC_SIZE (1 << 20)		/* no Go function in crypto/tls comes near */

#define PCLN_GO116 0xfffffffau		/* Go 1.16 and 1.17 */
#define PCLN_GO118 0xfffffff0u		/* Go 1.18 and 1.19 */
#define PCLN_GO120 0xfffffff1u		/* Go 1.20 onwards */
#define PCLN_GO12 0xfffffffbu		/* Go 1.2 to 1.15 */

/* Offsets from a *tls.Conn to poll.FD.Sysfd by Go version, where the binary has no DWARF.
 * Checked against Go's src/crypto/tls/conn.go (Conn.conn first), src/net/net.go (conn.fd
 * only), src/net/tcpsock.go (TCPConn embeds conn first), src/net/fd_posix.go (netFD.pfd
 * first), src/internal/poll/fd_unix.go and fd_mutex.go (FD.fdmu, 16 bytes, then Sysfd). */
static const struct {
	int min, max;		/* Go 1.min to 1.max */
	int64_t conn, fd, pfd, sysfd;
} layouts[] = {
	{ 17, 23, 0, 0, 0, 16 },
};

struct gofile {
	int fd;
	const uint8_t *map;
	size_t size;
	Elf *elf;
	size_t nph;
	char *why;
	size_t whylen;
};

/* The pclntab: its header's words, as offsets into data. */
struct pcln {
	const uint8_t *data;
	uint64_t size, vaddr;
	uint32_t magic;
	uint64_t nfunc, text, funcname, functab;
	unsigned field;		/* bytes in a functab field: 8 (1.16-1.17) or 4 (1.18+) */
};

struct fninfo {
	bool found;
	uint64_t addr, size;
};

static int fail(struct gofile *g, int err, const char *fmt, ...)
{
	va_list ap;

	if (g->why && g->whylen) {
		va_start(ap, fmt);
		vsnprintf(g->why, g->whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* len bytes of the file at off, or NULL if they are not all in it. */
static const uint8_t *at(const struct gofile *g, uint64_t off, uint64_t len)
{
	if (off > g->size || len > g->size - off)
		return NULL;
	return g->map + off;
}

/* The file offset of [addr, addr + len) if it lies in the file-backed part of one PT_LOAD
 * segment with (at least) flags. */
static bool addr_off(const struct gofile *g, uint64_t addr, uint64_t len, uint32_t flags,
		     uint64_t *off)
{
	size_t i;

	for (i = 0; i < g->nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(g->elf, i, &ph) || ph.p_type != PT_LOAD ||
		    (ph.p_flags & flags) != flags || addr < ph.p_vaddr ||
		    addr - ph.p_vaddr >= ph.p_filesz || len > ph.p_filesz - (addr - ph.p_vaddr))
			continue;
		*off = addr - ph.p_vaddr + ph.p_offset;
		return at(g, *off, len) != NULL;
	}
	return false;
}

/* The bytes from addr to the end of its segment's part in the file (0: none), at *off. */
static uint64_t seg_rest(const struct gofile *g, uint64_t addr, uint64_t *off)
{
	size_t i;

	for (i = 0; i < g->nph; i++) {
		GElf_Phdr ph;
		uint64_t rest;

		if (!gelf_getphdr(g->elf, i, &ph) || ph.p_type != PT_LOAD || addr < ph.p_vaddr ||
		    addr - ph.p_vaddr >= ph.p_filesz)
			continue;
		*off = addr - ph.p_vaddr + ph.p_offset;
		if (*off >= g->size)
			return 0;
		rest = ph.p_filesz - (addr - ph.p_vaddr);
		return rest < g->size - *off ? rest : g->size - *off;
	}
	return 0;
}

static Elf_Scn *section(const struct gofile *g, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(g->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(g->elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh))
			continue;
		n = elf_strptr(g->elf, shstrndx, sh->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* A position-independent binary may leave a pointer to a dynamic relocation: its value is
 * then the addend of the R_X86_64_RELATIVE at addr. */
static bool relative_at(const struct gofile *g, uint64_t addr, uint64_t *val)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(g->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA ||
		    sh.sh_entsize != sizeof(Elf64_Rela) || !(data = elf_getdata(scn, NULL)))
			continue;
		n = data->d_size / sizeof(Elf64_Rela);
		for (i = 0; i < n; i++) {
			GElf_Rela r;

			if (gelf_getrela(data, i, &r) && r.r_offset == addr &&
			    GELF_R_TYPE(r.r_info) == R_X86_64_RELATIVE) {
				*val = r.r_addend;
				return true;
			}
		}
	}
	return false;
}

/* The pointer stored at addr, relocated if the file leaves it to the loader. */
static bool read_ptr(const struct gofile *g, uint64_t addr, uint64_t *val)
{
	uint64_t off;

	if (!addr_off(g, addr, 8, 0, &off))
		return false;
	*val = le64(g->map + off);
	if (!*val)
		relative_at(g, addr, val);
	return true;
}

/* A symbol of .symtab by name: 1 found, 0 not there, -1 no .symtab at all. */
static int sym_find(const struct gofile *g, const char *name, uint64_t *value, uint64_t *size)
{
	Elf_Scn *scn = NULL;
	int ret = -1;

	while ((scn = elf_nextscn(g->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		ret = 0;
		data = elf_getdata(scn, NULL);
		n = data && sh.sh_entsize ? data->d_size / sh.sh_entsize : 0;
		for (i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *s;

			if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			s = elf_strptr(g->elf, sh.sh_link, sym.st_name);
			if (s && !strcmp(s, name)) {
				*value = sym.st_value;
				*size = sym.st_size;
				return 1;
			}
		}
	}
	return ret;
}

/* The build info blob: 1 and b->version set, 0 if there is none, or an error. */
static int read_buildinfo(struct gofile *g, struct go_binary *b)
{
	uint64_t start = 0, off, len = 0, vaddr, slen, ptr;
	const uint8_t *p = NULL, *s;
	GElf_Shdr sh;
	size_t i;

	if (section(g, ".go.buildinfo", &sh) && sh.sh_type == SHT_PROGBITS)
		start = sh.sh_addr;
	for (i = 0; !start && i < g->nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(g->elf, i, &ph) && ph.p_type == PT_LOAD &&
		    (ph.p_flags & (PF_X | PF_W)) == PF_W && ph.p_filesz)
			start = ph.p_vaddr;
	}
	if (!start)
		return 0;
	/* as much of the first 64 KiB as the segment holds */
	len = seg_rest(g, start, &off);
	len = len < BUILDINFO_SCAN ? len : BUILDINFO_SCAN;
	for (i = 0; i + 32 <= len; i += 16)
		if (!memcmp(g->map + off + i, BUILDINFO_MAGIC, 14)) {
			p = g->map + off + i;
			break;
		}
	if (!p)
		return 0;
	vaddr = start + i;
	if (p[14] != 8 || (p[15] & 1))
		return fail(g, -ENOTSUP, "Go build info of a 32-bit or big-endian binary");
	if (p[15] & 2) {	/* Go 1.18+: varint length, then the bytes */
		uint64_t n = 0;
		unsigned shift = 0, k = 32;

		do {
			if (k >= len - i || shift > 63)
				return fail(g, -EINVAL, "damaged Go build info");
			n |= (uint64_t)(p[k] & 0x7f) << shift;
			shift += 7;
		} while (p[k++] & 0x80);
		if (n > len - i - k)
			return fail(g, -EINVAL, "damaged Go build info");
		s = p + k;
		slen = n;
	} else {		/* before: a pointer to a Go string (data, len) */
		uint64_t hdr;

		if (!read_ptr(g, vaddr + 16, &hdr) || !read_ptr(g, hdr, &ptr) ||
		    !read_ptr(g, hdr + 8, &slen) || !addr_off(g, ptr, slen, 0, &off))
			return fail(g, -EINVAL, "damaged Go build info (no version string)");
		s = g->map + off;
	}
	if (!slen)
		return 0;
	for (i = 0; i < slen; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return fail(g, -EINVAL, "damaged Go build info (version not text)");
	slen = slen < sizeof(b->version) ? slen : sizeof(b->version) - 1;
	memcpy(b->version, s, slen);
	b->version[slen] = 0;
	return 1;
}

/* "go1.19.8", "go1.21rc2", "go1.22.0 X:boringcrypto": major and minor. */
static bool parse_version(const char *v, int *major, int *minor)
{
	char *end;
	long ma, mi;

	if (strncmp(v, "go", 2) || v[2] < '0' || v[2] > '9')
		return false;
	ma = strtol(v + 2, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return false;
	mi = strtol(end + 1, &end, 10);
	if (ma > 99 || mi > 999)
		return false;
	*major = ma;
	*minor = mi;
	return true;
}

static uint32_t expected_magic(int minor)
{
	return minor >= 20 ? PCLN_GO120 : minor >= 18 ? PCLN_GO118 : PCLN_GO116;
}

/* Check the header and set the table's offsets; the magic must be the one of go1.minor. */
static int parse_pcln(struct gofile *g, struct pcln *t, int minor)
{
	const uint8_t *d = t->data;
	uint64_t w[8], room;
	unsigned i;

	if (t->size < 8 + sizeof(w))
		return fail(g, -EINVAL, "pclntab truncated");
	t->magic = le32(d);
	if (t->magic == PCLN_GO12)
		return fail(g, -ENOTSUP, "pclntab of Go 1.2-1.15 in a go1.%d binary", minor);
	if (t->magic != PCLN_GO116 && t->magic != PCLN_GO118 && t->magic != PCLN_GO120)
		return fail(g, -ENOTSUP, "pclntab magic %#x unknown", t->magic);
	if (t->magic != expected_magic(minor))
		return fail(g, -ENOTSUP, "pclntab magic %#x is not go1.%d's", t->magic, minor);
	if (d[4] || d[5] || d[6] != 1 || d[7] != 8)
		return fail(g, -EINVAL, "pclntab header not of amd64 (quantum %u, pointer %u)",
			    d[6], d[7]);
	for (i = 0; i < 8; i++)
		w[i] = le64(d + 8 + 8 * i);
	t->nfunc = w[0];
	if (t->magic == PCLN_GO116) {
		t->field = 8;
		t->funcname = w[2];
		t->functab = w[6];
	} else {
		t->field = 4;
		t->text = w[2];
		t->funcname = w[3];
		t->functab = w[7];
		/* left to the loader in a PIE; else runtime.text, which it holds */
		if (!t->text && !read_ptr(g, t->vaddr + 24, &t->text))
			t->text = 0;
	}
	if (t->funcname >= t->size || t->functab >= t->size)
		return fail(g, -EINVAL, "pclntab offsets outside the table");
	room = (t->size - t->functab) / t->field;
	if (t->nfunc > UINT32_MAX || 2 * t->nfunc + 1 > room)
		return fail(g, -EINVAL, "pclntab claims %llu functions: more than it holds",
			    (unsigned long long)t->nfunc);
	return 0;
}

/* The table: its section, in a PIE its .data.rel.ro. twin, else runtime.pcheader. */
static bool find_pcln(struct gofile *g, struct pcln *t)
{
	static const char *const names[] = { ".gopclntab", ".data.rel.ro.gopclntab" };
	uint64_t addr, size, off;
	GElf_Shdr sh;
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < 2; i++)
		if (section(g, names[i], &sh) && sh.sh_type == SHT_PROGBITS &&
		    (t->data = at(g, sh.sh_offset, sh.sh_size))) {
			t->size = sh.sh_size;
			t->vaddr = sh.sh_addr;
			return true;
		}
	if (sym_find(g, "runtime.pcheader", &addr, &size) > 0) {
		size = seg_rest(g, addr, &off);	/* up to the end of its segment */
		if (size >= 72) {
			t->data = g->map + off;
			t->size = size;
			t->vaddr = addr;
			return true;
		}
	}
	return false;
}

/*
 * An externally linked, stripped binary keeps the table but not its name (the system linker
 * merges .data.rel.ro.*): look for a header of the expected magic in the segments that are
 * not code, and take the first one that parses whole.
 */
static bool scan_pcln(struct gofile *g, struct pcln *t, int minor)
{
	uint32_t magic = expected_magic(minor);
	char *why = g->why;
	bool ok = false;
	size_t i;

	g->why = NULL;
	for (i = 0; !ok && i < g->nph; i++) {
		GElf_Phdr ph;
		const uint8_t *seg, *p;
		uint64_t k;

		if (!gelf_getphdr(g->elf, i, &ph) || ph.p_type != PT_LOAD || (ph.p_flags & PF_X) ||
		    !(seg = at(g, ph.p_offset, ph.p_filesz)))
			continue;
		for (k = 0; !ok && k + 72 <= ph.p_filesz; k += 8) {
			p = seg + k;
			if (le32(p) != magic || p[4] || p[5] || p[6] != 1 || p[7] != 8)
				continue;
			t->data = p;
			t->size = ph.p_filesz - k;
			t->vaddr = ph.p_vaddr + k;
			ok = !parse_pcln(g, t, minor);
		}
	}
	g->why = why;
	return ok;
}

static uint64_t field(const struct pcln *t, uint64_t i)
{
	const uint8_t *p = t->data + t->functab + i * t->field;

	return t->field == 8 ? le64(p) : le32(p);
}

/* Function i's entry and end addresses (functab entry i and i + 1). */
static bool func_pc(const struct gofile *g, const struct pcln *t, uint64_t i, uint64_t *pc)
{
	if (t->field == 4) {
		*pc = t->text + field(t, 2 * i);
		return true;
	}
	return read_ptr(g, t->vaddr + t->functab + 2 * i * 8, pc);
}

/* Look name up in the pclntab (names are compared in place, bounded by the table). */
static int pcln_lookup(struct gofile *g, const struct pcln *t, const char *name,
		       struct fninfo *fi)
{
	size_t len = strlen(name) + 1;
	uint64_t i, end;

	for (i = 0; i < t->nfunc; i++) {
		uint64_t fo = field(t, 2 * i + 1), nameoff;
		const uint8_t *fn;

		if (fo > t->size - t->functab || t->size - t->functab - fo < t->field + 4)
			return fail(g, -EINVAL, "pclntab function %llu outside the table",
				    (unsigned long long)i);
		fn = t->data + t->functab + fo;
		nameoff = le32(fn + t->field);
		if (nameoff > t->size - t->funcname || t->size - t->funcname - nameoff < len ||
		    memcmp(t->data + t->funcname + nameoff, name, len))
			continue;
		/* the _func repeats its entry: one more check that this is the table */
		if (t->field == 4 && le32(fn) != field(t, 2 * i))
			return fail(g, -EINVAL, "pclntab entry of %s inconsistent", name);
		if (!func_pc(g, t, i, &fi->addr) || !func_pc(g, t, i + 1, &end) ||
		    end <= fi->addr)
			return fail(g, -EINVAL, "pclntab bounds of %s wrong", name);
		fi->size = end - fi->addr;
		fi->found = true;
		return 0;
	}
	return 0;
}

/* Every RET of the function (file offsets), by disassembling all of it. */
static int find_rets(struct gofile *g, const char *name, uint64_t off, uint64_t len,
		     struct go_func *f)
{
	const uint8_t *code = at(g, off, len);
	uint64_t addr = off;
	size_t left = len;
	cs_insn *insn;
	csh cs;
	int err = 0;

	if (!code || !len || len > MAX_FUNC_SIZE)
		return fail(g, -EINVAL, "%s: %llu bytes at %#llx not in the file", name,
			    (unsigned long long)len, (unsigned long long)off);
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return fail(g, -ENOMEM, "capstone: cannot open an x86-64 disassembler");
	insn = cs_malloc(cs);
	if (!insn) {
		cs_close(&cs);
		return fail(g, -ENOMEM, "capstone: out of memory");
	}
	f->entry = off;
	f->nrets = 0;
	while (left && cs_disasm_iter(cs, &code, &left, &addr, insn)) {
		if (insn->id != X86_INS_RET)
			continue;
		/* Go writes a bare C3; anything else (ret imm16, a prefix) is not its code */
		if (insn->size != 1 || insn->bytes[0] != 0xc3) {
			err = fail(g, -ENOTSUP, "%s: a RET of another form at file offset %#llx",
				   name, (unsigned long long)insn->address);
			break;
		}
		if (f->nrets == GOBIN_MAX_RETS) {
			err = fail(g, -ENOTSUP, "%s: more than %d RET instructions", name,
				   GOBIN_MAX_RETS);
			break;
		}
		f->rets[f->nrets++] = insn->address;
	}
	if (!err && left)
		err = fail(g, -ENOTSUP, "%s: cannot decode the instruction at file offset %#llx",
			   name, (unsigned long long)addr);
	else if (!err && !f->nrets)
		err = fail(g, -ENOTSUP, "%s: no RET instruction found", name);
	cs_free(insn, 1);
	cs_close(&cs);
	return err;
}

/* Where the function is: .symtab and pclntab must agree when both have it. */
static int locate(struct gofile *g, const struct pcln *t, bool symtab, const char *name,
		  struct go_func *f)
{
	struct fninfo sym = { 0 }, tab = { 0 }, *use;
	uint64_t off;
	int err;

	if (symtab && sym_find(g, name, &sym.addr, &sym.size) > 0 && sym.size)
		sym.found = true;
	err = pcln_lookup(g, t, name, &tab);
	if (err)
		return err;
	if (!sym.found && !tab.found)
		return fail(g, -ENOENT, "no %s: the program does not use crypto/tls", name);
	if (sym.found && tab.found && (sym.addr != tab.addr || sym.size > tab.size))
		return fail(g, -EINVAL, "%s: symbol table (%#llx) and pclntab (%#llx) disagree",
			    name, (unsigned long long)sym.addr, (unsigned long long)tab.addr);
	use = sym.found ? &sym : &tab;
	if (!addr_off(g, use->addr, use->size, PF_X, &off))
		return fail(g, -EINVAL, "%s at %#llx is not in an executable segment", name,
			    (unsigned long long)use->addr);
	return find_rets(g, name, off, use->size, f);
}

/* The next sibling, strictly further on (a hostile DW_AT_sibling could point back). */
static bool next_die(Dwarf_Die *die)
{
	Dwarf_Off at = dwarf_dieoffset(die);

	return dwarf_siblingof(die, die) == 0 && dwarf_dieoffset(die) > at;
}

static bool member_offset(Dwarf_Die *st, const char *member, int64_t *off)
{
	Dwarf_Attribute a;
	Dwarf_Word w;
	Dwarf_Die m;

	if (dwarf_child(st, &m))
		return false;
	do {
		const char *n = dwarf_diename(&m);

		if (dwarf_tag(&m) != DW_TAG_member || !n || strcmp(n, member))
			continue;
		if (!dwarf_attr(&m, DW_AT_data_member_location, &a) || dwarf_formudata(&a, &w) ||
		    w > 1 << 20)
			return false;
		*off = w;
		return true;
	} while (next_die(&m));
	return false;
}

/* The offsets from the binary's own DWARF (Go names its types package.Type). */
static bool dwarf_offsets(struct gofile *g, struct go_binary *b)
{
	struct {
		const char *type, *member;
		int64_t off;
		bool found;
	} want[] = {
		{ "crypto/tls.Conn", "conn", 0, false }, { "net.TCPConn", "conn", 0, false },
		{ "net.conn", "fd", 0, false }, { "net.netFD", "pfd", 0, false },
		{ "internal/poll.FD", "Sysfd", 0, false },
	};
	Dwarf_Off off = 0, next;
	size_t hsize, k, nfound = 0;
	Dwarf *dw;

	dw = dwarf_begin_elf(g->elf, DWARF_C_READ, NULL);
	if (!dw)
		return false;
	b->has_dwarf = true;
	while (nfound < 5 && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, die;

		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
			do {
				const char *n;

				if (dwarf_tag(&die) != DW_TAG_structure_type ||
				    !(n = dwarf_diename(&die)))
					continue;
				for (k = 0; k < 5; k++)
					if (!want[k].found && !strcmp(n, want[k].type) &&
					    member_offset(&die, want[k].member, &want[k].off)) {
						want[k].found = true;
						nfound++;
					}
			} while (nfound < 5 && next_die(&die));
		}
		off = next;
	}
	dwarf_end(dw);
	if (nfound < 5)
		return false;
	b->conn_iface_off = want[0].off;
	b->netconn_fd_off = want[1].off + want[2].off;
	b->netfd_pfd_off = want[3].off;
	b->pfd_sysfd_off = want[4].off;
	b->offsets_from = "dwarf";
	return true;
}

static int offsets(struct gofile *g, struct go_binary *b)
{
	size_t i;

	if (dwarf_offsets(g, b))
		return 0;
	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (b->major == 1 && b->minor >= layouts[i].min && b->minor <= layouts[i].max) {
			b->conn_iface_off = layouts[i].conn;
			b->netconn_fd_off = layouts[i].fd;
			b->netfd_pfd_off = layouts[i].pfd;
			b->pfd_sysfd_off = layouts[i].sysfd;
			b->offsets_from = "table";
			return 0;
		}
	return fail(g, -ENOTSUP, "%s: no DWARF and no table of its struct layouts", b->version);
}

/* A truncated file loses its section headers, part of a section or of a segment. */
static int whole(struct gofile *g, const GElf_Ehdr *eh)
{
	Elf_Scn *scn = NULL;
	size_t i;

	if (eh->e_shoff && (eh->e_shoff > g->size || (uint64_t)eh->e_shnum * eh->e_shentsize >
							  g->size - eh->e_shoff))
		return fail(g, -EINVAL, "truncated ELF file (section headers past its end)");
	while ((scn = elf_nextscn(g->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return fail(g, -EINVAL, "damaged ELF file: %s", elf_errmsg(-1));
		if (sh.sh_type != SHT_NOBITS && !at(g, sh.sh_offset, sh.sh_size))
			return fail(g, -EINVAL, "truncated ELF file (section %zu past its end)",
				    elf_ndxscn(scn));
	}
	for (i = 0; i < g->nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(g->elf, i, &ph))
			return fail(g, -EINVAL, "damaged ELF file: %s", elf_errmsg(-1));
		if (ph.p_type == PT_LOAD && !at(g, ph.p_offset, ph.p_filesz))
			return fail(g, -EINVAL, "truncated ELF file (segment %zu past its end)", i);
	}
	return 0;
}

static int inspect(struct gofile *g, struct go_binary *b)
{
	bool have_pcln, symtab;
	struct pcln t;
	uint64_t v, s;
	GElf_Ehdr eh;
	int err;

	if (elf_kind(g->elf) != ELF_K_ELF)
		return fail(g, -ENOENT, "not an ELF file");
	if (!gelf_getehdr(g->elf, &eh) || elf_getphdrnum(g->elf, &g->nph))
		return fail(g, -EINVAL, "damaged ELF file: %s", elf_errmsg(-1));
	err = whole(g, &eh);
	if (err)
		return err;
	err = read_buildinfo(g, b);
	if (err < 0)
		return err;
	have_pcln = find_pcln(g, &t);
	if (!err && !have_pcln)
		return fail(g, -ENOENT, "not a Go binary (no Go build info, no pclntab)");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return fail(g, -ENOTSUP, "Go binary for ELF machine %u: only x86-64 is supported",
			    eh.e_machine);
	if (!err)
		return fail(g, -ENOTSUP, "Go binary without build info: its Go version is unknown");
	if (!parse_version(b->version, &b->major, &b->minor))
		return fail(g, -ENOTSUP, "Go version \"%s\" not understood", b->version);
	if (b->major != 1)
		return fail(g, -ENOTSUP, "%s: not supported", b->version);
	if (b->minor < GOBIN_MIN_MINOR)
		return fail(g, -ENOTSUP, "%s uses the stack ABI: not supported", b->version);
	if (b->minor > GOBIN_MAX_MINOR)
		return fail(g, -ENOTSUP, "%s is newer than the Go versions whose layouts are known"
			    " (go1.%d to go1.%d)", b->version, GOBIN_MIN_MINOR, GOBIN_MAX_MINOR);
	b->regabi = true;	/* Go 1.17+ on amd64 */
	if (have_pcln)
		err = parse_pcln(g, &t, b->minor);
	else
		err = scan_pcln(g, &t, b->minor) ? 0 :
		      fail(g, -EINVAL, "%s binary without a pclntab", b->version);
	if (err)
		return err;
	if (t.field == 4 && !addr_off(g, t.text, 1, PF_X, &v) &&
	    !(sym_find(g, "runtime.text", &t.text, &s) > 0 && addr_off(g, t.text, 1, PF_X, &v)))
		return fail(g, -EINVAL, "pclntab's text start %#llx is not code",
			    (unsigned long long)t.text);
	symtab = sym_find(g, "runtime.text", &v, &s) >= 0;
	b->stripped = !symtab;
	err = locate(g, &t, symtab, WRITE_FN, &b->write);
	if (!err)
		err = locate(g, &t, symtab, READ_FN, &b->read);
	if (err)
		return err;
	return offsets(g, b);
}

int gobin_inspect(const char *path, struct go_binary *b, char *why, size_t whylen)
{
	struct gofile g = { .fd = -1, .why = why, .whylen = whylen };
	struct stat st;
	void *map;
	int err;

	memset(b, 0, sizeof(*b));
	if (why && whylen)
		why[0] = 0;
	g.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (g.fd < 0)
		return fail(&g, -errno, "%s: %s", path, strerror(errno));
	if (fstat(g.fd, &st) || !S_ISREG(st.st_mode) || st.st_size < EI_NIDENT) {
		close(g.fd);
		return fail(&g, -ENOENT, "not an ELF file");
	}
	/* private: libelf may write to its image, never to the file */
	map = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, g.fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		close(g.fd);
		return fail(&g, err, "%s: mmap: %s", path, strerror(-err));
	}
	g.map = map;
	g.size = st.st_size;
	elf_version(EV_CURRENT);
	g.elf = elf_memory(map, g.size);
	if (!g.elf)
		err = fail(&g, -EINVAL, "damaged ELF file: %s", elf_errmsg(-1));
	else
		err = inspect(&g, b);
	if (err)
		memset(b, 0, sizeof(*b));
	if (g.elf)
		elf_end(g.elf);
	munmap(map, g.size);
	close(g.fd);
	return err;
}
