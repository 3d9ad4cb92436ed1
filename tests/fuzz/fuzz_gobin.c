// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for Go binaries (user/probes/gobin.c). An input that starts with
 * "\x7fELF" is the file itself. Any other input patches a small Go-like ELF made here (a
 * go1.19.8 build info, a Go 1.18-format pclntab naming crypto/tls.(*Conn).Write and .Read,
 * their code with RETs): it is read as (offset low, offset high, byte) triplets, so the
 * fuzzer starts deep in the tables and damages them from there. Whatever the file,
 * gobin_inspect must answer without a crash or a read out of bounds; an answer of 0 must
 * name RETs inside the file that hold a RET opcode, and an error must say why.
 * Build and run: tools/fuzz.sh [seconds] (FUZZ_TARGETS=gobin for this one alone)
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "probes/gobin.h"
#include "fuzz.h"

/* The model's layout: file offset = address - BASE. */
#define BASE 0x400000
#define TEXT 0x1000		/* R E: three functions of 0x40 bytes */
#define PCLN 0x1100		/* R: the pclntab */
#define DATA 0x1400		/* RW: the build info */
#define SHSTR 0x1500
#define SHDRS 0x1540
#define NSEC 5
#define SIZE (SHDRS + NSEC * sizeof(Elf64_Shdr))

static uint8_t model[SIZE];
static int mfd = -1;
static char mpath[64];

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void phdr(int i, uint32_t flags, uint64_t off, uint64_t size)
{
	Elf64_Phdr *ph = (Elf64_Phdr *)(model + sizeof(Elf64_Ehdr)) + i;

	ph->p_type = PT_LOAD;
	ph->p_flags = flags;
	ph->p_offset = off;
	ph->p_vaddr = ph->p_paddr = BASE + off;
	ph->p_filesz = ph->p_memsz = size;
	ph->p_align = 0x10;
}

static void shdr(int i, uint32_t name, uint32_t type, uint64_t off, uint64_t size, bool alloc)
{
	Elf64_Shdr *sh = (Elf64_Shdr *)(model + SHDRS) + i;

	sh->sh_name = name;
	sh->sh_type = type;
	sh->sh_offset = off;
	sh->sh_size = size;
	sh->sh_addr = alloc ? BASE + off : 0;
	sh->sh_flags = alloc ? SHF_ALLOC : 0;
	sh->sh_addralign = 1;
}

static void make_model(void)
{
	static const char names[] = "\0.text\0.gopclntab\0.go.buildinfo\0.shstrtab";
	static const char funcs[] = "crypto/tls.(*Conn).Write\0crypto/tls.(*Conn).Read\0main.f";
	static const uint8_t code[3][8] = {
		{ 0x48, 0x89, 0xd8, 0x74, 0x01, 0xc3, 0x31, 0xc0 },	/* mov; je; ret; xor */
		{ 0x31, 0xc0, 0xc3, 0x90, 0x90, 0x90, 0x90, 0x90 },	/* xor; ret; nops */
		{ 0xc3 },
	};
	Elf64_Ehdr *eh = (Elf64_Ehdr *)model;
	uint8_t *t = model + PCLN, *bi = model + DATA;
	uint32_t functab = 0x80, fdata = 0x20;
	int i;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = BASE + TEXT;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_shoff = SHDRS;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 3;
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = NSEC;
	eh->e_shstrndx = 4;
	phdr(0, PF_R | PF_X, TEXT, PCLN - TEXT);
	phdr(1, PF_R, PCLN, DATA - PCLN);
	phdr(2, PF_R | PF_W, DATA, SHSTR - DATA);
	memcpy(model + SHSTR, names, sizeof(names));
	shdr(1, 1, SHT_PROGBITS, TEXT, PCLN - TEXT, true);
	shdr(2, 7, SHT_PROGBITS, PCLN, DATA - PCLN, true);
	shdr(3, 18, SHT_PROGBITS, DATA, 0x40, true);
	shdr(4, 32, SHT_STRTAB, SHSTR, sizeof(names), false);
	memset(model + TEXT, 0xcc, PCLN - TEXT);
	for (i = 0; i < 3; i++)
		memcpy(model + TEXT + 0x40 * i, code[i], sizeof(code[i]));
	/* pcHeader (Go 1.18): magic, 0, 0, quantum 1, pointers 8; nfunc, nfiles, textStart,
	 * funcnametab, cutab, filetab, pctab, functab offsets */
	put32(t, 0xfffffff0);
	t[6] = 1;
	t[7] = 8;
	put64(t + 8, 3);
	put64(t + 24, BASE + TEXT);
	put64(t + 32, 72);
	put64(t + 64, functab);
	memcpy(t + 72, funcs, sizeof(funcs));
	/* functab: (entryoff, funcoff) per function, then the end; each _func: entryoff,
	 * nameoff */
	for (i = 0; i < 3; i++) {
		static const uint32_t nameoff[] = { 0, 25, 49 };

		put32(t + functab + 8 * i, 0x40 * i);
		put32(t + functab + 8 * i + 4, fdata + 8 * i);
		put32(t + functab + fdata + 8 * i, 0x40 * i);
		put32(t + functab + fdata + 8 * i + 4, nameoff[i]);
	}
	put32(t + functab + 24, 0xc0);
	memcpy(bi, "\xff Go buildinf:", 14);
	bi[14] = 8;
	bi[15] = 2;
	bi[32] = 8;
	memcpy(bi + 33, "go1.19.8", 8);
}

static int inspect(const uint8_t *img, size_t len, struct go_binary *b, char *why, size_t n)
{
	check(ftruncate(mfd, 0) == 0);
	check(pwrite(mfd, img, len, 0) == (ssize_t)len);
	return gobin_inspect(mpath, b, why, n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct go_binary b;
	char why[256];
	int err;

	(void)argc;
	(void)argv;
	mfd = memfd_create("fuzz_gobin", MFD_CLOEXEC);
	check(mfd >= 0);
	snprintf(mpath, sizeof(mpath), "/proc/self/fd/%d", mfd);
	make_model();
	/* the model itself must pass, else the fuzzer would only test refusals */
	err = inspect(model, SIZE, &b, why, sizeof(why));
	if (err)
		fprintf(stderr, "fuzz_gobin: the model is refused: %s\n", why);
	check(!err && b.write.nrets == 1 && b.read.nrets == 1 && b.stripped);
	check(b.write.entry == TEXT && b.write.rets[0] == TEXT + 5);
	check(b.read.entry == TEXT + 0x40 && b.read.rets[0] == TEXT + 0x42);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t img[SIZE];
	const uint8_t *file = img;
	struct go_binary b;
	size_t len = SIZE, i;
	char why[256];
	int err, k;

	if (size >= 4 && !memcmp(data, ELFMAG, SELFMAG)) {
		file = data;
		len = size;
	} else {
		memcpy(img, model, SIZE);
		for (i = 0; i + 3 <= size; i += 3)
			img[(data[i] | data[i + 1] << 8) % SIZE] = data[i + 2];
	}
	err = inspect(file, len, &b, why, sizeof(why));
	if (err) {
		check(err < 0 && why[0]);
		check(b.write.nrets == 0 && b.version[0] == 0);
		return 0;
	}
	check(b.write.nrets > 0 && b.write.nrets <= GOBIN_MAX_RETS);
	check(b.read.nrets > 0 && b.read.nrets <= GOBIN_MAX_RETS);
	for (k = 0; k < b.write.nrets; k++)
		check(b.write.rets[k] < len && file[b.write.rets[k]] == 0xc3);
	for (k = 0; k < b.read.nrets; k++)
		check(b.read.rets[k] < len && file[b.read.rets[k]] == 0xc3);
	check(b.write.entry < len && b.read.entry < len);
	check(b.offsets_from && b.regabi);
	return 0;
}
