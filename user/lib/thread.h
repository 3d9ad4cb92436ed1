/* SPDX-License-Identifier: GPL-2.0 */
/* A worker thread that takes no signal. */
#ifndef SECRETRACE_THREAD_H
#define SECRETRACE_THREAD_H

#include <pthread.h>
#include <signal.h>

/*
 * pthread_create with every signal blocked in the new thread: signals are the event loop's
 * (its signalfd), and one delivered to a worker would be lost to it. Threads start after
 * confinement (tracer/privileges.c drops capabilities while the process has one thread).
 * 0, or pthread_create's error.
 */
static inline int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

#endif
