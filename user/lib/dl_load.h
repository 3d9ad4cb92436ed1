/* SPDX-License-Identifier: GPL-2.0 */
/* A library opened at run time with every function a caller needs from it, or none. */
#ifndef SECRETRACE_DL_LOAD_H
#define SECRETRACE_DL_LOAD_H

#include <stddef.h>

/*
 * Opens soname and finds names[i] in it into slots[i] for every i < n (slots: a struct of
 * n function pointers in the same order). The handle, or NULL with every slot cleared and
 * err saying why ("... (install pkg)" when the library is missing).
 */
void *dl_load(const char *soname, const char *pkg, const char *const *names, size_t n,
	      void **slots, char *err, size_t errlen);

#endif
