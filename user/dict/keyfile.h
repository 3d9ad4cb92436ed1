/* SPDX-License-Identifier: GPL-2.0 */
/* The installation's fingerprint key: secret.fingerprint is a keyed hash under it, so
 * nodes sharing the file agree on fingerprints. */
#ifndef SECRETRACE_KEYFILE_H
#define SECRETRACE_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

/* Read the key, creating file (and its directory) with a random key if absent. */
int keyfile_load(const char *path, uint8_t *key, size_t len, char *err, size_t errlen);
/* Make path's directory (0700) if it is missing: 0, or -errno with err naming what (e.g.
 * "key file") the directory was for. */
int keyfile_mkdir_parent(const char *path, const char *what, char *err, size_t errlen);

#endif
