/* SPDX-License-Identifier: GPL-2.0 */
/* A secret left a traced process: name it (Vault request, process, sink), judge it by
 * the policy, and report it: a violation every time, any other use at once and identical
 * repeats as one event per interval. */
#ifndef SECRETRACE_USES_H
#define SECRETRACE_USES_H

#include <stdbool.h>
#include <stdint.h>

#include "secretrace.h"

struct dict;
struct proc;
struct policy;

struct use {
	const struct st_rec_hdr *hdr;
	uint32_t hook;
	int32_t fd;
	const struct st_sinkinfo *si;
	const char *path;
	uint32_t secret;
	uint32_t count;
	int64_t offset;		/* in the call's bytes; < 0: it began in earlier calls on the fd */
	bool rescanned;		/* found by the userspace rescan of a held buffer */
	int encoding;		/* if not 0 (ENC_RAW), the use's encoding, not its form's */
	struct proc *proc;	/* if set, its process (a held call's, pinned), not hdr's */
};

/* pol: --policy, NULL for none (every use is a secret.use) */
int uses_init(struct dict *d, unsigned repeat_interval_s, const struct policy *pol);
void uses_free(void);
void uses_report(const struct use *u);
/* Report repeats that are due (all of them with all set, or those of one pid). */
void uses_flush(uint64_t now_boot_ns, bool all, uint32_t only_pid);
uint64_t uses_reported(void);
uint64_t uses_violations(void);

#endif
