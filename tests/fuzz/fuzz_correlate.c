// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for `secretrace correlate` (user/correlate/): the input's lines up to
 * one that is exactly "AUDIT" are secretrace events, the rest Vault file-audit log lines
 * (both untrusted: an audit log is written by a server the tracer does not control, an
 * events file may have been edited). The chains and the summary are then computed and
 * printed both ways. Small limits make the counted-and-dropped paths reachable.
 * Build and run: tools/fuzz.sh [seconds] (FUZZ_TARGETS=correlate)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"
#include "fuzz.h"

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct correlate_opts o;
	struct correlator *c;
	const char *p = (const char *)data, *end = p + size;
	bool audit = false;
	json_t *summary;
	size_t i, n;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	correlate_default_opts(&o);
	o.max_requests = 4;
	o.max_items = 3;
	o.max_total = 8;
	o.max_line = 2048;
	c = correlator_new(&o);
	check(c);
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t len = (nl ? nl : end) - p;

		if (len == 5 && !memcmp(p, "AUDIT", 5))
			audit = true;
		else if (len > o.max_line)
			(audit ? correlator_audit_line : correlator_event_line)(c, NULL, 0);
		else
			(audit ? correlator_audit_line : correlator_event_line)(c, p, len);
		p += len + (nl != NULL);
	}
	correlator_finish(c);
	n = correlator_count(c);
	check(n <= o.max_requests);
	for (i = 0; i < n; i++)
		check(json_is_object(correlator_chain(c, i)));
	summary = correlator_summary(c);
	check(json_is_object(summary));
	json_decref(summary);
	correlator_print(c, devnull, false);
	correlator_print(c, devnull, true);
	correlator_free(c);
	return 0;
}
