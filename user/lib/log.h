/* SPDX-License-Identifier: GPL-2.0 */
/* Diagnostics on stderr. Every line passes the redactor first; nothing here reaches the
 * event stream. */
#ifndef SECRETRACE_LOG_H
#define SECRETRACE_LOG_H

#include <stdbool.h>

extern bool st_verbose;

void st_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void st_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void st_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void st_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
