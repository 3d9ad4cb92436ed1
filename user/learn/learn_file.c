// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dict/dict.h"
#include "enrich/pods.h"
#include "learn/audit_hash.h"
#include "learn/file_formats.h"
#include "learn/learn_file.h"
#include "learn/reach_files.h"
#include "learn/rotation.h"
#include "lib/grow.h"
#include "lib/log.h"
#include "lib/renamed.h"
#include "lib/secmem.h"
#include "output/emit.h"

/* Rewritten in place (close after writing), renamed over (Vault Agent, consul-template),
 * created (a new file, a symlink), or the ..data link swapped (Kubernetes' atomic writer,
 * which the Secrets Store CSI driver uses too). */
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR)

struct root {
	char *path;		/* as given */
	bool dir;		/* a directory: every file in it; else this one file */
	char *base;		/* a file's name in its directory */
	int wd;			/* the directory watched; -1 once gone (unmounted, deleted) */
	char *pod_uid;		/* a pod's secrets mount found on the node (learn_node.c) */
	size_t skip;		/* leading bytes of path not named in events ("/proc/1/root") */
};

/* A file closed after writing in a watched directory is read a tick later: a renderer's
 * temporary file (consul-template's names are bare digits) is renamed over its target at
 * once, and the rename, read at once, names the target. */
#define DEFER_NS 100000000ULL
#define DEFER_MAX 256

struct deferred {
	int root;
	uint64_t due_ns;
	char name[NAME_MAX + 1];
};

static struct deferred deferred[DEFER_MAX];
static int ndeferred;
static struct dict *dict;
static struct root *roots;
static size_t rootcap;
static int nroots;
static int ifd = -1;
static size_t max_bytes, max_items;
static bool started;		/* learn_files_scan ran: the outputs are open */
static uint64_t learned, failures;

static void failed(const char *path, const char *why)
{
	json_t *ev = ev_new("secret.learn_failed");

	ev_str(ev, "file.path", path);
	ev_str(ev, "error.message", why);
	ev_emit(ev);
	failures++;
	st_warn("could not learn the file %s: %s", path, why);
}

/* The pod whose secrets mount a file is in: its UID, and its name where the pods cache has
 * it. */
static void pod_fields(json_t *ev, const char *uid)
{
	struct container_ref c = { 0 };
	struct pod_meta *m;

	if (!uid)
		return;
	snprintf(c.pod_uid, sizeof(c.pod_uid), "%s", uid);
	ev_str(ev, "orchestrator.type", "kubernetes");
	ev_str(ev, "orchestrator.resource.type", "pod");
	ev_str(ev, "orchestrator.resource.id", uid);
	m = pods_lookup(&c);
	if (m) {
		ev_str(ev, "orchestrator.namespace", m->pod_namespace);
		ev_str(ev, "orchestrator.resource.name", m->pod_name);
		pod_meta_free(m);
	}
}

static void receive_event(uint32_t idx, const char *path, const char *pod_uid)
{
	json_t *ev = ev_new("secret.receive");

	ev_delivery(ev, dict_newest_delivery(dict, idx));
	ev_str(ev, "file.path", path);
	pod_fields(ev, pod_uid);
	ev_str(ev, "secret.fingerprint", dict_fp(dict, idx));
	audit_hash_emit(ev, idx);
}

/* The file's bytes, in wiped memory; 0, or -errno with why set. */
static int read_file(const char *path, struct secbuf *out, uint64_t *ino, char *why,
		     size_t whylen)
{
	uint8_t chunk[4096];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), err;

	if (fd < 0 || fstat(fd, &st)) {
		err = errno;
		snprintf(why, whylen, "cannot open it: %s", strerror(err));
		if (fd >= 0)
			close(fd);
		return -err;
	}
	*ino = st.st_ino;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, whylen, "not a regular file");
		return -EINVAL;
	}
	reach_files_mark(fd);	/* node modes, reach scope: its readers join the reach set */
	if ((size_t)st.st_size > max_bytes) {
		close(fd);
		snprintf(why, whylen, "file of %lld bytes exceeds the %zu-byte limit (--max-response)",
			 (long long)st.st_size, max_bytes);
		return -EFBIG;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && out->len + n <= max_bytes)
		if (secbuf_append(out, chunk, n)) {
			n = -1;
			errno = ENOMEM;
			break;
		}
	secmem_wipe(chunk, sizeof(chunk));
	close(fd);
	if (n < 0) {
		snprintf(why, whylen, "cannot read it: %s", strerror(errno));
		return -EIO;
	}
	if (n > 0) {
		snprintf(why, whylen, "file grew past the %zu-byte limit (--max-response)", max_bytes);
		return -EFBIG;
	}
	return 0;
}

/* Learn one file: each value not known yet is a secret from now on. quiet: a file that is
 * gone (renamed away, a directory's temporary) is no failure. */
static void learn_one(const struct root *r, const char *path, const char *name, bool quiet)
{
	struct secbuf buf = { 0 };
	struct file_values fv;
	uint32_t *held;
	size_t nheld = 0;
	char why[160], where[PATH_MAX];
	bool any = false;
	uint64_t ino = 0;
	size_t i;
	int ret = read_file(path, &buf, &ino, why, sizeof(why));

	if (ret) {
		secbuf_free(&buf);
		if (!quiet || ret != -ENOENT)
			failed(path + r->skip, why);
		return;
	}
	if (file_parse(name, buf.data, buf.len, max_items, &fv)) {
		secbuf_free(&buf);
		failed(path + r->skip, "out of memory");
		return;
	}
	secbuf_free(&buf);
	/* a temporary file (consul-template's are digits) renamed over its target since: the
	 * target is the file to name */
	if (renamed_path(path, ino, where, sizeof(where)))
		snprintf(where, sizeof(where), "%s", path);
	memmove(where, where + r->skip, strlen(where + r->skip) + 1);
	held = calloc(fv.items.n + 1, sizeof(*held));
	for (i = 0; i < fv.items.n; i++) {
		const struct vault_item *it = &fv.items.v[i];
		struct secret_origin o = { .field = it->field, .file = where, .ts_ns = now_boot_ns(),
					   .source = SECRET_FROM_FILE };
		uint32_t idx;

		/* known already (from Vault, an earlier read): its delivery stays the one named */
		if (dict_find(dict, it->value, it->len, &idx)) {
			if (held)
				held[nheld++] = idx;
			continue;
		}
		ret = dict_add(dict, it->value, it->len, &o, &idx);
		if (ret < 0) {
			snprintf(why, sizeof(why), "value %s not indexed: %s", it->field, strerror(-ret));
			failed(where, why);
			continue;
		}
		if (held)
			held[nheld++] = idx;
		learned++;
		any = true;
		audit_hash_request(idx, it->value, it->len);
		receive_event(idx, where, r->pod_uid);
	}
	if (fv.skipped_limit) {
		snprintf(why, sizeof(why), "%zu more values than the %zu learned per file",
			 fv.skipped_limit, max_items);
		failed(where, why);
	}
	if (fv.skipped_short)
		st_debug("%s: %zu values under 8 bytes not tracked", path, fv.skipped_short);
	if (any)
		dict_commit(dict);
	if (held)
		rotation_file_read(where, held, nheld, fv.lease_s, r->pod_uid);
	else
		st_warn("%s: its rotation is not followed: out of memory", where);
	free(held);
	st_debug("%s: learned as %s, %zu values", path, file_format_name(fv.format), fv.items.n);
	file_values_free(&fv);
}

/* Every file of a directory (symlinks followed, as Kubernetes volumes are made of them);
 * names starting with '.' are the atomic writer's own (..data, ..2026_...). */
static void learn_dir(const struct root *r)
{
	const char *dir = r->path;
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(dir);

	if (!d) {
		snprintf(path, sizeof(path), "cannot list it: %s", strerror(errno));
		failed(dir + r->skip, path);
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!stat(path, &st) && S_ISREG(st.st_mode))
			learn_one(r, path, e->d_name, true);
	}
	closedir(d);
}

static void learn_root(const struct root *r)
{
	if (r->wd < 0)
		return;
	if (r->dir)
		learn_dir(r);
	else
		learn_one(r, r->path, r->base, true);
}

/* A root whose watch is gone (its mount unmounted, its directory deleted): its slot free. */
static void forget_root(struct root *r)
{
	free(r->path);
	free(r->base);
	free(r->pod_uid);
	memset(r, 0, sizeof(*r));
	r->wd = -1;
}

int learn_files_init(struct dict *d, const char *const *paths, int n, size_t maxb,
		     size_t maxi, uint32_t rotated_keep_s, char *err, size_t errlen)
{
	int i;

	dict = d;
	rotation_init(d, rotated_keep_s);
	max_bytes = maxb;
	max_items = maxi;
	if (!n)
		return 0;
	if (learn_files_enable() || grow(&roots, &rootcap, n - 1, sizeof(*roots), n)) {
		snprintf(err, errlen, "--learn-file: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct root *r = &roots[nroots];
		char *copy = strdup(paths[i]), *base = copy ? strdup(basename(copy)) : NULL;
		const char *watch;
		struct stat st;

		memset(r, 0, sizeof(*r));
		r->path = strdup(paths[i]);
		r->base = base;
		free(copy);
		if (!r->path || !r->base) {
			free(r->path);
			free(r->base);
			snprintf(err, errlen, "--learn-file: out of memory");
			return -1;
		}
		nroots++;
		r->dir = !stat(paths[i], &st) && S_ISDIR(st.st_mode);
		/* a file is watched through its directory: renaming over it replaces its inode */
		copy = strdup(paths[i]);
		watch = r->dir ? paths[i] : copy ? dirname(copy) : NULL;
		r->wd = watch ? inotify_add_watch(ifd, watch, WATCH_MASK) : -1;
		if (r->wd < 0) {
			snprintf(err, errlen, "--learn-file %s: cannot watch %s: %s", paths[i],
				 watch ? watch : "it", strerror(errno == ENOTDIR ? ENOENT : errno));
			free(copy);
			return -1;
		}
		free(copy);
	}
	return 0;
}

int learn_files_enable(void)
{
	if (ifd < 0)
		ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	return ifd < 0 ? -1 : 0;
}

int learn_files_add(const char *prefix, const char *dir, const char *pod_uid)
{
	char path[PATH_MAX], why[160];
	struct root *r = NULL;
	int i, wd;

	if ((size_t)snprintf(path, sizeof(path), "%s%s", prefix, dir) >= sizeof(path)) {
		failed(dir, "path too long");
		return -1;
	}
	/* made after confinement: inotify_add_watch is among the calls kept (privileges.c) */
	wd = inotify_add_watch(ifd, path, WATCH_MASK);
	if (wd < 0) {
		snprintf(why, sizeof(why), "cannot watch it: %s", strerror(errno));
		failed(dir, why);
		return -1;
	}
	for (i = 0; i < nroots && !r; i++)	/* a gone mount's slot */
		if (roots[i].wd < 0 && !roots[i].path)
			r = &roots[i];
	if (!r && !grow(&roots, &rootcap, nroots, sizeof(*roots), 8))
		r = &roots[nroots++];
	if (r) {
		memset(r, 0, sizeof(*r));
		r->path = strdup(path);
		r->base = strdup(".");
		r->pod_uid = pod_uid ? strdup(pod_uid) : NULL;
	}
	if (!r || !r->path || !r->base || (pod_uid && !r->pod_uid)) {
		inotify_rm_watch(ifd, wd);
		if (r)
			forget_root(r);
		failed(dir, "out of memory");
		return -1;
	}
	r->dir = true;
	r->wd = wd;
	r->skip = strlen(prefix);
	if (started)
		learn_root(r);
	return 0;
}

void learn_files_scan(void)
{
	int i;

	started = true;
	for (i = 0; i < nroots; i++)
		learn_root(&roots[i]);
}

int learn_files_fd(void)
{
	return ifd;
}

static void on_change(const struct inotify_event *e)
{
	char path[PATH_MAX];
	int i;

	if (e->mask & IN_Q_OVERFLOW) {	/* events were dropped: look at everything again */
		st_warn("--learn-file: inotify queue overflowed; every path learned again");
		learn_files_scan();
		return;
	}
	for (i = 0; i < nroots; i++) {
		struct root *r = &roots[i];

		if (r->wd != e->wd)
			continue;
		if (e->mask & IN_IGNORED) {	/* unmounted or deleted: the kernel dropped it */
			if (r->pod_uid)
				st_info("node secrets mount of pod %s gone", r->pod_uid);
			if (r->dir)	/* its values go as rotated out ones do */
				rotation_dir_gone(r->path + r->skip);
			forget_root(r);
			continue;
		}
		if (!e->len)
			continue;
		if (e->name[0] == '.') {	/* the atomic writer's ..data swap: all of it */
			learn_root(r);
		} else if (r->dir && !(e->mask & IN_MOVED_TO) && ndeferred < DEFER_MAX) {
			deferred[ndeferred].root = i;
			deferred[ndeferred].due_ns = now_boot_ns() + DEFER_NS;
			snprintf(deferred[ndeferred].name, sizeof(deferred[0].name), "%s", e->name);
			ndeferred++;
		} else if (r->dir) {
			snprintf(path, sizeof(path), "%s/%s", r->path, e->name);
			learn_one(r, path, e->name, true);
		} else if (!strcmp(e->name, r->base)) {
			learn_one(r, r->path, r->base, true);
		}
	}
}

void learn_files_changed(void)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(ifd, buf, sizeof(buf))) > 0) {
		const char *p = buf;

		while (p < buf + n) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			on_change(e);
			p += sizeof(*e) + e->len;
		}
	}
}

void learn_files_tick(uint64_t now)
{
	char path[PATH_MAX];
	int i = 0;

	if (now != UINT64_MAX)	/* the last flush at exit: nothing is due for all that */
		rotation_tick(now);
	while (i < ndeferred) {
		struct deferred *d = &deferred[i];

		if (d->due_ns > now) {
			i++;
			continue;
		}
		if (roots[d->root].wd >= 0) {
			snprintf(path, sizeof(path), "%s/%s", roots[d->root].path, d->name);
			learn_one(&roots[d->root], path, d->name, true);
		}
		deferred[i] = deferred[--ndeferred];
	}
}

void learn_files_free(void)
{
	int i;

	for (i = 0; i < nroots; i++)
		forget_root(&roots[i]);
	free(roots);
	roots = NULL;
	rootcap = 0;
	nroots = ndeferred = 0;
	rotation_free();
	if (ifd >= 0)
		close(ifd);
	ifd = -1;
}

uint64_t learn_files_secrets(void)
{
	return learned;
}

uint64_t learn_files_failures(void)
{
	return failures;
}
