// SPDX-License-Identifier: GPL-2.0
/* OpenSSL's functions found in libssl.so.3 (and libcrypto, which it loads) on first use. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "openssl_lazy.h"

#define LIBSSL "libssl.so.3"

struct openssl_lazy openssl_lazy;

int openssl_load(char *err, size_t errlen)
{
#define OPENSSL_LAZY_NAME(f) #f,
	static const char *const names[] = { OPENSSL_LAZY_FUNCS(OPENSSL_LAZY_NAME) };
#undef OPENSSL_LAZY_NAME
	static void *lib;
	void **slot = (void **)&openssl_lazy;
	size_t i;

	if (lib)
		return 0;
	lib = dlopen(LIBSSL, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(err, errlen, "cannot load OpenSSL: %s (install libssl3)", dlerror());
		return -1;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!(slot[i] = dlsym(lib, names[i]))) {
			snprintf(err, errlen, "cannot load OpenSSL: %s has no %s", LIBSSL, names[i]);
			memset(&openssl_lazy, 0, sizeof(openssl_lazy));
			dlclose(lib);
			lib = NULL;
			return -1;
		}
	return 0;
}
