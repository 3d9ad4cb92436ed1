// SPDX-License-Identifier: GPL-2.0
/*
 * A cgroup's container from the kernel's record of its creation (workload_cgroup_made):
 * found with no walk of the cgroup tree (the cgroup is gone by then: these ids never
 * existed), and records that must not teach a path (cut, relative, empty) are left out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secretrace.h"
#include "enrich/workload.h"

#define ID "4c01db0b339c6a1e4c1b4a3e5e0f1d2c3b4a59687766554433221100ffeeddcc"
/* ids no cgroup has: far above any inode number a cgroup tree hands out */
#define GONE 0x7fff000000000001ULL

static char state_dir[] = "/tmp/test_workload.XXXXXX";

static int setup(void **state)
{
	const char *dirs[] = { state_dir, NULL };
	struct pods_cfg c = { .state_dirs = dirs };
	char err[256];

	(void)state;
	unsetenv("KUBERNETES_SERVICE_HOST");
	return mkdtemp(state_dir) && !workload_init(&c, err, sizeof(err)) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	workload_free();
	rmdir(state_dir);
	return 0;
}

static void made(uint64_t id, const char *path)
{
	workload_cgroup_made(id, path, strlen(path));
}

static void test_gone_cgroup_named(void **state)
{
	struct workload *w;

	(void)state;
	made(GONE, "/machine.slice/libpod-" ID ".scope/container");
	w = workload_of(GONE, 0);
	assert_non_null(w);
	assert_true(w->in_container);
	assert_string_equal(w->c.id, ID);
	assert_string_equal(w->c.runtime, "podman");
	/* a second record for the id changes nothing */
	made(GONE, "/user.slice");
	assert_ptr_equal(workload_of(GONE, 0), w);
}

static void test_unusable_records_left_out(void **state)
{
	char cut[ST_CGROUP_PATH_MAX];

	(void)state;
	memset(cut, 'a', sizeof(cut) - 1);
	cut[0] = '/';
	cut[sizeof(cut) - 1] = 0;
	workload_cgroup_made(GONE + 1, cut, sizeof(cut) - 1);	/* maybe cut by the kernel */
	made(GONE + 2, "machine.slice/libpod-" ID ".scope");	/* not below the root */
	workload_cgroup_made(GONE + 3, "", 0);
	assert_null(workload_of(GONE + 1, 0));
	assert_null(workload_of(GONE + 2, 0));
	assert_null(workload_of(GONE + 3, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gone_cgroup_named),
		cmocka_unit_test(test_unusable_records_left_out),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
