/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a traced process may add to the dictionary. A hostile agent can run its own "Vault"
 * and answer with values chosen to blind the tracer: millions of them (to fill the
 * dictionary before the real agent's secrets come), or strings every write carries (so every
 * write matches). Values too common or too plain to be secrets are refused; secrets from
 * servers not named by --vault-addr are rate-limited per process and per server and may
 * take at most half the dictionary, so the named servers' secrets always find room.
 * Nothing is evicted: a secret once learned stays. Refusals are counted per process and
 * kind, for the tracer.anomaly events.
 */
#ifndef SECRETRACE_DICT_LIMITS_H
#define SECRETRACE_DICT_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum limit_kind {
	LIMIT_COMMON_VALUE,	/* protocol text (an HTTP header line, a JSON fragment) */
	LIMIT_LOW_ENTROPY,	/* too plain to be a secret (aaaa..., 0101...) */
	LIMIT_PROCESS_RATE,	/* the process learned too many secrets too fast */
	LIMIT_SERVER_RATE,	/* the server taught too many secrets too fast */
	LIMIT_UNNAMED_SHARE,	/* the unnamed servers' half of the dictionary is full */
	LIMIT_STRICT,		/* --vault-strict: a server not named by --vault-addr */
	LIMIT_KINDS,
};

/* Per process: up to PROC_BURST new secrets at once, PROC_PER_S a second after that; per
 * unnamed server the same with SERVER_*. */
#define LIMIT_PROC_BURST 2048
#define LIMIT_PROC_PER_S 8
#define LIMIT_SERVER_BURST 4096
#define LIMIT_SERVER_PER_S 16

int limits_init(uint32_t dict_entries_max);
void limits_free(void);
const char *limits_kind_name(enum limit_kind k);

/* Whether value may be a secret at all: -1 if so, else why not. */
int limits_value(const uint8_t *value, size_t len);
/* Whether tgid may add a new secret from server (a key, 0 if unknown; named: --vault-addr)
 * now: -1 if so (and it is counted against its rates), else why not. */
int limits_admit(uint32_t tgid, uint64_t server, bool named, uint64_t now_ns);
/* A secret admitted took this many dictionary entries. */
void limits_added(bool named, uint32_t entries);

/* A refusal of kind for tgid, to be reported. */
void limits_refused(uint32_t tgid, enum limit_kind k);
/* Refusals of tgid not reported yet, for one kind at a time: the count (0: none) and the
 * kind, unless one of that kind was reported less than min_gap_ns ago (0: all of them). */
uint64_t limits_take_refusals(uint32_t tgid, uint64_t now_ns, uint64_t min_gap_ns,
			      enum limit_kind *k);
void limits_forget(uint32_t tgid);
uint64_t limits_refused_total(void);

#endif
