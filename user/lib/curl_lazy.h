/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libcurl is loaded on first use (curl_lazy.c): curl_global_init loads it, and fails with
 * CURLE_FAILED_INIT if it cannot; this says why.
 */
#ifndef SECRETRACE_CURL_LAZY_H
#define SECRETRACE_CURL_LAZY_H

const char *curl_lazy_error(void);

#endif
