// SPDX-License-Identifier: GPL-2.0
/*
 * The bench's reference designs (tools/bench/peers.bpf.c): `floor` only copies each call's
 * bytes in the kernel; `copy-out` also sends them through a ring buffer to this process,
 * which searches them for the secrets in SECRETS_FILE (one per line) with Hyperscan, the
 * multi-pattern matcher of that design's production users. Attached to PID's write(2) and
 * sendto(2) until SIGINT/SIGTERM, then prints one JSON line: the calls the hooks took, the
 * bytes copied, the records lost, the records matched, and this process's CPU time from
 * attach to exit (the consumer's cost).
 *
 *   peers floor|copy-out PID SECRETS_FILE READY_FILE
 */
#include <errno.h>
#include <hs/hs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <bpf/libbpf.h>
#include "peers.skel.h"

static volatile sig_atomic_t stopping;
static hs_database_t *db;
static hs_scratch_t *scratch;
static unsigned long long records, matched;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
		    unsigned int flags, void *ctx)
{
	(void)id, (void)from, (void)to, (void)flags;
	*(int *)ctx = 1;
	return 1;	/* one match per record is all a use report needs */
}

static int on_record(void *ctx, void *data, size_t size)
{
	const __u32 *len = data;
	int hit = 0;

	(void)ctx;
	if (size < sizeof(*len) || *len > size - sizeof(*len))
		return 0;
	records++;
	if (hs_scan(db, (const char *)(len + 1), *len, 0, scratch, on_match, &hit) != HS_SUCCESS &&
	    !hit)
		return -1;
	matched += hit;
	return 0;
}

static int compile_secrets(const char *path)
{
	char **pats = NULL, line[4096];
	unsigned int *ids = NULL, *flags = NULL, n = 0, i;
	size_t *lens = NULL;
	hs_compile_error_t *err = NULL;
	FILE *f = fopen(path, "r");
	int rc = -1;

	if (!f) {
		fprintf(stderr, "peers: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t l = strcspn(line, "\n");

		if (!l)
			continue;
		pats = realloc(pats, (n + 1) * sizeof(*pats));
		lens = realloc(lens, (n + 1) * sizeof(*lens));
		ids = realloc(ids, (n + 1) * sizeof(*ids));
		flags = realloc(flags, (n + 1) * sizeof(*flags));
		pats[n] = strndup(line, l);
		lens[n] = l;
		ids[n] = n;
		flags[n] = HS_FLAG_SINGLEMATCH;
		n++;
	}
	fclose(f);
	if (!n)
		fprintf(stderr, "peers: %s holds no secret\n", path);
	else if (hs_compile_lit_multi((const char *const *)pats, flags, ids, lens, n, HS_MODE_BLOCK,
				      NULL, &db, &err) != HS_SUCCESS)
		fprintf(stderr, "peers: hyperscan: %s\n", err ? err->message : "compile failed");
	else if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS)
		fprintf(stderr, "peers: hyperscan: no scratch\n");
	else
		rc = 0;
	hs_free_compile_error(err);
	for (i = 0; i < n; i++)
		free(pats[i]);
	free(pats), free(lens), free(ids), free(flags);
	return rc;
}

static double cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct peers_bpf *skel;
	double cpu0;
	FILE *ready;
	int rc = 1;

	if (argc != 5 || (strcmp(argv[1], "floor") && strcmp(argv[1], "copy-out"))) {
		fprintf(stderr, "usage: peers floor|copy-out PID SECRETS_FILE READY_FILE\n");
		return 2;
	}
	if (compile_secrets(argv[3]))
		return 1;
	skel = peers_bpf__open();
	if (!skel) {
		fprintf(stderr, "peers: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->target_tgid = strtoul(argv[2], NULL, 10);
	skel->rodata->copy_out = !strcmp(argv[1], "copy-out");
	bpf_map__set_max_entries(skel->maps.chunk, libbpf_num_possible_cpus());
	if (peers_bpf__load(skel) || peers_bpf__attach(skel)) {
		fprintf(stderr, "peers: cannot load or attach: %s\n", strerror(errno));
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.ring), on_record, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "peers: no ring buffer: %s\n", strerror(errno));
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	cpu0 = cpu_ns();
	ready = fopen(argv[4], "w");
	if (!ready || fclose(ready)) {
		fprintf(stderr, "peers: %s: %s\n", argv[4], strerror(errno));
		goto out;
	}
	while (!stopping) {
		int n = ring_buffer__poll(rb, 100);

		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "peers: ring buffer: %s\n", strerror(-n));
			goto out;
		}
	}
	ring_buffer__consume(rb);
	printf("{\"calls\": %llu, \"bytes\": %llu, \"lost\": %llu, \"records\": %llu, "
	       "\"matched\": %llu, \"consumer_cpu_ns\": %.0f}\n",
	       (unsigned long long)skel->bss->calls, (unsigned long long)skel->bss->bytes,
	       (unsigned long long)skel->bss->lost, records, matched, cpu_ns() - cpu0);
	rc = 0;
out:
	ring_buffer__free(rb);
	peers_bpf__destroy(skel);
	hs_free_scratch(scratch);
	hs_free_database(db);
	return rc;
}
