// SPDX-License-Identifier: GPL-2.0
/*
 * syslog+udp://, syslog+tcp:// and syslog+tls:// (RFC 5424 messages; RFC 6587 octet
 * counting on TCP, RFC 5425 on TLS). On streams a batch counts as delivered once the
 * receiving host's TCP has acknowledged all of it; a connection that breaks before that
 * sends the batch again on a new one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/openssl_lazy.h"
#include "output/format.h"
#include "output/net.h"

#define CONNECT_TIMEOUT_MS 5000
#define IO_TIMEOUT_MS 30000
#define ACK_POLL_MS 5

enum proto { SYSLOG_UDP, SYSLOG_TCP, SYSLOG_TLS };

struct syslog_ctx {
	enum proto proto;
	char host[256], port[8], hostname[256];
	int fd;
	SSL_CTX *tls;
	SSL *ssl;
	struct sink_buf out;
};

static void drop_conn(struct syslog_ctx *x)
{
	if (x->ssl)
		SSL_free(x->ssl);
	x->ssl = NULL;
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
}

static void ctx_free(void *p)
{
	struct syslog_ctx *x = p;

	if (!x)
		return;
	if (x->ssl)
		SSL_shutdown(x->ssl);	/* close_notify: a clean end for the receiver */
	drop_conn(x);
	if (x->tls)
		SSL_CTX_free(x->tls);
	sink_buf_free(&x->out);
	free(x);
}

static void tls_error(const char *what, char *err, size_t errlen)
{
	char buf[200];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, e ? buf : "failed");
	ERR_clear_error();
}

/* Drives one nonblocking TLS call (r its return) until it completes: 1, 0 to call again
 * after waiting, -1 on failure. */
static int tls_wait(struct sink_net *s, struct syslog_ctx *x, int r, const char *what,
		    char *err, size_t errlen)
{
	int e = SSL_get_error(x->ssl, r), w;

	if (r > 0)
		return 1;
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		if (e == SSL_ERROR_SYSCALL && errno)
			snprintf(err, errlen, "%s: %s", what, strerror(errno));
		else
			tls_error(what, err, errlen);
		return -1;
	}
	w = sink_net_wait(s, x->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, IO_TIMEOUT_MS);
	if (w <= 0) {
		snprintf(err, errlen, "%s: %s", what, w ? strerror(-w) : "timed out");
		return -1;
	}
	return 0;
}

static int tls_start(struct sink_net *s, struct syslog_ctx *x, char *err, size_t errlen)
{
	unsigned char a[sizeof(struct in6_addr)];
	int r;

	x->ssl = SSL_new(x->tls);
	if (!x->ssl || !SSL_set_fd(x->ssl, x->fd)) {
		tls_error("TLS", err, errlen);
		return -1;
	}
	/* the name or address the certificate must carry */
	if (inet_pton(AF_INET, x->host, a) == 1 || inet_pton(AF_INET6, x->host, a) == 1) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(x->ssl), x->host);
	} else {
		SSL_set_tlsext_host_name(x->ssl, x->host);
		SSL_set1_host(x->ssl, x->host);
	}
	while (!(r = tls_wait(s, x, SSL_connect(x->ssl), "TLS handshake", err, errlen)))
		;
	if (r < 0 && SSL_get_verify_result(x->ssl) != X509_V_OK)
		snprintf(err, errlen, "TLS handshake: certificate: %s",
			 X509_verify_cert_error_string(SSL_get_verify_result(x->ssl)));
	return r < 0 ? -1 : 0;
}

static int connect_to(struct sink_net *s, struct syslog_ctx *x, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = x->proto == SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM };
	struct addrinfo *res, *ai;
	int ret, e = 0;

	ret = getaddrinfo(x->host, x->port, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "%s: %s", x->host, gai_strerror(ret));
		return -1;
	}
	for (ai = res; ai && x->fd < 0; ai = ai->ai_next) {
		socklen_t len = sizeof(e);
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
			e = errno;
		} else {
			ret = sink_net_wait(s, fd, POLLOUT, CONNECT_TIMEOUT_MS);
			e = ret < 0 ? -ret : !ret ? ETIMEDOUT : 0;
			if (!e && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len))
				e = errno;
		}
		if (e)
			close(fd);
		else
			x->fd = fd;
	}
	freeaddrinfo(res);
	if (x->fd < 0) {
		snprintf(err, errlen, "connect: %s", strerror(e));
		return -1;
	}
	if (x->proto == SYSLOG_TLS && tls_start(s, x, err, errlen)) {
		drop_conn(x);
		return -1;
	}
	return 0;
}

/* Syslog receivers never speak on the stream: readable means closed (or, on TLS, a session
 * ticket to read past). */
static bool stream_alive(struct syslog_ctx *x)
{
	struct pollfd p = { .fd = x->fd, .events = POLLIN };
	char buf[4096];
	int r;

	if (poll(&p, 1, 0) <= 0)
		return true;
	if (p.revents & (POLLERR | POLLHUP))
		return false;
	if (!x->ssl)
		return recv(x->fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN;
	r = SSL_read(x->ssl, buf, sizeof(buf));
	r = SSL_get_error(x->ssl, r);
	ERR_clear_error();
	return r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE;
}

static int write_all(struct sink_net *s, struct syslog_ctx *x, const char *p, size_t len,
		     char *err, size_t errlen)
{
	size_t done = 0;
	ssize_t n;
	int r;

	while (done < len) {
		if (x->ssl) {
			r = tls_wait(s, x, SSL_write(x->ssl, p + done, len - done), "TLS write", err,
				     errlen);
			if (r < 0)
				return -1;
			if (r > 0)
				done = len;	/* SSL_write writes all or nothing */
			continue;
		}
		n = send(x->fd, p + done, len - done, MSG_NOSIGNAL);
		if (n > 0) {
			done += n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "send: %s", strerror(errno));
			return -1;
		}
		r = sink_net_wait(s, x->fd, POLLOUT, IO_TIMEOUT_MS);
		if (r <= 0) {
			snprintf(err, errlen, "send: %s", r ? strerror(-r) : "timed out");
			return -1;
		}
	}
	return 0;
}

/* An empty send queue means acknowledged only on a connection still up: a reset purges the
 * queue of what was never acknowledged. */
static int reset_error(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(int);
	int e = 0;

	if (!getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) && e)
		return e;
	len = sizeof(ti);
	if (!getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) && ti.tcpi_state == TCP_CLOSE)
		return ECONNRESET;
	return 0;
}

/* Until the peer's TCP has acknowledged every byte written. */
static int wait_acked(struct sink_net *s, struct syslog_ctx *x, char *err, size_t errlen)
{
	uint64_t until = sink_now_ns() + IO_TIMEOUT_MS * 1000000ULL;
	int q, r;

	for (;;) {
		if (ioctl(x->fd, SIOCOUTQ, &q)) {
			snprintf(err, errlen, "SIOCOUTQ: %s", strerror(errno));
			return -1;
		}
		if (!q) {
			r = reset_error(x->fd);
			if (!r)
				return 0;
			snprintf(err, errlen, "not acknowledged: %s", strerror(r));
			return -1;
		}
		r = sink_net_wait(s, x->fd, 0, ACK_POLL_MS);	/* errors and hangups only */
		if (r || sink_now_ns() > until) {
			snprintf(err, errlen, "not acknowledged: %s",
				 r < 0 ? strerror(-r) : r ? "connection lost" : "timed out");
			return -1;
		}
	}
}

static int syslog_send(struct sink_net *s, struct sink_batch *b, uint64_t lost[SINK_LOSS_MAX],
		       char *err, size_t errlen)
{
	struct syslog_ctx *x = s->ctx;
	bool stream = x->proto != SYSLOG_UDP;
	struct sink_meta m;
	size_t i;

	if (x->fd >= 0 && stream && !stream_alive(x))
		drop_conn(x);
	if (x->fd < 0 && connect_to(s, x, err, errlen))
		return -1;
	x->out.len = 0;
	for (i = 0; i < b->n; i++) {
		struct sink_line *l = &b->line[i];

		if (l->done)
			continue;
		sink_meta(l->p, l->len, &m);
		if (!stream)
			x->out.len = 0;
		if (syslog_format(&x->out, l->p, l->len, &m, x->hostname, getpid(), stream)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (stream)
			continue;
		/* best effort: a datagram the kernel took counts as delivered */
		if (send(x->fd, x->out.p, x->out.len, MSG_NOSIGNAL) < 0) {
			snprintf(err, errlen, "send: %s", strerror(errno));
			if (errno != EMSGSIZE) {
				drop_conn(x);
				return -1;
			}
			lost[SINK_LOSS_REJECTED]++;	/* larger than a datagram can be: never deliverable */
		}
		l->done = true;
	}
	if (!stream)
		return 0;
	if (write_all(s, x, x->out.p, x->out.len, err, errlen) || wait_acked(s, x, err, errlen)) {
		drop_conn(x);
		return -1;
	}
	for (i = 0; i < b->n; i++)
		b->line[i].done = true;
	return 0;
}

/* HOST:PORT, HOST being a name, an IPv4 address or [IPv6]. */
static int host_port(const char *hp, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;
	unsigned long p;
	char *end;

	if (*hp == '[') {
		const char *close = strchr(hp, ']');

		if (!close || close[1] != ':' || (size_t)(close - hp - 1) >= hlen)
			return -1;
		snprintf(host, hlen, "%.*s", (int)(close - hp - 1), hp + 1);
		colon = close + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon || colon == hp || (size_t)(colon - hp) >= hlen || memchr(hp, ':', colon - hp))
			return -1;
		snprintf(host, hlen, "%.*s", (int)(colon - hp), hp);
	}
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p == 0 || p > 65535)
		return -1;
	snprintf(port, plen, "%lu", p);
	return 0;
}

void *syslog_new(const char *spec, const struct sinks_cfg *c, char *err, size_t errlen)
{
	static const char *const schemes[] = { "syslog+udp://", "syslog+tcp://", "syslog+tls://" };
	struct syslog_ctx *x = calloc(1, sizeof(*x));
	int i;

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->fd = -1;
	for (i = 0; i < 3; i++)
		if (!strncmp(spec, schemes[i], strlen(schemes[i])))
			break;
	if (i == 3 || host_port(spec + strlen(schemes[i]), x->host, sizeof(x->host), x->port,
				sizeof(x->port))) {
		snprintf(err, errlen, "expected %sHOST:PORT", i < 3 ? schemes[i] : "syslog+udp://");
		goto fail;
	}
	x->proto = i;
	snprintf(x->hostname, sizeof(x->hostname), "%s", c->host ? c->host : "");
	if (x->proto != SYSLOG_TLS)
		return x;
	if (openssl_load(err, errlen))
		goto fail;
	x->tls = SSL_CTX_new(TLS_client_method());
	if (!x->tls || !SSL_CTX_set_min_proto_version(x->tls, TLS1_2_VERSION)) {
		tls_error("TLS", err, errlen);
		goto fail;
	}
	SSL_CTX_set_verify(x->tls, SSL_VERIFY_PEER, NULL);
	if (c->ca_file ? !SSL_CTX_load_verify_locations(x->tls, c->ca_file, NULL)
		       : !SSL_CTX_set_default_verify_paths(x->tls)) {
		char why[300];

		snprintf(why, sizeof(why), "CA certificates %s", c->ca_file ? c->ca_file : "");
		tls_error(why, err, errlen);
		goto fail;
	}
	return x;
fail:
	ctx_free(x);
	return NULL;
}

const struct sink_transport syslog_transport = {
	.send = syslog_send,
	.free = ctx_free,
	.batches = false,
};
