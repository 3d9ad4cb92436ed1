// SPDX-License-Identifier: GPL-2.0
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "lib/dl_load.h"

void *dl_load(const char *soname, const char *pkg, const char *const *names, size_t n,
	      void **slots, char *err, size_t errlen)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	size_t i;

	if (!h) {
		snprintf(err, errlen, "%s (install %s)", dlerror(), pkg);
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (!(slots[i] = dlsym(h, names[i]))) {
			snprintf(err, errlen, "%s has no %s", soname, names[i]);
			memset(slots, 0, n * sizeof(*slots));
			dlclose(h);
			return NULL;
		}
	return h;
}
