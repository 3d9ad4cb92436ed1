// SPDX-License-Identifier: GPL-2.0
#define CURL_DISABLE_TYPECHECK	/* lib/curl_lazy.c stands in for libcurl's functions */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "dict/dict.h"
#include "learn/audit_hash.h"
#include "lib/curl_lazy.h"
#include "lib/grow.h"
#include "lib/log.h"
#include "lib/secmem.h"
#include "lib/u64map.h"
#include "output/emit.h"
#include "lib/thread.h"

#define QUEUE_MAX 4096		/* values waiting for their hash; past it, a counted failure */
#define TIMEOUT_MS 5000		/* one request, connection included */
#define HASH_MAX 160		/* "hmac-sha256:" and 64 hex digits, with room */
#define TOKEN_MAX 4096

struct job {
	uint32_t idx;
	bool failed;		/* an answer: no hash, err says why */
	uint8_t *value;		/* a request: wiped and freed once sent */
	size_t len;
	char hash[HASH_MAX];
	char err[128];
	struct job *next;
};

struct held {
	uint32_t idx;
	json_t *ev;
};

static struct {
	bool on;
	struct dict *dict;
	char *url, *ca_file;
	char token_header[TOKEN_MAX + 32];	/* "X-Vault-Token: ..." in locked memory */
	int efd;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *todo, **todo_tail, *done;	/* under lock */
	size_t queued;				/* under lock */
	bool stop;				/* under lock */
	/* the event loop's own */
	struct u64map pending;			/* idx + 1 of the values asked about */
	struct held *held;
	size_t nheld, heldcap;
	uint64_t failures;
} ah = { .efd = -1, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static void job_free(struct job *j)
{
	if (j->value) {
		secmem_wipe(j->value, j->len);
		free(j->value);
	}
	free(j);
}

/* ---- the worker ---- */

struct answer {
	char buf[1024];
	size_t len;
	bool over;
};

static size_t on_answer(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t k = size * n;

	if (a->len + k >= sizeof(a->buf)) {
		a->over = true;	/* an audit-hash answer is small: this is not one */
		return 0;
	}
	memcpy(a->buf + a->len, p, k);
	a->len += k;
	return k;
}

/* One value's HMAC into j->hash, or j->failed with why (never with the value). */
static void ask(CURL *curl, struct curl_slist *headers, struct job *j)
{
	json_t *body = json_object(), *root, *h;
	struct answer a = { .len = 0 };
	json_free_t release;
	char *text = NULL;
	long code = 0;
	CURLcode rc;

	/* JSON carries text: a binary value cannot be asked about (and Vault returns text) */
	if (!body || json_object_set_new(body, "input", json_stringn((const char *)j->value, j->len)) ||
	    !(text = json_dumps(body, JSON_COMPACT))) {
		snprintf(j->err, sizeof(j->err), "the value is not UTF-8 text");
		json_decref(body);
		j->failed = true;
		return;
	}
	json_decref(body);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
	rc = curl_easy_perform(curl);
	json_get_alloc_funcs(NULL, &release);
	release(text);	/* jansson's allocator (lib/secmem.c) wipes it */
	if (rc != CURLE_OK) {
		snprintf(j->err, sizeof(j->err), "%s", a.over ? "answer too large" : curl_easy_strerror(rc));
		j->failed = true;
		return;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	root = json_loadb(a.buf, a.len, 0, NULL);
	h = json_object_get(json_object_get(root, "data"), "hash");
	if (code != 200 || !json_is_string(h) || strncmp(json_string_value(h), "hmac-sha256:", 12) ||
	    json_string_length(h) >= sizeof(j->hash)) {
		snprintf(j->err, sizeof(j->err), "HTTP %ld without a hash", code);
		j->failed = true;
	} else {
		snprintf(j->hash, sizeof(j->hash), "%s", json_string_value(h));
	}
	json_decref(root);
}

static void *worker(void *arg)
{
	struct curl_slist *headers;
	CURL *curl = curl_easy_init();
	struct job *j;
	uint64_t one = 1;

	(void)arg;
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	headers = headers ? curl_slist_append(headers, ah.token_header) : NULL;
	if (curl) {
		curl_easy_setopt(curl, CURLOPT_URL, ah.url);
		curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)TIMEOUT_MS);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_answer);
		if (ah.ca_file)
			curl_easy_setopt(curl, CURLOPT_CAINFO, ah.ca_file);
	}
	pthread_mutex_lock(&ah.lock);
	for (;;) {
		while (!ah.todo && !ah.stop)
			pthread_cond_wait(&ah.wake, &ah.lock);
		if (ah.stop)
			break;
		j = ah.todo;
		ah.todo = j->next;
		if (!ah.todo)
			ah.todo_tail = &ah.todo;
		pthread_mutex_unlock(&ah.lock);
		if (curl && headers) {
			ask(curl, headers, j);
		} else {
			snprintf(j->err, sizeof(j->err), "libcurl: %s", curl_lazy_error());
			j->failed = true;
		}
		secmem_wipe(j->value, j->len);
		free(j->value);
		j->value = NULL;
		pthread_mutex_lock(&ah.lock);
		j->next = ah.done;
		ah.done = j;
		ah.queued--;
		if (write(ah.efd, &one, sizeof(one)) < 0) {
			/* cannot fail: the counter stays far below its limit (and nothing is
			 * logged from this thread: log lines pass the loop's redactor) */
		}
	}
	pthread_mutex_unlock(&ah.lock);
	curl_slist_free_all(headers);
	if (curl)
		curl_easy_cleanup(curl);
	return NULL;
}

/* ---- the event loop's side ---- */

static char *read_token(const char *path, char *err, size_t errlen)
{
	char *t = ah.token_header + strlen("X-Vault-Token: ");
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	strcpy(ah.token_header, "X-Vault-Token: ");
	if (fd < 0) {
		snprintf(err, errlen, "--vault-token-file %s: %s", path, strerror(errno));
		return NULL;
	}
	n = read(fd, t, TOKEN_MAX);
	close(fd);
	while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
		n--;
	if (n <= 0 || n >= TOKEN_MAX || memchr(t, '\n', n) || memchr(t, '\r', n)) {
		snprintf(err, errlen, "--vault-token-file %s: not one token", path);
		secmem_wipe(t, TOKEN_MAX);
		return NULL;
	}
	t[n] = '\0';
	return t;
}

int audit_hash_init(struct dict *d, const struct audit_hash_cfg *c, char *err, size_t errlen)
{
	const char *addr = c->vault_addr;
	size_t n;

	ah.dict = d;
	if (!c->device)
		return 0;
	if (!c->token_file || !addr) {
		snprintf(err, errlen, "--vault-audit-hash needs --vault-token-file and --vault-addr");
		return -1;
	}
	if (!*c->device || strspn(c->device, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "0123456789-_./") != strlen(c->device)) {
		snprintf(err, errlen, "--vault-audit-hash %s: not an audit device path", c->device);
		return -1;
	}
	if (!read_token(c->token_file, err, errlen))
		return -1;
	n = strlen(addr);
	while (n && addr[n - 1] == '/')
		n--;
	if (asprintf(&ah.url, "%s%.*s/v1/sys/audit-hash/%s", strstr(addr, "://") ? "" : "http://",
		     (int)n, addr, c->device) < 0 || u64map_init(&ah.pending, 64) ||
	    (c->ca_file && !(ah.ca_file = strdup(c->ca_file)))) {
		snprintf(err, errlen, "--vault-audit-hash: out of memory");
		return -1;
	}
	ah.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ah.efd < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "--vault-audit-hash: %s",
			 ah.efd < 0 ? strerror(errno) : curl_lazy_error());
		return -1;
	}
	ah.todo_tail = &ah.todo;
	ah.on = true;
	return 0;
}

int audit_hash_start(char *err, size_t errlen)
{
	int ret;

	if (!ah.on)
		return 0;
	ret = thread_start(&ah.thread, worker, NULL);
	if (ret) {
		snprintf(err, errlen, "--vault-audit-hash: cannot start its thread: %s", strerror(ret));
		return -1;
	}
	ah.started = true;
	return 0;
}

static void failed(uint32_t idx, const char *why)
{
	json_t *ev = ev_new("secret.learn_failed");
	char msg[256];

	snprintf(msg, sizeof(msg), "vault.audit_hash of secret %s not had: %s",
		 dict_fp(ah.dict, idx), why);
	ev_str(ev, "error.message", msg);
	ev_emit(ev);
	/* Vault away: one line on stderr, not one per secret (each has its event) */
	if (!ah.failures++)
		st_warn("%s (further failures: events only)", msg);
	else
		st_debug("%s", msg);
}

void audit_hash_request(uint32_t idx, const uint8_t *value, size_t len)
{
	struct job *j;

	if (!ah.on || u64map_get(&ah.pending, (uint64_t)idx + 1, NULL))
		return;
	j = calloc(1, sizeof(*j));
	if (!j || !(j->value = malloc(len)) || u64map_put(&ah.pending, (uint64_t)idx + 1, 1)) {
		if (j)
			free(j->value);
		free(j);
		failed(idx, "out of memory");
		return;
	}
	memcpy(j->value, value, len);
	j->len = len;
	j->idx = idx;
	pthread_mutex_lock(&ah.lock);
	if (ah.queued >= QUEUE_MAX) {
		pthread_mutex_unlock(&ah.lock);
		u64map_del(&ah.pending, (uint64_t)idx + 1);
		job_free(j);
		failed(idx, "too many values waiting for Vault");
		return;
	}
	*ah.todo_tail = j;
	ah.todo_tail = &j->next;
	ah.queued++;
	pthread_cond_signal(&ah.wake);
	pthread_mutex_unlock(&ah.lock);
}

void audit_hash_emit(json_t *ev, uint32_t idx)
{
	if (!ah.on || !u64map_get(&ah.pending, (uint64_t)idx + 1, NULL) ||
	    grow(&ah.held, &ah.heldcap, ah.nheld, sizeof(*ah.held), 8)) {
		ev_emit(ev);
		return;
	}
	ah.held[ah.nheld++] = (struct held){ .idx = idx, .ev = ev };
}

/* The receives of idx held for its hash go now (with it, when there is one). */
static void release(uint32_t idx, const char *hash)
{
	size_t i = 0;

	while (i < ah.nheld) {
		if (ah.held[i].idx != idx) {
			i++;
			continue;
		}
		ev_str(ah.held[i].ev, "vault.audit_hash", hash);
		ev_emit(ah.held[i].ev);
		ah.held[i] = ah.held[--ah.nheld];
	}
}

int audit_hash_fd(void)
{
	return ah.on ? ah.efd : -1;
}

void audit_hash_collect(void)
{
	struct job *done, *next;
	uint64_t n;

	if (!ah.on)
		return;
	if (read(ah.efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		st_debug("audit hash: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&ah.lock);
	done = ah.done;
	ah.done = NULL;
	pthread_mutex_unlock(&ah.lock);
	for (; done; done = next) {
		next = done->next;
		u64map_del(&ah.pending, (uint64_t)done->idx + 1);
		if (done->failed)
			failed(done->idx, done->err);
		else if (dict_set_audit_hash(ah.dict, done->idx, done->hash))
			failed(done->idx, "out of memory");
		release(done->idx, done->failed ? NULL : done->hash);
		job_free(done);
	}
}

void audit_hash_wait(int ms)
{
	struct timespec now, end;
	struct pollfd p = { .fd = ah.efd, .events = POLLIN };

	if (!ah.on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	while (ah.pending.live) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0 || poll(&p, 1, ms) <= 0)
			break;
		audit_hash_collect();
	}
}

void audit_hash_stop(void)
{
	struct job *j;

	if (!ah.on)
		return;
	audit_hash_wait(TIMEOUT_MS);
	pthread_mutex_lock(&ah.lock);
	ah.stop = true;
	pthread_cond_signal(&ah.wake);
	pthread_mutex_unlock(&ah.lock);
	if (ah.started)
		pthread_join(ah.thread, NULL);
	audit_hash_collect();
	while ((j = ah.todo)) {	/* never asked: said so */
		ah.todo = j->next;
		failed(j->idx, "the tracer stopped first");
		release(j->idx, NULL);
		job_free(j);
	}
	free(ah.held);
	u64map_free(&ah.pending);
	secmem_wipe(ah.token_header, sizeof(ah.token_header));
	free(ah.url);
	free(ah.ca_file);
	close(ah.efd);
	ah.on = false;
}

uint64_t audit_hash_failures(void)
{
	return ah.failures;
}
