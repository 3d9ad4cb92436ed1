// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the state file (dict/state.c). The first byte picks the layer: even,
 * the rest is a decrypted body (what a file written with the right key holds: the part
 * that parses); odd, the rest is a whole file, sealed or not, under a fixed key (the
 * header checks and the decryption). Invariants: no crash, leak or undefined behaviour; a
 * refusal says why; a body that checks out is put into an in-memory dictionary whole
 * (restored + expired + skipped secrets), and the state written from that dictionary
 * decodes again to the same secrets.
 * An even first byte's bit 1 picks the body's format version (0: version 1, 2: version 2).
 * Build and run: tools/fuzz.sh [seconds] (FUZZ_TARGETS=state for this one alone)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict/state.h"
#include "fuzz.h"
#include "lib/redact.h"

#define NOW 1800000000LL

static const uint8_t fp_key[DICT_FP_KEY_BYTES] = "fuzz fingerprint key, 32 bytes!";

static void body(const uint8_t *p, size_t n, uint32_t version)
{
	struct state_result r = { 0 }, r2 = { 0 };
	struct st_keys k;
	uint8_t run_key[REDACT_KEY_BYTES], *again;
	struct dict d, d2;
	int64_t written, written2;
	size_t n2;
	uint32_t nsec;

	if (state_decode(NULL, p, n, version, NOW, false, &written, &r))	/* checking fills nothing */
		return;
	state_derive_keys(fp_key, &k, run_key);
	check(!redact_init());
	check(!redact_set_key(run_key));
	check(!dict_init(&d, NULL, &k, fp_key));
	dict_keep_windows(&d);
	memcpy(&nsec, p + 8, 4);	/* checked: written (8 bytes), then the count */
	check(!state_decode(&d, p, n, version, NOW, true, &written, &r));
	check(r.restored + r.expired <= nsec);
	check(d.ninfos == r.restored);
	check(!state_encode(&d, NOW, &again, &n2));
	check(!dict_init(&d2, NULL, &k, fp_key));
	dict_keep_windows(&d2);
	check(!state_decode(&d2, again, n2, STATE_VERSION, NOW, false, &written2, &r2));
	check(written2 == NOW);
	check(!state_decode(&d2, again, n2, STATE_VERSION, NOW, true, &written2, &r2));
	check(r2.restored == r.restored && !r2.expired && !r2.skipped);
	check(d2.nsecrets == d.nsecrets);
	free(again);
	dict_free(&d2);
	dict_free(&d);
	redact_free();
}

static void file(const uint8_t *p, size_t n)
{
	struct state s = { 0 };
	uint8_t *plain;
	size_t plen;
	uint32_t version;
	char err[200] = "";

	state_set_key(&s, fp_key);
	if (state_unseal(&s, p, n, &plain, &plen, &version, err, sizeof(err))) {
		check(err[0] && !plain);
		return;
	}
	body(plain, plen, version);
	free(plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		file(data + 1, size - 1);
	else	/* the body's format version: bit 1 (the first corpus: version 1) */
		body(data + 1, size - 1, data[0] & 2 ? 2 : 1);
	return 0;
}
