// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's TLS workload: a TLS client and server (OpenSSL, libssl.so.3) over a
 * socketpair in one process; for each SIZE, SSL_write of SIZE bytes by the client, timed,
 * about BUDGET_MS milliseconds each. After the handshake the server thread reads the
 * records with read(2) and drops them, so that the timing holds SSL_write and nothing
 * else a TLS probe could add to. With a fifo argument, it waits for one byte on it before
 * starting. Prints "SIZE NS_PER_CALL" per size.
 *
 *   ssl_loop SIZE[,SIZE...] BUDGET_MS [GO_FIFO]
 */
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static SSL_CTX *server_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509 *cert = X509_new();

	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
				   (const unsigned char *)"bench", -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	X509_sign(cert, key, EVP_sha256());
	if (!ctx || !key || SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	return ctx;
}

static void *serve(void *arg)
{
	SSL *ssl = arg;
	static char buf[1 << 17];

	if (SSL_accept(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	while (read(SSL_get_fd(ssl), buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	size_t sizes[16], nsizes = 0, max = 0, i, k;
	char *list, *tok, *save = NULL, *buf;
	SSL_CTX *cctx, *sctx;
	SSL *client, *server;
	double budget, t0, t;
	pthread_t th;
	int sv[2];

	if (argc < 3) {
		fprintf(stderr, "usage: ssl_loop SIZE[,SIZE...] BUDGET_MS [GO_FIFO]\n");
		return 2;
	}
	list = strdup(argv[1]);
	for (tok = strtok_r(list, ",", &save); tok && nsizes < 16; tok = strtok_r(NULL, ",", &save)) {
		sizes[nsizes] = strtoul(tok, NULL, 10);
		if (sizes[nsizes] > max)
			max = sizes[nsizes];
		nsizes++;
	}
	budget = atof(argv[2]) * 1e6;
	buf = malloc(max);
	for (i = 0; i < max; i++)
		buf[i] = "the quick brown fox jumps over the lazy dog "[i % 44];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	sctx = server_ctx();
	cctx = SSL_CTX_new(TLS_client_method());
	server = SSL_new(sctx);
	client = SSL_new(cctx);
	SSL_set_fd(server, sv[1]);
	SSL_set_fd(client, sv[0]);
	pthread_create(&th, NULL, serve, server);
	if (SSL_connect(client) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	if (argc > 3) {
		char go;
		int f = open(argv[3], O_RDONLY);

		if (f < 0 || read(f, &go, 1) != 1)
			return 1;
		close(f);
	}
	for (k = 0; k < nsizes; k++) {
		size_t n = 0;

		for (i = 0; i < 256; i++)	/* warm up */
			SSL_write(client, buf, sizes[k]);
		t0 = now_ns();
		do {
			for (i = 0; i < 32; i++)
				if (SSL_write(client, buf, sizes[k]) <= 0)
					return 1;
			n += 32;
			t = now_ns();
		} while (t - t0 < budget);
		printf("%zu %.1f\n", sizes[k], (t - t0) / n);
		fflush(stdout);
	}
	shutdown(sv[0], SHUT_WR);
	pthread_join(th, NULL);
	return 0;
}
