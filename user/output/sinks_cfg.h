/* SPDX-License-Identifier: GPL-2.0 */
/* The outputs' options (docs/cli.md, "Events and outputs"), as sinks.c and the network
 * outputs read them. */
#ifndef SECRETRACE_SINKS_CFG_H
#define SECRETRACE_SINKS_CFG_H

#include <stdint.h>

#include "output/formats.h"

struct sinks_cfg {
	const char *host;		/* syslog HOSTNAME, HEC host */
	const char *spool_dir;		/* network outputs' spools go below */
	uint64_t spool_max;		/* bytes per network output */
	uint64_t rotate_size;		/* file:PATH rotated past this size (0: never) */
	unsigned rotate_keep;		/* PATH.1 ... PATH.N kept */
	const char *http_format;	/* auto, bulk, hec, ndjson */
	const char *auth_file;		/* HTTP: a header line ("Authorization: ...") */
	const char *auth_env;		/* ... or the environment variable holding it */
	const char *ca_file;		/* CA certificates for https:// and syslog+tls:// */
	unsigned batch_events;		/* HTTP: at most this many events a request */
	uint64_t batch_bytes;		/* ... and about this many bytes */
	unsigned batch_ms;		/* ... sent once the oldest has waited this long */
	unsigned flush_timeout_s;	/* on stop: how long network outputs may take */
	enum out_format format;		/* --format: every output's */
};

#endif
