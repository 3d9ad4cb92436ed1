// SPDX-License-Identifier: GPL-2.0
/*
 * Pod metadata: the runtimes' state laid out as on a host (containerd's task root, CRI-O's
 * and podman's overlay-containers, Docker's task root and containers/, with config files
 * of the shape each writes, tests/data/kube/runtime-*.json) and hostile files in it; the
 * Kubernetes API path against tests/kube_standin.py (plain HTTP and HTTPS with a test CA
 * made here): list, watch, a pod deleted, 410 Gone and the relist, garbage lines, the
 * cache's bound, a wrong CA or token (counted, the token never on stderr).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "enrich/pods.h"
#include "lib/log.h"

#define DATA "tests/data/kube/"
#define TOKEN "eyJhbGciOiJSUzI1NiJ9.st-test-token.c2lnbmF0dXJl"
#define P1_UID "0f7c1a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
#define P1_API "4c01db0b339c6a1e4c1b4a3e5e0f1d2c3b4a59687766554433221100ffeeddcc"
#define P1_API_OLD "1b7e3f0c9a2d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccdd0"
#define P1_AGENT "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define P1_INIT "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define P1_SANDBOX "3d1f0c9b8a7e6d5c4b3a29180f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
#define P2_UID "7a1c9e3b-2f4d-4b8a-9c6e-5d0f1e2a3b4c"
#define P2_WORKER "c0ffee254729296a45a3885639ac7ca1dcf4c9a8e2b6f3d1a0b9c8d7e6f5a4b3"
#define P2_SANDBOX "8e7d6c5b4a39281706f5e4d3c2b1a0998877665544332211000fedcba9876543"
#define P3_STATIC "5e3a3f4f9bd2a3c7c2f5d8c9e0a1b2c3"
#define P3_APISERVER "aa4f8a1c2b3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3"
#define P4_CTR "5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0d"
#define P5_UID "1e2d3c4b-5a69-4788-9aab-bccddeeff001"
#define P5_CTR "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define P6_UID "6f5e4d3c-2b1a-4098-8776-655443322110"
#define P6_CTR "f00dbabe0123456789abcdef0123456789abcdef0123456789abcdef01234567"
#define P7_CTR "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
#define DOCKER_ID "2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e6f8a0b2c"
#define SHIM_ID "6e5d4c3b2a1908f7e6d5c4b3a291807f6e5d4c3b2a1908f7e6d5c4b3a2918070"
#define PODMAN_ID "117a31876d680eb5d0af22e6adfa07f28d63a1096e727019165d66ca588ec3ca"
#define UNLISTED "77777777777777777777777777777777777777777777777777777777777777aa"
#define GARBAGE_LINES 12	/* garbage.txt's 10, a binary line, a 5 MiB line */

/* Polls cond every 10 ms for up to 30 s (valgrind is slow); never a blind sleep. */
#define WAIT_UNTIL(cond)                                                                         \
	do {                                                                                     \
		int w_;                                                                          \
		for (w_ = 0; w_ < 3000 && !(cond); w_++)                                         \
			usleep(10000);                                                           \
		if (!(cond))                                                                     \
			fail_msg("timed out waiting for %s", #cond);                             \
	} while (0)

/* ---- files ---- */

static void mkdirs(const char *path)
{
	char p[PATH_MAX], *s;

	snprintf(p, sizeof(p), "%s", path);
	for (s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

static void write_file(const char *path, const char *text, size_t n)
{
	char dir[PATH_MAX];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", path);
	mkdirs(dirname(dir));
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, n, f), n);
	fclose(f);
}

static char *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);

	assert_non_null(f);
	assert_non_null(buf);
	*n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The runtimes' state directories under root, as pods_cfg.state_dirs. */
static const char *const *state_dirs(const char *root)
{
	static char buf[5][PATH_MAX];
	static const char *dirs[6];
	size_t i;

	for (i = 0; i < 5; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%s%s", root, pods_default_state_dirs[i]);
		dirs[i] = buf[i];
	}
	dirs[5] = NULL;
	return dirs;
}

/* ---- lookups ---- */

static struct pod_meta *lookup(const char *id, const char *uid)
{
	struct container_ref r;

	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id ? id : "");
	snprintf(r.pod_uid, sizeof(r.pod_uid), "%s", uid ? uid : "");
	return pods_lookup(&r);
}

static bool known(const char *id, const char *uid)
{
	struct pod_meta *m = lookup(id, uid);

	pod_meta_free(m);
	return m != NULL;
}

static void str_eq(const char *got, const char *want)
{
	if (!got || !want)
		assert_ptr_equal(got, want);
	else
		assert_string_equal(got, want);
}

/* Checks and frees m. */
static void expect(struct pod_meta *m, const char *pod, const char *ns, const char *uid,
		   const char *ctr, const char *image, const char *source)
{
	assert_non_null(m);
	str_eq(m->pod_name, pod);
	str_eq(m->pod_namespace, ns);
	str_eq(m->pod_uid, uid);
	str_eq(m->container_name, ctr);
	str_eq(m->image, image);
	str_eq(m->source, source);
	pod_meta_free(m);
}

static void expect_labels(const char *id, const char *want_json)
{
	struct pod_meta *m = lookup(id, NULL);
	json_t *want = want_json ? json_loads(want_json, 0, NULL) : NULL;

	assert_non_null(m);
	if (!want)
		assert_null(m->labels);
	else
		assert_true(json_equal(m->labels, want));
	json_decref(want);
	pod_meta_free(m);
}

static struct pods_counters cnt(void)
{
	struct pods_counters c;

	pods_counters(&c);
	return c;
}

/* ---- the runtimes' state ---- */

static char root[] = "/tmp/st-pods-XXXXXX";

/* <root><the d-th default state dir>/<pre><id>/<rel> */
static void put(int d, const char *pre, const char *id, const char *rel, const char *text,
		size_t n)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s/%s%s/%s", root, pods_default_state_dirs[d], pre, id,
		 rel);
	write_file(path, text, n);
}

/* a 64-hex ID beginning with p */
static const char *id64(const char *p)
{
	static char id[65];

	snprintf(id, sizeof(id), "%s%0*d", p, (int)(64 - strlen(p)), 0);
	return id;
}

static void lay_out_runtimes(void)
{
	static const struct {
		const char *file, *pre, *id, *rel;
		int dir;
	} f[] = {
		{ "containerd-container.json", "k8s.io/", P1_API, "config.json", 0 },
		{ "containerd-sandbox.json", "k8s.io/", P1_SANDBOX, "config.json", 0 },
		{ "crio-container.json", "", P2_WORKER, "userdata/config.json", 1 },
		{ "crio-sandbox.json", "", P2_SANDBOX, "userdata/config.json", 1 },
		{ "podman-config.json", "", PODMAN_ID, "userdata/config.json", 2 },
		{ "docker-config.v2.json", "", DOCKER_ID, "config.v2.json", 4 },
		{ "dockershim-config.v2.json", "", SHIM_ID, "config.v2.json", 4 },
	};
	/* Docker's OCI bundle names nothing: config.v2.json must still be found */
	static const char moby[] =
		"{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"args\":[\"nginx\"],\"cwd\":\"/\"},"
		"\"root\":{\"path\":\"/var/lib/docker/overlay2/5c1d/merged\"},\"hostname\":"
		"\"2b4c6d8e0f1a\",\"linux\":{\"cgroupsPath\":\"system.slice:docker:" DOCKER_ID
		"\"}}";
	char src[PATH_MAX], *text;
	size_t i, n;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		snprintf(src, sizeof(src), DATA "runtime-%s", f[i].file);
		text = read_file(src, &n);
		put(f[i].dir, f[i].pre, f[i].id, f[i].rel, text, n);
		free(text);
	}
	put(3, "moby/", DOCKER_ID, "config.json", moby, strlen(moby));
}

static int setup_runtimes(void **state)
{
	struct pods_cfg c = { 0 };
	char err[256];

	(void)state;
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("NODE_NAME");
	assert_non_null(mkdtemp(root));
	lay_out_runtimes();
	c.state_dirs = state_dirs(root);
	assert_int_equal(pods_init(&c, err, sizeof(err)), 0);
	return 0;
}

static int teardown_runtimes(void **state)
{
	(void)state;
	pods_free();
	rm_rf(root);
	strcpy(root, "/tmp/st-pods-XXXXXX");
	return 0;
}

static void test_runtime_containerd(void **state)
{
	char path[PATH_MAX];
	struct pod_meta *m;

	(void)state;
	expect(lookup(P1_API, P1_UID), "payments-api-7d9c6b5f4-x2xkq", "payments", P1_UID, "api",
	       "registry.example.com/payments/api:1.8.2", "runtime");
	expect_labels(P1_API, NULL);	/* containerd keeps no labels; no API here */
	m = lookup(P1_SANDBOX, NULL);
	assert_non_null(m);
	assert_true(m->sandbox);
	assert_null(m->container_name);
	str_eq(m->pod_name, "payments-api-7d9c6b5f4-x2xkq");
	pod_meta_free(m);
	/* a container's names never change: the answer is kept, not read again */
	snprintf(path, sizeof(path), "%s%s/k8s.io/" P1_API "/config.json", root,
		 pods_default_state_dirs[0]);
	assert_int_equal(unlink(path), 0);
	assert_true(known(P1_API, NULL));
	assert_int_equal(cnt().runtime_hits, 4);
	assert_int_equal(cnt().misses, 0);
}

static void test_runtime_crio(void **state)
{
	static const char labels[] = "{\"app.kubernetes.io/name\":\"ledger-worker\","
				     "\"app.kubernetes.io/part-of\":\"ledger\","
				     "\"apps.kubernetes.io/pod-index\":\"0\","
				     "\"controller-revision-hash\":\"ledger-worker-6c8d9f7b5\","
				     "\"statefulset.kubernetes.io/pod-name\":\"ledger-worker-0\"}";
	struct pod_meta *m;

	(void)state;
	expect(lookup(P2_WORKER, NULL), "ledger-worker-0", "ledger", P2_UID, "worker",
	       "quay.io/example/ledger-worker:2024.11", "runtime");
	/* the pod's labels, from its sandbox's config, the kubelet's own keys left out */
	expect_labels(P2_WORKER, labels);
	m = lookup(P2_SANDBOX, NULL);
	assert_non_null(m);
	assert_true(m->sandbox);
	assert_null(m->container_name);
	str_eq(m->pod_name, "ledger-worker-0");
	str_eq(m->pod_uid, P2_UID);
	str_eq(m->image, "registry.k8s.io/pause:3.9");
	pod_meta_free(m);
	expect_labels(P2_SANDBOX, labels);
}

static void test_runtime_docker_podman(void **state)
{
	(void)state;
	expect(lookup(DOCKER_ID, NULL), NULL, NULL, NULL, "web", "nginx:1.25", "runtime");
	expect(lookup(SHIM_ID, NULL), "payments-api-7d9c6b5f4-x2xkq", "payments", P1_UID, "api",
	       "registry.example.com/payments/api@sha256:8b3c1f0d7e6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"
	       "1d0e9f8a7b6c5d4e3f2a1b0c",
	       "runtime");
	/* podman 4.3 writes no name into the bundle (its database has it) */
	assert_false(known(PODMAN_ID, NULL));
	assert_false(known(UNLISTED, P1_UID));
	assert_int_equal(cnt().misses, 2);
	assert_int_equal(cnt().runtime_hits, 2);
}

static void test_runtime_hostile(void **state)
{
	static const char *const bad[] = {
		"not json",
		"[1,2]",
		"{\"annotations\":{\"io.kubernetes.cri.sandbox-name\":7}}",
		"{\"annotations\":[]}",
		"{\"annotations\":{\"io.kubernetes.pod.name\":\"\"}}",
		"{\"Config\":{\"Labels\":{\"io.kubernetes.pod.name\":[]}},\"Name\":5}",
	};
	static const char good[] = "{\"annotations\":{\"io.kubernetes.cri.sandbox-name\":\"x\"}}";
	char prefix[3], path[PATH_MAX], *big;
	struct container_ref r;
	size_t i, n = (5 << 20);

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(prefix, sizeof(prefix), "a%zu", i);
		put(0, "k8s.io/", id64(prefix), "config.json", bad[i], strlen(bad[i]));
		put(4, "", id64(prefix), "config.v2.json", bad[i], strlen(bad[i]));
		assert_false(known(id64(prefix), NULL));
	}
	/* a name longer than the API allows; a good file, but too big */
	big = malloc(n);
	assert_non_null(big);
	i = snprintf(big, n, "{\"annotations\":{\"io.kubernetes.cri.sandbox-name\":\"");
	memset(big + i, 'a', 300);
	strcpy(big + i + 300, "\"}}");
	put(1, "", id64("b1"), "userdata/config.json", big, strlen(big));
	assert_false(known(id64("b1"), NULL));
	memset(big, ' ', n);
	memcpy(big, good, strlen(good) - 1);
	big[n - 1] = '}';
	put(1, "", id64("b2"), "userdata/config.json", big, n);
	free(big);
	assert_false(known(id64("b2"), NULL));
	/* a symlink to a good file (a runtime never makes one), a directory */
	put(1, "", id64("b3"), "userdata/x", "", 0);
	snprintf(path, sizeof(path), "%s%s/%s/userdata/config.json", root,
		 pods_default_state_dirs[1], id64("b3"));
	assert_int_equal(symlink("../../" P2_WORKER "/userdata/config.json", path), 0);
	assert_false(known(id64("b3"), NULL));
	put(0, "k8s.io/", id64("b4"), "config.json/x", "", 0);
	assert_false(known(id64("b4"), NULL));
	/* IDs that are none: no file is looked for */
	assert_false(known("../../../../etc", NULL));
	assert_false(known("C0FFEE254729296A45A3885639AC7CA1DCF4C9A8E2B6F3D1A0B9C8D7E6F5A4B3",
			   NULL));
	/* a container_ref whose strings are not terminated */
	memset(&r, 'f', sizeof(r));
	assert_null(pods_lookup(&r));
	assert_null(pods_lookup(NULL));
}

/* ---- the stand-in ---- */

struct standin {
	pid_t pid;
	char dir[32], url[128], token[64], ca[64], other_ca[64];
};

static struct standin *running;	/* stopped by the teardown if a test failed */

static void make_certs(const char *dir)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
		 "for ca in ca other-ca; do openssl req -x509 -newkey ec -pkeyopt "
		 "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=st-test-$ca "
		 "-keyout $ca.key -out $ca.crt; done && "
		 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		 "-subj /CN=127.0.0.1 -keyout server.key -out server.csr && "
		 "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
		 "-days 1 -extfile san.ext -out server.crt",
		 dir);
	strcat(cmd, ") >/dev/null 2>&1");
	memmove(cmd + 1, cmd, strlen(cmd) + 1);
	cmd[0] = '(';
	assert_int_equal(system(cmd), 0);
}

static void standin_start(struct standin *s, bool tls)
{
	char ready[96], cert[96], key[96];
	size_t n;
	int i;

	memset(s, 0, sizeof(*s));
	strcpy(s->dir, "/tmp/st-kube-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->token, sizeof(s->token), "%s/token", s->dir);
	write_file(s->token, TOKEN "\n", strlen(TOKEN) + 1);
	snprintf(ready, sizeof(ready), "%s/ready", s->dir);
	snprintf(s->ca, sizeof(s->ca), "%s/ca.crt", s->dir);
	snprintf(s->other_ca, sizeof(s->other_ca), "%s/other-ca.crt", s->dir);
	snprintf(cert, sizeof(cert), "%s/server.crt", s->dir);
	snprintf(key, sizeof(key), "%s/server.key", s->dir);
	if (tls)
		make_certs(s->dir);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (!s->pid) {
		/* its output in its directory: the test's own stays the test's */
		snprintf(ready, sizeof(ready), "%s/standin.log", s->dir);
		i = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(i, 1);
		dup2(i, 2);
		snprintf(ready, sizeof(ready), "%s/ready", s->dir);
		execl("/usr/bin/python3", "python3", "tests/kube_standin.py", "--listen",
		      "127.0.0.1:0", "--ready-file", ready, "--token-file", s->token,
		      "--data-dir", DATA, tls ? "--tls-cert" : NULL, cert, "--tls-key", key,
		      (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 3000 && access(ready, F_OK); i++) {
		assert_int_equal(waitpid(s->pid, NULL, WNOHANG), 0);	/* still running */
		usleep(10000);
	}
	{
		char *u = read_file(ready, &n);

		u[strcspn(u, "\n")] = 0;
		snprintf(s->url, sizeof(s->url), "%s", u);
		free(u);
	}
	assert_true(!strncmp(s->url, tls ? "https://127.0.0.1:" : "http://127.0.0.1:",
			     tls ? 18 : 17));
	running = s;
}

static void standin_stop(struct standin *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		rm_rf(s->dir);
	}
	s->pid = 0;
	running = NULL;
}

/* POST (or GET) <url>/_standin/<what> with curl(1): the answer's JSON. */
static json_t *control(struct standin *s, const char *what, bool post)
{
	char cmd[512], out[96], *text;
	json_t *j;
	size_t n;

	snprintf(out, sizeof(out), "%s/answer", s->dir);
	snprintf(cmd, sizeof(cmd), "curl -sf %s --cacert %s -o %s '%s/_standin/%s'",
		 post ? "-X POST" : "", s->ca, out, s->url, what);
	assert_int_equal(system(cmd), 0);
	text = read_file(out, &n);
	j = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(j);
	return j;
}

static void post(struct standin *s, const char *what)
{
	json_decref(control(s, what, true));
}

/* Every /api/ request so far had the node's field selector; returns how many there were. */
static size_t requests_checked(struct standin *s, const char *node_selector, bool authorized)
{
	json_t *l = control(s, "requests", false), *r;
	size_t i, n = json_array_size(l);

	json_array_foreach(l, i, r) {
		const char *q = json_string_value(json_object_get(r, "query"));

		assert_non_null(strstr(q, node_selector));
		assert_int_equal(json_is_true(json_object_get(r, "authorized")), authorized);
	}
	json_decref(l);
	return n;
}

static char empty[] = "/tmp/st-pods-empty-XXXXXX";

static struct pods_cfg api_cfg(struct standin *s)
{
	static const char *dirs[2];
	struct pods_cfg c = { 0 };

	dirs[0] = empty;
	c.state_dirs = dirs;
	c.kube_api = s->url;
	c.token_file = s->token;
	c.ca_file = s->ca;
	c.node_name = "node-a";
	c.deleted_ttl = 3;
	return c;
}

static int setup_api(void **state)
{
	(void)state;
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("NODE_NAME");
	assert_non_null(mkdtemp(empty));
	return 0;
}

static int teardown_api(void **state)
{
	(void)state;
	pods_free();	/* after a failed test too */
	if (running)
		standin_stop(running);
	rmdir(empty);
	strcpy(empty, "/tmp/st-pods-empty-XXXXXX");
	return 0;
}

static void test_api_list_watch_delete_gone_garbage(void **state)
{
	struct pods_counters c0, c1;
	struct pods_cfg c;
	static struct standin s;	/* static: the teardown may stop it */
	uint64_t rh, ah, mi, ae;
	json_t *reqs;
	char err[256];
	time_t t0;

	(void)state;
	standin_start(&s, false);
	c = api_cfg(&s);
	assert_int_equal(pods_init(&c, err, sizeof(err)), 0);
	WAIT_UNTIL(cnt().lists == 1 && cnt().watch_events >= 3);
	/* the list: a pod's containers now and before a restart, its sidecar and init */
	expect(lookup(P1_API, NULL), "payments-api-7d9c6b5f4-x2xkq", "payments", P1_UID, "api",
	       "registry.example.com/payments/api:1.8.2", "kubernetes");
	expect_labels(P1_API, "{\"app\":\"payments-api\",\"pod-template-hash\":\"7d9c6b5f4\","
			      "\"team\":\"payments\"}");
	expect(lookup(P1_API_OLD, NULL), "payments-api-7d9c6b5f4-x2xkq", "payments", P1_UID,
	       "api", "registry.example.com/payments/api:1.8.2", "kubernetes");
	expect(lookup(P1_AGENT, NULL), "payments-api-7d9c6b5f4-x2xkq", "payments", P1_UID,
	       "vault-agent", "docker.io/hashicorp/vault:1.17.0", "kubernetes");
	expect(lookup(P1_INIT, NULL), "payments-api-7d9c6b5f4-x2xkq", "payments", P1_UID,
	       "vault-agent-init", "docker.io/hashicorp/vault:1.17.0", "kubernetes");
	expect(lookup(P2_WORKER, NULL), "ledger-worker-0", "ledger", P2_UID, "worker",
	       "quay.io/example/ledger-worker:2024.11", "kubernetes");
	/* a container the API does not list yet: its pod, by the cgroup's pod UID */
	expect(lookup(UNLISTED, P1_UID), "payments-api-7d9c6b5f4-x2xkq", "payments", P1_UID,
	       NULL, NULL, "kubernetes");
	/* a static pod: its cgroup names the manifest's hash, the mirror pod's annotation too */
	expect(lookup(NULL, P3_STATIC), "kube-apiserver-node-a", "kube-system",
	       "b8e4f2a6-1c3d-4e5f-a7b9-c0d1e2f3a4b5", NULL, NULL, "kubernetes");
	assert_true(known(P3_APISERVER, NULL));
	/* another node's pod is never asked for */
	assert_false(known(P5_CTR, P5_UID));
	/* the watch: a pod added, then running; a pending pod now running */
	expect(lookup(P6_CTR, NULL), "report-gen-28467340-x7tqa", "reports", P6_UID, "report",
	       "registry.example.com/reports/gen:3.1.0", "kubernetes");
	assert_true(known(P4_CTR, NULL));
	/* every request named the node and carried the token; the watch went on from the list */
	assert_int_equal(requests_checked(&s, "fieldSelector=spec.nodeName%3Dnode-a", true), 2);
	reqs = control(&s, "requests", false);
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(reqs, 1), "query")),
			       "watch=true&allowWatchBookmarks=true&timeoutSeconds=300"
			       "&resourceVersion=48213"));
	json_decref(reqs);

	/* DELETED: still answered for deleted_ttl (processes that exited), then forgotten */
	c0 = cnt();
	post(&s, "delete?uid=" P2_UID);
	WAIT_UNTIL(cnt().watch_events > c0.watch_events);
	t0 = time(NULL);
	assert_true(known(P2_WORKER, NULL));
	WAIT_UNTIL(!known(P2_WORKER, NULL));
	assert_true(time(NULL) - t0 >= 2);

	/* garbage: counted and skipped, exactly; the stream goes on */
	c0 = cnt();
	post(&s, "garbage");
	post(&s, "add");
	WAIT_UNTIL(known(P7_CTR, NULL));
	c1 = cnt();
	assert_int_equal(c1.garbage - c0.garbage, GARBAGE_LINES);
	assert_int_equal(c1.api_errors - c0.api_errors, GARBAGE_LINES);
	assert_int_equal(c1.watch_events - c0.watch_events, 2);	/* "odd-ids", the late pod */
	assert_int_equal(c1.lists, 1);

	/* 410 Gone: no error, listed again; a pod the new list leaves out was deleted */
	c0 = cnt();
	post(&s, "gone?drop=" P1_UID);
	WAIT_UNTIL(cnt().lists == 2);
	assert_int_equal(cnt().api_errors, c0.api_errors);
	assert_true(known(P1_API, NULL));
	WAIT_UNTIL(!known(P1_API, NULL));
	assert_true(known(P7_CTR, NULL));
	/* any other ERROR: counted, and listed again too */
	c0 = cnt();
	post(&s, "error");
	WAIT_UNTIL(cnt().lists == 3);
	assert_int_equal(cnt().api_errors, c0.api_errors + 1);
	/* and the watch goes on from the new list */
	c0 = cnt();
	post(&s, "delete?uid=" P6_UID);
	WAIT_UNTIL(cnt().watch_events > c0.watch_events);
	assert_int_equal(requests_checked(&s, "fieldSelector=spec.nodeName%3Dnode-a", true), 6);

	pods_stats(&rh, &ah, &mi, &ae);
	assert_int_equal(rh, 0);
	assert_true(ah >= 12);
	assert_true(mi >= 3);
	assert_int_equal(ae, GARBAGE_LINES + 1);
	pods_free();
	standin_stop(&s);
}

/* HTTPS in the cluster's way: the service's address from the environment, the node from
 * NODE_NAME; then a CA that did not sign the server, and a wrong token. */
static void test_api_https_ca_token(void **state)
{
	char log[] = "/tmp/st-pods-log-XXXXXX", wrong[96], err[256], port[16], *text;
	struct pods_cfg c;
	static struct standin s;	/* static: the teardown may stop it */
	int fd, saved;
	size_t n;

	(void)state;
	standin_start(&s, true);
	c = api_cfg(&s);
	c.kube_api = NULL;
	c.node_name = NULL;
	snprintf(port, sizeof(port), "%s", strrchr(s.url, ':') + 1);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
	setenv("NODE_NAME", "node-a", 1);
	assert_int_equal(pods_init(&c, err, sizeof(err)), 0);
	WAIT_UNTIL(cnt().lists == 1);
	expect(lookup(P2_WORKER, NULL), "ledger-worker-0", "ledger", P2_UID, "worker",
	       "quay.io/example/ledger-worker:2024.11", "kubernetes");
	assert_false(known(P5_CTR, NULL));
	pods_free();
	requests_checked(&s, "fieldSelector=spec.nodeName%3Dnode-a", true);

	/* what goes wrong is said on stderr, never with the token */
	fd = mkstemp(log);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	st_verbose = true;
	c.ca_file = s.other_ca;
	assert_int_equal(pods_init(&c, err, sizeof(err)), 0);
	WAIT_UNTIL(cnt().api_errors >= 3);
	assert_int_equal(cnt().lists, 0);
	assert_false(known(P2_WORKER, NULL));
	pods_free();
	c.ca_file = s.ca;
	snprintf(wrong, sizeof(wrong), "%s/wrong-token", s.dir);
	write_file(wrong, "not-the-token-" TOKEN, strlen(TOKEN) + 14);
	c.token_file = wrong;
	assert_int_equal(pods_init(&c, err, sizeof(err)), 0);
	WAIT_UNTIL(cnt().api_errors >= 3);
	assert_int_equal(cnt().lists, 0);
	pods_free();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	st_verbose = false;
	text = read_file(log, &n);
	assert_non_null(strstr(text, "kubernetes API"));
	assert_non_null(strstr(text, "HTTP status 401"));
	assert_null(strstr(text, TOKEN));
	assert_null(strstr(text, "st-test-token"));
	free(text);
	close(fd);
	unlink(log);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("NODE_NAME");
	standin_stop(&s);
}

static void test_api_cache_bound(void **state)
{
	struct pods_cfg c;
	static struct standin s;	/* static: the teardown may stop it */
	char err[256];

	(void)state;
	standin_start(&s, false);
	c = api_cfg(&s);
	c.max_pods = 2;
	assert_int_equal(pods_init(&c, err, sizeof(err)), 0);
	WAIT_UNTIL(cnt().lists == 1 && cnt().watch_events >= 3);
	assert_int_equal(cnt().pods, 2);
	/* four pods listed, one added by the watch: at least three pushed out */
	assert_true(cnt().evictions >= 3);
	/* the newest stay: the watched ones */
	assert_true(known(P6_CTR, NULL));
	assert_true(known(P4_CTR, NULL));
	assert_false(known(P1_API, NULL));
	pods_free();
	standin_stop(&s);
}

static void test_config(void **state)
{
	struct pods_cfg c = { 0 };
	const char *dirs[] = { empty, NULL };
	char err[256];

	(void)state;
	c.state_dirs = dirs;
	c.kube_api = "ftp://127.0.0.1:1";
	assert_int_equal(pods_init(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expected http(s)://HOST:PORT"));
	c.kube_api = "http://127.0.0.1:1/x y";
	assert_int_equal(pods_init(&c, err, sizeof(err)), -1);
	c.kube_api = "http://127.0.0.1:1";
	c.node_name = "node-a&watch=false";
	assert_int_equal(pods_init(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a Kubernetes node name"));
	/* no API and not in a cluster: the runtimes alone */
	c.kube_api = NULL;
	c.node_name = NULL;
	assert_int_equal(pods_init(&c, err, sizeof(err)), 0);
	assert_false(known(P1_API, P1_UID));
	assert_int_equal(cnt().misses, 1);
	assert_int_equal(cnt().api_errors, 0);
	pods_free();
	assert_null(lookup(P1_API, NULL));	/* after pods_free */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* each on a fresh tree and cache */
		cmocka_unit_test_setup_teardown(test_runtime_containerd, setup_runtimes,
						teardown_runtimes),
		cmocka_unit_test_setup_teardown(test_runtime_crio, setup_runtimes,
						teardown_runtimes),
		cmocka_unit_test_setup_teardown(test_runtime_docker_podman, setup_runtimes,
						teardown_runtimes),
		cmocka_unit_test_setup_teardown(test_runtime_hostile, setup_runtimes,
						teardown_runtimes),
		cmocka_unit_test_setup_teardown(test_api_list_watch_delete_gone_garbage, setup_api,
						teardown_api),
		cmocka_unit_test_setup_teardown(test_api_https_ca_token, setup_api, teardown_api),
		cmocka_unit_test_setup_teardown(test_api_cache_bound, setup_api, teardown_api),
		cmocka_unit_test_setup_teardown(test_config, setup_api, teardown_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
