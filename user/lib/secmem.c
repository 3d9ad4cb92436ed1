// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "lib/log.h"
#include "lib/secmem.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

/* jansson holds parsed Vault responses: give it an allocator that wipes on free. */
static void *json_alloc(size_t n)
{
	size_t *p = malloc(n + sizeof(size_t));

	if (!p)
		return NULL;
	*p = n;
	return p + 1;
}

static void json_release(void *q)
{
	size_t *p;

	if (!q)
		return;
	p = (size_t *)q - 1;
	sodium_memzero(q, *p);
	free(p);
}

static struct rlimit saved_core;

void secmem_child_restore(void)
{
	setrlimit(RLIMIT_CORE, &saved_core);
}

static bool has_cap(cap_value_t c)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (caps) {
		cap_get_flag(caps, c, CAP_EFFECTIVE, &v);
		cap_free(caps);
	}
	return v == CAP_SET;
}

int secmem_init(void)
{
	struct rlimit no_core = { 0, 0 }, unlimited = { RLIM_INFINITY, RLIM_INFINITY };

	if (sodium_init() < 0)
		return -EIO;
	getrlimit(RLIMIT_CORE, &saved_core);
	setrlimit(RLIMIT_CORE, &no_core);
	prctl(PR_SET_DUMPABLE, 0);
	/* Lock pages as they are touched, so nothing the learner held reaches swap. Locked pages
	 * count against RLIMIT_MEMLOCK unless CAP_IPC_LOCK is held: raise it (CAP_SYS_RESOURCE),
	 * and lock nothing rather than have every allocation past a small limit fail. */
	if (setrlimit(RLIMIT_MEMLOCK, &unlimited) && !has_cap(CAP_IPC_LOCK))
		st_warn("cannot lock memory (no CAP_IPC_LOCK, and RLIMIT_MEMLOCK cannot be raised "
			"without CAP_SYS_RESOURCE): secret material may be swapped");
	else if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT))
		st_warn("mlockall: %s; secret material may be swapped", strerror(errno));
	json_set_alloc_funcs(json_alloc, json_release);
	return 0;
}

void secmem_wipe(void *p, size_t n)
{
	if (p && n)
		sodium_memzero(p, n);
}

int secbuf_append(struct secbuf *b, const void *p, size_t n)
{
	if (!n)
		return 0;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		uint8_t *d;

		while (cap < b->len + n)
			cap *= 2;
		d = malloc(cap);
		if (!d)
			return -ENOMEM;
		if (b->len)
			memcpy(d, b->data, b->len);
		secmem_wipe(b->data, b->cap);
		free(b->data);
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void secbuf_reset(struct secbuf *b)
{
	secmem_wipe(b->data, b->len);
	b->len = 0;
}

void secbuf_free(struct secbuf *b)
{
	secmem_wipe(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
