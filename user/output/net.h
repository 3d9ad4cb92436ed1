/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A network output: the event loop hands its lines to the output's spool; the output's
 * thread reads them back in batches and gives each batch to the transport (syslog, HTTP)
 * until every line of it is delivered, backing off while the receiver is down.
 */
#ifndef SECRETRACE_SINK_NET_H
#define SECRETRACE_SINK_NET_H

#include <pthread.h>
#include <stdbool.h>

#include "output/format.h"
#include "output/sinks_cfg.h"
#include "output/spool.h"

enum sink_loss {
	SINK_LOSS_WRITE,	/* a local write failed */
	SINK_LOSS_SPOOL_FULL,	/* dropped, oldest first, at the spool's bound */
	SINK_LOSS_SPOOL_FAILED,	/* the spool could not be written */
	SINK_LOSS_REJECTED,	/* the receiver refused the event for good */
	SINK_LOSS_UNCONFIRMED,	/* answers that could not be read, past the bound of tries */
	SINK_LOSS_MAX,
};

struct sink_line {
	const char *p;		/* into sink_batch.data, without the \n */
	size_t len;
	bool done;		/* delivered, or refused for good */
};

struct sink_batch {
	char *data;
	size_t cap;
	struct sink_line *line;
	size_t n, cap_lines;
	unsigned unreadable;	/* answers to this batch that could not be read */
	unsigned retry_after_ms;	/* set by send: the receiver asked to wait this long */
};

struct sink_net;

struct sink_transport {
	/* Deliver b's lines not done yet and mark those that arrived (and those given up,
	 * counted in lost[]). 0 when every line is done, else -1 and why. */
	int (*send)(struct sink_net *s, struct sink_batch *b, uint64_t lost[SINK_LOSS_MAX],
		    char *err, size_t errlen);
	void (*free)(void *ctx);
	bool batches;		/* waits for batch_events/bytes/ms (HTTP), or sends at once */
};

struct sink_net {
	char name[256];
	const struct sink_transport *t;
	void *ctx;
	unsigned batch_events, batch_ms;
	uint64_t batch_bytes;
	int stop_efd;		/* readable once the output must give up */
	int stopping;		/* atomic */
	pthread_t thread;
	bool started, joined;
	pthread_mutex_t lock;
	pthread_cond_t wake, progress;
	/* under lock */
	struct spool spool;
	bool draining, down, status_new;
	uint64_t first_ns;	/* when the oldest pending line was appended */
	uint64_t lost[SINK_LOSS_MAX];
	char status[256];
	/* event loop only: lines not yet in the spool */
	struct sink_buf buf;
	uint64_t lines;
};

/* Takes ctx (freed with t->free). */
struct sink_net *sink_net_new(const char *name, const struct sink_transport *t, void *ctx,
			      const char *spool_dir, const struct sinks_cfg *c, char *err,
			      size_t errlen);
void sink_net_write(struct sink_net *s, const char *line, size_t len);
void sink_net_flush(struct sink_net *s);
void sink_net_drain(struct sink_net *s, uint64_t deadline_ns);
uint64_t sink_net_pending(struct sink_net *s);
void sink_net_losses(struct sink_net *s, uint64_t lost[SINK_LOSS_MAX]);
/* A change of state to report on stderr (down: why; up again), or false. */
bool sink_net_status(struct sink_net *s, char *buf, size_t len);
/* Stops the thread and frees s; returns the events left undelivered (kept in the spool) and
 * the final loss counts. */
uint64_t sink_net_close(struct sink_net *s, uint64_t lost[SINK_LOSS_MAX]);

/* For transports: whether to give up now; and poll(fd, events) that also returns
 * -ECANCELED once the output is stopping. */
bool sink_net_stopping(const struct sink_net *s);
int sink_net_wait(struct sink_net *s, int fd, short events, int timeout_ms);
uint64_t sink_now_ns(void);

/* The transports; NULL with err on a bad spec. */
void *syslog_new(const char *spec, const struct sinks_cfg *c, char *err, size_t errlen);
extern const struct sink_transport syslog_transport;
void *http_new(const char *url, const struct sinks_cfg *c, char *err, size_t errlen);
extern const struct sink_transport http_transport;

#endif
