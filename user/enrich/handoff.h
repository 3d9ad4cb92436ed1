/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hand-offs through files: the last file each secret was written to and the process that
 * wrote it (a Vault Agent-like fetcher rendering a template). A use of that secret by
 * another process, which did not receive it from Vault itself, then names the file it came
 * through (found again by its inode after a rename over the target), the writer and the
 * writer's user.
 */
#ifndef SECRETRACE_ENRICH_HANDOFF_H
#define SECRETRACE_ENRICH_HANDOFF_H

#include <jansson.h>
#include <stdint.h>

struct delivery;
struct proc;
struct sink_view;

int handoff_init(void);
void handoff_free(void);
/* secret (its raw form's dictionary index) was written by writer to the file of v. */
void handoff_note(uint32_t secret, const struct proc *writer, const struct sink_view *v);
/* secretrace.delivery.{file,process.pid,process.executable,user.id} on a use of secret by
 * user, whose delivery is d, when another process wrote the secret to a file. */
void handoff_enrich(json_t *ev, uint32_t secret, const struct proc *user,
		    const struct delivery *d);

#endif
