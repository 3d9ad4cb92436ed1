/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Rotation of learned files: which secrets each file holds now. A value a file no longer
 * holds (rewritten with a rotated secret) stays learned until its lease ends (the file's
 * lease_duration, counted from when the value was learned) or, without one, --rotated-keep
 * seconds; then it is forgotten (dict_forget) and a secret.expire event says so. A value
 * learned elsewhere too (a Vault response, the environment) or held by another file, or
 * back in the file, is kept.
 */
#ifndef SECRETRACE_LEARN_ROTATION_H
#define SECRETRACE_LEARN_ROTATION_H

#include <stddef.h>
#include <stdint.h>

struct dict;

void rotation_init(struct dict *d, uint32_t keep_s);
/* file (as events name it) holds these secrets now (raw dictionary indices); lease_s: the
 * lease its content says, 0 if none; pod_uid of its secrets mount, or NULL. */
void rotation_file_read(const char *file, const uint32_t *idx, size_t n, uint64_t lease_s,
			const char *pod_uid);
/* A watched directory is gone (a pod's mount unmounted): what its files held is rotated out
 * now (its files are no longer followed). */
void rotation_dir_gone(const char *dir);
/* Forget what is due. */
void rotation_tick(uint64_t now_boot_ns);
void rotation_free(void);

#endif
