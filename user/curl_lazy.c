// SPDX-License-Identifier: GPL-2.0
/*
 * libcurl, loaded when an http(s) output is opened rather than at start: linked in, it
 * brings GnuTLS, Kerberos, LDAP, RTMP and a dozen more libraries whose relocations and
 * constructors cost every run about 3.5 MiB of RSS, though most runs write to a file.
 * These definitions stand in for the few libcurl calls the http output makes and forward
 * to the library's own, found by dlsym the first time curl_global_init is called.
 */
#define CURL_DISABLE_TYPECHECK	/* we define curl_easy_setopt, not call it through its macro */
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "curl_lazy.h"

#define LIBCURL "libcurl.so.4"

static struct {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
} lib;
static char load_error[256];

static int load(void)
{
	static const char *const names[] = {
		"curl_global_init", "curl_easy_init", "curl_easy_setopt", "curl_easy_perform",
		"curl_easy_getinfo", "curl_easy_cleanup", "curl_easy_strerror",
		"curl_slist_append", "curl_slist_free_all",
	};
	void **slot = (void **)&lib;
	void *h = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
	size_t i;

	if (!h) {
		snprintf(load_error, sizeof(load_error), "%s (install libcurl4)", dlerror());
		return -1;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!(slot[i] = dlsym(h, names[i]))) {
			snprintf(load_error, sizeof(load_error), "%s has no %s", LIBCURL, names[i]);
			memset(&lib, 0, sizeof(lib));
			dlclose(h);
			return -1;
		}
	return 0;
}

const char *curl_lazy_error(void)
{
	return load_error[0] ? load_error : "libcurl failed to initialise";
}

/* The first call of all (sinks.c makes it before any other): loads the library. */
CURLcode curl_global_init(long flags)
{
	if (!lib.global_init && load())
		return CURLE_FAILED_INIT;
	return lib.global_init(flags);
}

CURL *curl_easy_init(void)
{
	return lib.easy_init ? lib.easy_init() : NULL;
}

/* The value's type follows from the option's number, as in libcurl's own setopt. */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	va_list ap;
	CURLcode rc;

	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = lib.easy_setopt(curl, option, va_arg(ap, long));
	else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
		rc = lib.easy_setopt(curl, option, va_arg(ap, curl_off_t));
	else
		rc = lib.easy_setopt(curl, option, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode curl_easy_perform(CURL *curl)
{
	return lib.easy_perform(curl);
}

/* Only pointer-valued answers are asked for (CURLINFO_RESPONSE_CODE into a long *). */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	va_start(ap, info);
	rc = lib.easy_getinfo(curl, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

void curl_easy_cleanup(CURL *curl)
{
	lib.easy_cleanup(curl);
}

const char *curl_easy_strerror(CURLcode rc)
{
	return lib.easy_strerror ? lib.easy_strerror(rc) : "libcurl not loaded";
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
	return lib.slist_append ? lib.slist_append(list, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
	if (lib.slist_free_all)
		lib.slist_free_all(list);
}
