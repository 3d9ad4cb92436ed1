// SPDX-License-Identifier: GPL-2.0
/*
 * Container and pod from cgroup paths: the kubelet's systemd and cgroupfs forms with every
 * QoS class, containerd, CRI-O, Docker and podman names, nested cgroups, conmon, the pod's
 * own cgroup, processes in no container, and hostile paths (long, truncated, upper case,
 * wrong lengths, random); /proc/PID/cgroup read through a fake proc root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enrich/container.h"

#define ID "4c01db0b339c6a1e4c1b4a3e5e0f1d2c3b4a59687766554433221100ffeeddcc"
#define ID2 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define UID "0f7c1a2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
#define UID_ "0f7c1a2e_3b4d_4e5f_8a9b_0c1d2e3f4a5b"
#define STATIC_UID "5e3a3f4f9bd2a3c7c2f5d8c9e0a1b2c3"

static void expect(const char *path, bool ret, const char *id, const char *runtime,
		   const char *pod_uid, const char *qos)
{
	struct container_ref r;

	memset(&r, 0x5a, sizeof(r));	/* every field must be written */
	if (container_from_cgroup(path, &r) != ret || strcmp(r.id, id) ||
	    strcmp(r.runtime, runtime) || strcmp(r.pod_uid, pod_uid) || strcmp(r.qos, qos) ||
	    strcmp(r.monitors, "")) {
		fprintf(stderr, "%.200s: got id \"%.65s\" runtime \"%.16s\" pod \"%.37s\" "
			"qos \"%.16s\" monitors \"%.65s\"\n",
			path, r.id, r.runtime, r.pod_uid, r.qos, r.monitors);
		fail();
	}
}

static void expect_none(const char *path)
{
	expect(path, false, "", "", "", "");
}

static void test_systemd_driver(void **state)
{
	(void)state;
	expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	       ".slice/cri-containerd-" ID ".scope",
	       true, ID, "containerd", UID, "burstable");
	expect("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	       ".slice/crio-" ID ".scope",
	       true, ID, "cri-o", UID, "besteffort");
	/* guaranteed pods sit directly under kubepods.slice */
	expect("/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" ID ".scope", true, ID,
	       "docker", UID, "guaranteed");
	expect("/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope", true,
	       ID, "containerd", UID, "guaranteed");
	/* a custom --cgroup-root (kind: /kubelet) prefixes every slice */
	expect("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
	       "kubelet-kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID ".scope",
	       true, ID, "containerd", UID, "besteffort");
	/* a static pod's UID is the md5 of its manifest */
	expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" STATIC_UID
	       ".slice/crio-" ID ".scope",
	       true, ID, "cri-o", STATIC_UID, "burstable");
}

static void test_cgroupfs_driver(void **state)
{
	(void)state;
	/* containerd and Docker under the cgroupfs driver: the runtime is not in the name */
	expect("/kubepods/burstable/pod" UID "/" ID, true, ID, "", UID, "burstable");
	expect("/kubepods/pod" UID "/" ID, true, ID, "", UID, "guaranteed");
	expect("/kubepods/besteffort/pod" UID "/" ID, true, ID, "", UID, "besteffort");
	expect("/kubepods/besteffort/pod" UID "/crio-" ID, true, ID, "cri-o", UID,
	       "besteffort");
	expect("/kubepods/burstable/pod" STATIC_UID "/" ID, true, ID, "", STATIC_UID,
	       "burstable");
	expect("/kubelet/kubepods/burstable/pod" UID "/" ID, true, ID, "", UID, "burstable");
	/* a UID written the systemd way is not a cgroupfs pod, nor the other way round */
	expect_none("/kubepods/burstable/pod" UID_ "/x");
	expect_none("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID
		    ".slice");
	/* burstable/ outside kubepods is someone else's */
	expect_none("/burstable/pod" UID "/x");
}

static void test_pod_cgroup_without_container(void **state)
{
	(void)state;
	expect("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	       ".slice",
	       false, "", "", UID, "besteffort");
	expect("/kubepods/pod" UID, false, "", "", UID, "guaranteed");
	/* a cgroup in the pod that is no container's */
	expect("/kubepods/burstable/pod" UID "/not-a-container", false, "", "", UID,
	       "burstable");
	expect_none("/kubepods.slice");
	expect_none("/kubepods.slice/kubepods-burstable.slice");
	expect_none("/kubepods/burstable");
}

static void test_nested(void **state)
{
	(void)state;
	expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	       ".slice/cri-containerd-" ID ".scope/sub",
	       true, ID, "containerd", UID, "burstable");
	expect("/kubepods/burstable/pod" UID "/" ID "/a/b/c", true, ID, "", UID, "burstable");
	/* podman (crun) puts the container's processes in a sub-cgroup */
	expect("/machine.slice/libpod-" ID ".scope/container", true, ID, "podman", "", "");
	/* kind seen from the host: the pod's container inside the node's container */
	expect("/system.slice/docker-" ID2 ".scope/kubelet.slice/kubelet-kubepods.slice/"
	       "kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod" UID_
	       ".slice/cri-containerd-" ID ".scope",
	       true, ID, "containerd", UID, "burstable");
	/* Docker in Docker: the innermost */
	expect("/docker/" ID2 "/docker/" ID, true, ID, "docker", "", "");
	/* seen from a container's own cgroup namespace */
	expect("/../../kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	       ".slice/crio-" ID ".scope",
	       true, ID, "cri-o", UID, "burstable");
}

static void test_conmon_is_not_the_container(void **state)
{
	struct container_ref r;

	(void)state;
	assert_false(container_from_cgroup("/kubepods.slice/kubepods-burstable.slice/"
					   "kubepods-burstable-pod" UID_
					   ".slice/crio-conmon-" ID ".scope",
					   &r));
	assert_string_equal(r.id, "");
	assert_string_equal(r.monitors, ID);
	assert_string_equal(r.runtime, "cri-o");
	assert_string_equal(r.pod_uid, UID);
	assert_string_equal(r.qos, "burstable");
	/* conmon_cgroup = "system.slice", and cgroupfs */
	assert_false(container_from_cgroup("/system.slice/crio-conmon-" ID ".scope", &r));
	assert_string_equal(r.monitors, ID);
	assert_string_equal(r.pod_uid, "");
	assert_false(container_from_cgroup("/kubepods/pod" UID "/crio-conmon-" ID, &r));
	assert_string_equal(r.monitors, ID);
	assert_string_equal(r.qos, "guaranteed");
	assert_false(container_from_cgroup("/machine.slice/libpod-conmon-" ID ".scope", &r));
	assert_string_equal(r.monitors, ID);
	assert_string_equal(r.runtime, "podman");
	/* the container beside its monitor is the container */
	expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	       ".slice/crio-" ID ".scope",
	       true, ID, "cri-o", UID, "burstable");
}

static void test_pause_container(void **state)
{
	(void)state;
	/* the sandbox is a container like the others here; pods.c tells it apart */
	expect("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	       ".slice/cri-containerd-" ID2 ".scope",
	       true, ID2, "containerd", UID, "besteffort");
}

static void test_docker_podman_nerdctl(void **state)
{
	(void)state;
	expect("/system.slice/docker-" ID ".scope", true, ID, "docker", "", "");
	expect("/docker/" ID, true, ID, "docker", "", "");
	expect("/machine.slice/libpod-" ID ".scope", true, ID, "podman", "", "");
	expect("/libpod_parent/libpod-" ID, true, ID, "podman", "", "");
	expect("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope",
	       true, ID, "podman", "", "");
	expect("/machine.slice/machine-libpod_pod_" ID2 ".slice/libpod-" ID ".scope", true, ID,
	       "podman", "", "");
	expect("/system.slice/nerdctl-" ID ".scope", true, ID, "containerd", "", "");
	/* the daemons themselves are no container */
	expect_none("/system.slice/containerd.service");
	expect_none("/system.slice/docker.service");
	expect_none("/system.slice/crio.service");
}

static void test_colon_form(void **state)
{
	(void)state;
	/* cgroup v1 hosts with the systemd driver: slice:prefix:name */
	expect("/kubepods-burstable-pod" UID_ ".slice:cri-containerd:" ID, true, ID,
	       "containerd", UID, "burstable");
	expect("/kubepods-pod" UID_ ".slice:crio:" ID, true, ID, "cri-o", UID, "guaranteed");
	expect("/kubepods-pod" UID_ ".slice:cri-containerd:" ID "0", false, "", "", UID,
	       "guaranteed");
	expect_none("/x.slice:averyveryveryveryveryverylongprefix:" ID);
	expect_none("/a:b");
	expect_none(":::");
}

static void test_not_in_a_container(void **state)
{
	(void)state;
	expect_none("/user.slice/user-1000.slice/session-2.scope");
	expect_none("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service");
	expect_none("/system.slice/ssh.service");
	expect_none("/init.scope");
	expect_none("/");
	expect_none("");
	expect_none("////");
	expect_none("/process_api/4a3dc665b5db2eb46dcc882d3388c4b1");
	/* a bare ID where no runtime puts one */
	expect_none("/foo/" ID);
	expect_none("/" ID);
	assert_false(container_from_cgroup(NULL, &(struct container_ref){ 0 }));
}

static void test_hostile(void **state)
{
	char *big;
	size_t i, n = 1 << 20;

	(void)state;
	/* upper case hex is folded (lookups use lower case) */
	expect("/system.slice/docker-4C01DB0B339C6A1E4C1B4A3E5E0F1D2C3B4A59687766554433221100"
	       "FFEEDDCC.scope",
	       true, ID, "docker", "", "");
	expect("/kubepods/pod0F7C1A2E-3B4D-4E5F-8A9B-0C1D2E3F4A5B/" ID, true, ID, "", UID,
	       "guaranteed");
	/* wrong lengths, non-hex, empty, truncated */
	expect_none("/system.slice/docker-" ID "0.scope");
	expect_none("/system.slice/docker-4c01db0b339c6a1e4c1b4a3e5e0f1d2c3b4a59687766554433221"
		    "100ffeeddc.scope");
	expect_none("/system.slice/docker-4c01db0b339c6a1e4c1b4a3e5e0f1d2c3b4a5968776655443322"
		    "1100ffeeddcg.scope");
	expect_none("/system.slice/docker-.scope");
	expect_none("/system.slice/docker-");
	expect_none("/system.slice/cri-containerd-");
	expect_none("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod");
	expect_none("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod.slice");
	expect_none("/kubepods.slice/kubepods-pod0f7c1a2e_3b4d_4e5f_8a9b_0c1d2e3f4a5.slice");
	expect_none("/kubepods.slice/kubepods-pod0f7c1a2e_3b4d_4e5f_8a9b_0c1d2e3f4a5bb.slice");
	expect_none("/kubepods.slice/kubepods-pod0f7c1a2e_3b4d_4e5f_8a9b_0c1d2e3f4a5g.slice");
	expect_none("/kubepods/pod/" ID);
	expect_none("/kubepods/burstable/pod" UID "x/" ID);
	expect_none("/\xff\xfe/kubepods\x01/\n");
	/* very long: a megabyte of components, then a container */
	big = malloc(n + 200);
	assert_non_null(big);
	for (i = 0; i < n; i += 2)
		memcpy(big + i, "/a", 2);
	strcpy(big + n, "/docker-" ID ".scope");
	expect(big, true, ID, "docker", "", "");
	/* one megabyte-long component */
	big[0] = '/';
	memset(big + 1, 'f', n);
	big[n + 1] = 0;
	expect_none(big);
	memcpy(big + 1, "docker-", 7);
	expect_none(big);
	free(big);
}

/* Random paths made of the parts the parser looks for: it must hold its invariants. */
static void test_random_paths(void **state)
{
	static const char *const parts[] = {
		"/", "kubepods", ".slice", "-pod", "pod", UID, UID_, STATIC_UID, "burstable",
		"-besteffort", ID, "cri-containerd-", "crio-", "crio-conmon-", "docker-",
		"libpod-", ".scope", ":", "..", "-", "_", "docker", "\xff", "0", "f",
	};
	char path[512];
	unsigned seed = 12345;
	int iter;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		struct container_ref r;
		size_t len = 0;
		int k, nparts = rand_r(&seed) % 24;
		bool ret;

		for (k = 0; k < nparts; k++) {
			const char *p = parts[rand_r(&seed) % (sizeof(parts) / sizeof(parts[0]))];
			size_t pl = strlen(p);

			if (len + pl >= sizeof(path))
				break;
			memcpy(path + len, p, pl);
			len += pl;
		}
		path[len] = 0;
		ret = container_from_cgroup(path, &r);
		assert_int_equal(ret, r.id[0] != 0);
		assert_true(!ret || container_id_valid(r.id));
		assert_true(!r.monitors[0] || container_id_valid(r.monitors));
		assert_false(r.id[0] && r.monitors[0]);
		assert_true(strlen(r.pod_uid) == 0 || strlen(r.pod_uid) == 32 ||
			    strlen(r.pod_uid) == 36);
		assert_true(!strcmp(r.qos, "") || !strcmp(r.qos, "guaranteed") ||
			    !strcmp(r.qos, "burstable") || !strcmp(r.qos, "besteffort"));
		assert_true(!r.pod_uid[0] == !r.qos[0]);
		assert_true(!strcmp(r.runtime, "") || !strcmp(r.runtime, "containerd") ||
			    !strcmp(r.runtime, "cri-o") || !strcmp(r.runtime, "docker") ||
			    !strcmp(r.runtime, "podman"));
	}
}

static void test_id_valid(void **state)
{
	(void)state;
	assert_true(container_id_valid(ID));
	assert_false(container_id_valid(""));
	assert_false(container_id_valid(ID "0"));
	assert_false(container_id_valid("4C01DB0B339C6A1E4C1B4A3E5E0F1D2C3B4A59687766554433221100"
					"FFEEDDCC"));
	assert_false(container_id_valid("../../etc/passwd"));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_of_pid(void **state)
{
	char root[] = "/tmp/st-container-XXXXXX", dir[128], file[160];
	struct container_ref r;

	(void)state;
	assert_non_null(mkdtemp(root));
	/* cgroup v2 only */
	snprintf(dir, sizeof(dir), "%s/101", root);
	mkdir(dir, 0755);
	snprintf(file, sizeof(file), "%s/cgroup", dir);
	write_file(file, "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
			 ".slice/cri-containerd-" ID ".scope\n");
	assert_true(container_of_pid(root, 101, &r));
	assert_string_equal(r.id, ID);
	assert_string_equal(r.pod_uid, UID);
	unlink(file);
	rmdir(dir);
	/* hybrid v1 host: "0::/" says nothing, a v1 hierarchy does; no final newline */
	snprintf(dir, sizeof(dir), "%s/102", root);
	mkdir(dir, 0755);
	snprintf(file, sizeof(file), "%s/cgroup", dir);
	write_file(file, "12:pids:/\n11:cpu,cpuacct:/kubepods/besteffort/pod" UID "/" ID "\n"
			 "1:name=systemd:/kubepods/besteffort/pod" UID "/" ID "\n0::/");
	assert_true(container_of_pid(root, 102, &r));
	assert_string_equal(r.id, ID);
	assert_string_equal(r.qos, "besteffort");
	unlink(file);
	rmdir(dir);
	/* nothing there, or no such process */
	snprintf(dir, sizeof(dir), "%s/103", root);
	mkdir(dir, 0755);
	snprintf(file, sizeof(file), "%s/cgroup", dir);
	write_file(file, "0::/user.slice/user-0.slice/session-1.scope\ngarbage\n::\n");
	assert_false(container_of_pid(root, 103, &r));
	assert_string_equal(r.pod_uid, "");
	unlink(file);
	rmdir(dir);
	assert_false(container_of_pid(root, 104, &r));
	assert_string_equal(r.id, "");
	rmdir(root);
	/* this process, through the real /proc: whatever it is, consistent */
	assert_int_equal(container_of_pid(NULL, getpid(), &r), r.id[0] != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_systemd_driver),
		cmocka_unit_test(test_cgroupfs_driver),
		cmocka_unit_test(test_pod_cgroup_without_container),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_conmon_is_not_the_container),
		cmocka_unit_test(test_pause_container),
		cmocka_unit_test(test_docker_podman_nerdctl),
		cmocka_unit_test(test_colon_form),
		cmocka_unit_test(test_not_in_a_container),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_random_paths),
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_of_pid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
