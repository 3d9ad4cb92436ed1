/* SPDX-License-Identifier: GPL-2.0 */
/* Where a file is now that was written under a temporary name and renamed over its target in
 * the same directory (consul-template, Vault Agent, Kubernetes' atomic writer). */
#ifndef SECRETRACE_RENAMED_H
#define SECRETRACE_RENAMED_H

#include <stddef.h>
#include <stdint.h>

/* path if it is still inode ino, else the entry of its directory that is (out gets it; 0), or
 * -1 when neither is (out untouched). */
int renamed_path(const char *path, uint64_t ino, char *out, size_t outlen);

#endif
