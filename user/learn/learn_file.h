/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --learn-file: secrets delivered as files (Vault Agent's rendered templates, Secrets Store
 * CSI mounts, Kubernetes Secret volumes), learned at start and again whenever inotify says
 * the file or directory changed (rewritten, renamed over, a new file, a new ..data link).
 * Each new value is a secret.receive with secret.source "file" and the file's path.
 */
#ifndef SECRETRACE_LEARN_FILE_H
#define SECRETRACE_LEARN_FILE_H

#include <stddef.h>
#include <stdint.h>

struct dict;

/* Checks and watches the paths (a value rotated out of one is forgotten after its lease or
 * rotated_keep_s seconds: rotation.h) (a path that does not exist yet is watched through its
 * directory, which must exist); 0, or -1 with err naming the path and the reason. */
int learn_files_init(struct dict *d, const char *const *paths, int n, size_t max_bytes,
		     size_t max_items, uint32_t rotated_keep_s, char *err, size_t errlen);
/* The inotify descriptor made without --learn-file (node discovery): 0, or -1 (errno). */
int learn_files_enable(void);
/* A directory found later (a pod's secrets mount, learn_node.c), read through prefix+dir
 * and named dir in events, with its pod's UID: watched and learned now. 0, or -1 after a
 * secret.learn_failed naming it. */
int learn_files_add(const char *prefix, const char *dir, const char *pod_uid);
/* Learn what the paths hold now (at start, once the outputs are open). */
void learn_files_scan(void);
/* The inotify descriptor for the event loop, or -1 without --learn-file. */
int learn_files_fd(void);
/* inotify said something changed: learn it (a file written in a directory, a tick later). */
void learn_files_changed(void);
void learn_files_tick(uint64_t now_boot_ns);
void learn_files_free(void);
uint64_t learn_files_secrets(void);	/* values learned from files */
uint64_t learn_files_failures(void);	/* files that could not be read or learned whole */

#endif
