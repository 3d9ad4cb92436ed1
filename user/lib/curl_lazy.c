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
#include <stdarg.h>

#include "lib/curl_lazy.h"
#include "lib/dl_load.h"

#define CURL_LAZY_FUNCS(X) \
	X(curl_global_init) X(curl_easy_init) X(curl_easy_setopt) X(curl_easy_perform) \
	X(curl_easy_getinfo) X(curl_easy_cleanup) X(curl_easy_strerror) X(curl_slist_append) \
	X(curl_slist_free_all)

static struct {
#define CURL_LAZY_PTR(f) __typeof__(f) *f;
	CURL_LAZY_FUNCS(CURL_LAZY_PTR)
#undef CURL_LAZY_PTR
} lib;
static char load_error[256];

static int load(void)
{
#define CURL_LAZY_NAME(f) #f,
	static const char *const names[] = { CURL_LAZY_FUNCS(CURL_LAZY_NAME) };
#undef CURL_LAZY_NAME

	return dl_load("libcurl.so.4", "libcurl4", names, sizeof(names) / sizeof(names[0]),
		       (void **)&lib, load_error, sizeof(load_error)) ? 0 : -1;
}

const char *curl_lazy_error(void)
{
	return load_error[0] ? load_error : "libcurl failed to initialise";
}

/* The first call of all (sinks.c makes it before any other): loads the library. */
CURLcode curl_global_init(long flags)
{
	if (!lib.curl_global_init && load())
		return CURLE_FAILED_INIT;
	return lib.curl_global_init(flags);
}

CURL *curl_easy_init(void)
{
	return lib.curl_easy_init ? lib.curl_easy_init() : NULL;
}

/* The value's type follows from the option's number, as in libcurl's own setopt. */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	va_list ap;
	CURLcode rc;

	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = lib.curl_easy_setopt(curl, option, va_arg(ap, long));
	else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
		rc = lib.curl_easy_setopt(curl, option, va_arg(ap, curl_off_t));
	else
		rc = lib.curl_easy_setopt(curl, option, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode curl_easy_perform(CURL *curl)
{
	return lib.curl_easy_perform(curl);
}

/* Only pointer-valued answers are asked for (CURLINFO_RESPONSE_CODE into a long *). */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	va_start(ap, info);
	rc = lib.curl_easy_getinfo(curl, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

void curl_easy_cleanup(CURL *curl)
{
	lib.curl_easy_cleanup(curl);
}

const char *curl_easy_strerror(CURLcode rc)
{
	return lib.curl_easy_strerror ? lib.curl_easy_strerror(rc) : "libcurl not loaded";
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
	return lib.curl_slist_append ? lib.curl_slist_append(list, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
	if (lib.curl_slist_free_all)
		lib.curl_slist_free_all(list);
}
