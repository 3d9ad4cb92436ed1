// SPDX-License-Identifier: GPL-2.0
/* OpenSSL's functions found in libssl.so.3 (and libcrypto, which it loads) on first use. */
#include <stdio.h>

#include "lib/dl_load.h"
#include "lib/openssl_lazy.h"

struct openssl_lazy openssl_lazy;

int openssl_load(char *err, size_t errlen)
{
#define OPENSSL_LAZY_NAME(f) #f,
	static const char *const names[] = { OPENSSL_LAZY_FUNCS(OPENSSL_LAZY_NAME) };
#undef OPENSSL_LAZY_NAME
	static void *lib;
	char why[256];

	if (lib)
		return 0;
	lib = dl_load("libssl.so.3", "libssl3", names, sizeof(names) / sizeof(names[0]),
		      (void **)&openssl_lazy, why, sizeof(why));
	if (!lib) {
		snprintf(err, errlen, "cannot load OpenSSL: %s", why);
		return -1;
	}
	return 0;
}
