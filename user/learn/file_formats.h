/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The values of a delivered file (a rendered Vault Agent template, a Secrets Store CSI
 * object, a mounted Kubernetes Secret key): a JSON object (nested keys become dotted
 * fields), KEY=value lines (with export and quotes, as env templates write them), a YAML
 * mapping, else the whole file (less its final newline) as one value named after the file.
 * Pure parsing: values come back in wiped memory; the caller fingerprints them.
 */
#ifndef SECRETRACE_LEARN_FILE_FORMATS_H
#define SECRETRACE_LEARN_FILE_FORMATS_H

#include <stddef.h>
#include <stdint.h>

#include "learn/vault.h"

enum file_format { FILE_FMT_EMPTY = 0, FILE_FMT_JSON, FILE_FMT_ENV, FILE_FMT_YAML, FILE_FMT_RAW };

struct file_values {
	enum file_format format;
	struct vault_items items;	/* field = key path, or the file's name for FILE_FMT_RAW */
	size_t skipped_short;		/* values under 8 bytes: too short to track */
	size_t skipped_limit;		/* values past max_items */
	uint64_t lease_s;		/* a JSON object's top-level lease_duration, else 0 */
};

/* 0, or -ENOMEM. name: the file's base name (the field of a one-value file). */
int file_parse(const char *name, const uint8_t *buf, size_t len, size_t max_items,
	       struct file_values *out);
void file_values_free(struct file_values *v);
const char *file_format_name(enum file_format f);

#endif
