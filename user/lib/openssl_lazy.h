/* SPDX-License-Identifier: GPL-2.0 */
/*
 * OpenSSL, loaded when a syslog+tls:// output is opened rather than at start (libssl and
 * libcrypto cost every run about 1.7 MiB of RSS, though few send syslog over TLS). The
 * one file that calls OpenSSL includes this instead of OpenSSL's headers (it includes them
 * first): each function named below is called through a pointer openssl_load() fills from
 * the library.
 */
#ifndef SECRETRACE_OPENSSL_LAZY_H
#define SECRETRACE_OPENSSL_LAZY_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stddef.h>

#define OPENSSL_LAZY_FUNCS(X) \
	X(ERR_clear_error) X(ERR_error_string_n) X(ERR_get_error) \
	X(SSL_CTX_ctrl) X(SSL_CTX_free) X(SSL_CTX_load_verify_locations) X(SSL_CTX_new) \
	X(SSL_CTX_set_default_verify_paths) X(SSL_CTX_set_verify) X(SSL_connect) X(SSL_ctrl) \
	X(SSL_free) X(SSL_get0_param) X(SSL_get_error) X(SSL_get_verify_result) X(SSL_new) \
	X(SSL_read) X(SSL_set1_host) X(SSL_set_fd) X(SSL_shutdown) X(SSL_write) \
	X(TLS_client_method) X(X509_VERIFY_PARAM_set1_ip_asc) X(X509_verify_cert_error_string)

struct openssl_lazy {
#define OPENSSL_LAZY_PTR(f) __typeof__(f) *f;
	OPENSSL_LAZY_FUNCS(OPENSSL_LAZY_PTR)
#undef OPENSSL_LAZY_PTR
};
extern struct openssl_lazy openssl_lazy;

/* 0 once every function is found (loaded once), else -1 with err saying why. */
int openssl_load(char *err, size_t errlen);

/* Calls by name go through the table (OpenSSL's macros, such as
 * SSL_CTX_set_min_proto_version, expand to SSL_CTX_ctrl and so on and land here too). */
#define ERR_clear_error (*openssl_lazy.ERR_clear_error)
#define ERR_error_string_n (*openssl_lazy.ERR_error_string_n)
#define ERR_get_error (*openssl_lazy.ERR_get_error)
#define SSL_CTX_ctrl (*openssl_lazy.SSL_CTX_ctrl)
#define SSL_CTX_free (*openssl_lazy.SSL_CTX_free)
#define SSL_CTX_load_verify_locations (*openssl_lazy.SSL_CTX_load_verify_locations)
#define SSL_CTX_new (*openssl_lazy.SSL_CTX_new)
#define SSL_CTX_set_default_verify_paths (*openssl_lazy.SSL_CTX_set_default_verify_paths)
#define SSL_CTX_set_verify (*openssl_lazy.SSL_CTX_set_verify)
#define SSL_connect (*openssl_lazy.SSL_connect)
#define SSL_ctrl (*openssl_lazy.SSL_ctrl)
#define SSL_free (*openssl_lazy.SSL_free)
#define SSL_get0_param (*openssl_lazy.SSL_get0_param)
#define SSL_get_error (*openssl_lazy.SSL_get_error)
#define SSL_get_verify_result (*openssl_lazy.SSL_get_verify_result)
#define SSL_new (*openssl_lazy.SSL_new)
#define SSL_read (*openssl_lazy.SSL_read)
#define SSL_set1_host (*openssl_lazy.SSL_set1_host)
#define SSL_set_fd (*openssl_lazy.SSL_set_fd)
#define SSL_shutdown (*openssl_lazy.SSL_shutdown)
#define SSL_write (*openssl_lazy.SSL_write)
#define TLS_client_method (*openssl_lazy.TLS_client_method)
#define X509_VERIFY_PARAM_set1_ip_asc (*openssl_lazy.X509_VERIFY_PARAM_set1_ip_asc)
#define X509_verify_cert_error_string (*openssl_lazy.X509_verify_cert_error_string)

#endif
