// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "output/emit.h"
#include "detect/hold.h"
#include "dict/limits.h"
#include "detect/hpack.h"
#include "learn/conn.h"
#include "learn/audit_hash.h"
#include "learn/learn_env.h"
#include "learn/learn_file.h"
#include "lib/log.h"
#include "probes/probes.h"
#include "output/metrics.h"
#include "lib/redact.h"
#include "secretrace.skel.h"
#include "output/sinks.h"
#include "tracer/stats.h"
#include "policy/uses.h"

static struct probes *probes;
static uint64_t seen[ST_STAT_MAX], seen_recursion, seen_emit_failed, seen_hpack, lost_total;
/* Every loss reported so far, by reason (the metrics endpoint's); reasons are static strings */
static struct {
	const char *reason;
	uint64_t n;
	bool bytes;
} by_reason[METRICS_MAX_LOSSES];
static size_t nreasons;
/* The ring buffer's consumer and producer pages, read-only, for its fill */
static const volatile unsigned long *rb_pos;
static size_t rb_page, rb_size;

/* Kernel counters that mean something was lost, and how tracer.loss names them. Events
 * (records, lines) add up in secretrace.stats.lost; bytes have counters of their own. */
static const struct {
	int stat;
	const char *reason;
	const char *what;
	bool bytes;
} losses[] = {
	{ ST_STAT_LOST_MATCH, "ringbuf_full_match", "secret uses lost: ring buffer full", false },
	{ ST_STAT_LOST_DATA, "ringbuf_full_data", "held buffers or connection heads lost: ring buffer full", false },
	{ ST_STAT_LOST_VAULT, "ringbuf_full_vault", "Vault traffic lost: Vault ring buffer full", false },
	{ ST_STAT_USES_FOLDED, "uses_folded", "secret uses not sent under ring pressure: the same secret to the same place was reported within 10 s", false },
	{ ST_STAT_LOST_PROC, "ringbuf_full_process", "process or connection records lost: ring buffer full", false },
	{ ST_STAT_MATCHES_DROPPED, "matches_per_call", "secrets past the per-call match limit not reported", false },
	{ ST_STAT_STASH_FULL, "stash_full", "TLS reads not learned from: argument stash full", false },
	{ ST_STAT_TRACED_FULL, "traced_full", "child processes or cgroups not traced: traced map full", false },
	{ ST_STAT_REACH_FULL, "reach_full", "processes that received a secret not scanned: reach set full", false },
	{ ST_STAT_HOLD_OVERFLOW, "hold_overflow", "bytes written while learning not rescanned: hold bound reached", true },
	{ ST_STAT_VAULT_TRUNCATED, "vault_truncated", "Vault response bytes not learned: per-call copy limit", true },
};

static void count_reason(const char *reason, uint64_t n, bool bytes)
{
	size_t i;

	for (i = 0; i < nreasons; i++)
		if (!strcmp(by_reason[i].reason, reason)) {
			by_reason[i].n += n;
			return;
		}
	if (nreasons < METRICS_MAX_LOSSES) {
		by_reason[nreasons].reason = reason;
		by_reason[nreasons].n = n;
		by_reason[nreasons++].bytes = bytes;
	}
}

/* Mapped now, while the ring buffer's map can still be mapped by a tracer with every right. */
static void map_ringbuf(void)
{
	struct bpf_map *m = probes && probes->skel ? probes->skel->maps.events : NULL;
	void *pos;

	if (rb_pos)
		munmap((void *)rb_pos, 2 * rb_page);
	rb_pos = NULL;
	if (!m || bpf_map__fd(m) < 0)
		return;
	rb_page = sysconf(_SC_PAGESIZE);
	rb_size = bpf_map__max_entries(m);
	pos = mmap(NULL, 2 * rb_page, PROT_READ, MAP_SHARED, bpf_map__fd(m), 0);
	if (pos == MAP_FAILED)
		st_debug("ring buffer positions not mapped: %s", strerror(errno));
	else
		rb_pos = pos;
}

void stats_init(struct probes *p)
{
	size_t i;

	probes = p;
	memset(seen, 0, sizeof(seen));
	seen_recursion = seen_emit_failed = seen_hpack = lost_total = 0;
	/* the reasons known here count from 0, so that their series exist from the start */
	nreasons = 0;
	for (i = 0; i < sizeof(losses) / sizeof(losses[0]); i++)
		count_reason(losses[i].reason, 0, losses[i].bytes);
	count_reason("recursion_miss", 0, false);
	count_reason("out_of_memory", 0, false);
	count_reason("hpack_not_followed", 0, false);
	map_ringbuf();
}

/* output: the output that lost events (secretrace.lost.output), NULL for the tracer's own;
 * bytes: n counts bytes (not rescanned, not learned), not events */
static void loss_at(const char *reason, const char *what, uint64_t n, const char *output,
		    bool bytes)
{
	json_t *ev = ev_new("tracer.loss");

	ev_int(ev, "secretrace.lost.count", (long long)n);
	ev_str(ev, "secretrace.lost.reason", reason);
	ev_str(ev, "secretrace.lost.output", output);
	if (bytes)
		ev_str(ev, "secretrace.lost.unit", "bytes");
	ev_emit(ev);
	if (!bytes)
		lost_total += n;
	count_reason(reason, n, bytes);
	st_warn("%llu %s", (unsigned long long)n, what);
}

static void loss(const char *reason, const char *what, uint64_t n, bool bytes)
{
	loss_at(reason, what, n, NULL, bytes);
}

void stats_poll(void)
{
	uint64_t now[ST_STAT_MAX], rec;
	const char *which = NULL, *reason, *what;
	uint64_t n;
	size_t i;

	if (probes_stats(probes, now) == 0) {
		now[ST_STAT_HOLD_OVERFLOW] += hold_dropped_bytes();	/* the same loss, found here */
		for (i = 0; i < sizeof(losses) / sizeof(losses[0]); i++) {
			int s = losses[i].stat;

			if (now[s] > seen[s])
				loss(losses[i].reason, losses[i].what, now[s] - seen[s],
				     losses[i].bytes);
		}
		memcpy(seen, now, sizeof(seen));
	}
	rec = probes_recursion_misses(probes);
	if (rec > seen_recursion)
		loss("recursion_miss", "BPF program runs skipped by the kernel (nested on a CPU)",
		     rec - seen_recursion, false);
	seen_recursion = rec;
	if (emit_failed() > seen_emit_failed)
		loss("out_of_memory", "events not written: out of memory",
		     emit_failed() - seen_emit_failed, false);
	seen_emit_failed = emit_failed();
	if (hpack_sessions_lost() > seen_hpack)
		loss("hpack_not_followed", "HTTP/2 sessions whose header blocks could no longer be "
		     "followed (their later uses by HPACK index are missed)",
		     hpack_sessions_lost() - seen_hpack, false);
	seen_hpack = hpack_sessions_lost();
	while ((n = sinks_take_failures(&which, &reason, &what)))
		loss_at(reason, what, n, which, false);
}

/* What the tracer itself cost: CPU time in each mode and its peak resident memory. */
static void stats_fill_usage(json_t *ev)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return;
	ev_int(ev, "secretrace.stats.cpu_user_ms",
	       (long long)ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000);
	ev_int(ev, "secretrace.stats.cpu_system_ms",
	       (long long)ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000);
	ev_int(ev, "secretrace.stats.peak_rss_kib", (long long)ru.ru_maxrss);
}

void stats_fill_stop(json_t *ev)
{
	stats_poll();
	ev_int(ev, "secretrace.stats.events", (long long)emit_count() + 1);
	ev_int(ev, "secretrace.stats.lost", (long long)lost_total);
	ev_int(ev, "secretrace.stats.bytes_scanned", (long long)seen[ST_STAT_BYTES_SCANNED]);
	ev_int(ev, "secretrace.stats.bytes_not_scanned",
	       (long long)(seen[ST_STAT_BYTES_NOT_SCANNED] + seen[ST_STAT_BYTES_UNSCANNABLE]));
	ev_int(ev, "secretrace.stats.calls_not_scanned", (long long)seen[ST_STAT_CALLS_UNSCANNABLE]);
	ev_int(ev, "secretrace.stats.bytes_rescanned", (long long)hold_rescanned_bytes());
	ev_int(ev, "secretrace.stats.bytes_not_rescanned", (long long)seen[ST_STAT_HOLD_OVERFLOW]);
	ev_int(ev, "secretrace.stats.vault_bytes_not_learned",
	       (long long)seen[ST_STAT_VAULT_TRUNCATED]);
	ev_int(ev, "secretrace.stats.candidates", (long long)seen[ST_STAT_CANDIDATES]);
	ev_int(ev, "secretrace.stats.confirms", (long long)seen[ST_STAT_CONFIRMS]);
	ev_int(ev, "secretrace.stats.secrets_learned", (long long)(learner_secrets() +
		learn_files_secrets() + learn_env_secrets()));
	ev_int(ev, "secretrace.stats.learn_failed", (long long)(learner_failures() +
		learn_files_failures() + audit_hash_failures()));
	ev_int(ev, "secretrace.stats.not_learned", (long long)limits_refused_total());
	ev_int(ev, "secretrace.stats.uses", (long long)uses_reported());
	ev_int(ev, "secretrace.stats.violations", (long long)uses_violations());
	ev_int(ev, "secretrace.stats.redacted", (long long)redact_count());
	if (seen[ST_STAT_REACHED])
		ev_int(ev, "secretrace.stats.reached", (long long)seen[ST_STAT_REACHED]);
	stats_fill_usage(ev);
	/* after stats_poll: its tracer.loss events are among them */
	ev_int(ev, "secretrace.stats.undelivered", (long long)sinks_undelivered());
}

static void add_count(struct metrics_count *c, size_t *n, size_t max, const char *name,
		      uint64_t v, bool bytes)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp(c[i].name, name)) {
			c[i].value += v;
			return;
		}
	if (*n < max) {
		snprintf(c[*n].name, sizeof(c[*n].name), "%s", name);
		c[*n].value = v;
		c[(*n)++].bytes = bytes;
	}
}

void stats_fill_metrics(struct metrics_snapshot *s)
{
	const char *a;
	uint64_t n, cons, prod;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; (a = emit_count_by_action(i, &n)); i++)
		add_count(s->events, &s->nevents, METRICS_MAX_ACTIONS, a, n, false);
	/* only violations are rendered from templates (policy/uses.c) */
	if (emit_count_templated())
		add_count(s->events, &s->nevents, METRICS_MAX_ACTIONS, "secret.violation",
			  emit_count_templated(), false);
	for (i = 0; i < nreasons; i++)
		add_count(s->lost, &s->nlost, METRICS_MAX_LOSSES, by_reason[i].reason,
			  by_reason[i].n, by_reason[i].bytes);
	s->bytes_scanned = seen[ST_STAT_BYTES_SCANNED];
	s->bytes_not_scanned = seen[ST_STAT_BYTES_NOT_SCANNED] + seen[ST_STAT_BYTES_UNSCANNABLE];
	s->secrets = learner_secrets() + learn_files_secrets() + learn_env_secrets();
	s->undelivered = sinks_undelivered();
	if (!probes || !probes->skel)
		return;
	s->probes_failed = probes->nfailed;
	s->traced_processes = probes_traced_count(probes);
	if (rb_pos && rb_size) {
		cons = __atomic_load_n(&rb_pos[0], __ATOMIC_ACQUIRE);
		prod = __atomic_load_n(&rb_pos[rb_page / sizeof(*rb_pos)], __ATOMIC_ACQUIRE);
		s->ringbuf_fill = prod > cons ? (double)(prod - cons) / rb_size : 0;
	}
}
