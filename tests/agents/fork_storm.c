// SPDX-License-Identifier: GPL-2.0
/*
 * e2e agent: a fork storm. CHILDREN short-lived children, at most PARALLEL alive at once;
 * each does what MODE says and exits at once:
 *   exit     nothing (fork and exit records only)
 *   exec     execs /bin/true with a 12 KiB environment (big exec records)
 *   request  writes a Vault-looking request ("GET /v1/...") to a socket it
 *            inherited and exits without closing it (the kernel closes it, no close(2))
 *   use      writes a line holding the secret the parent read from Vault (KV v2
 *            secret/data/agent/openai, api_key, over plain HTTP) to /dev/null: a use each
 * usage: fork_storm MODE CHILDREN PARALLEL [STARTED [VAULT_PORT CREDS_FILE]]
 *        (use needs all six; CREDS_FILE is the stand-in's creds file)
 * STARTED is created once a quarter of the children have run (another process's cue).
 * Prints the number of children on its last line.
 */
#include "agent.h"

#include <sys/wait.h>

static const char request[] = "GET /v1/secret/data/storm HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

static char line[600];	/* use: "key=SECRET\n" */

/* use: the secret every child writes, read once by the parent */
static void fetch_secret(int port, const char *creds)
{
	char token[256], key[512];

	read_token(creds, token, sizeof(token));
	fetch_api_key(port, token, key, sizeof(key));
	snprintf(line, sizeof(line), "key=%s\n", key);
}

static void child(const char *mode, int sock, char **env)
{
	if (!strcmp(mode, "exec")) {
		char *argv[] = { "true", NULL };

		execve("/bin/true", argv, env);
		_exit(127);
	}
	if (!strcmp(mode, "request") && write(sock, request, sizeof(request) - 1) < 0 &&
	    errno != EAGAIN)
		_exit(1);
	if (!strcmp(mode, "use")) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd < 0 || write(fd, line, strlen(line)) < 0)
			_exit(1);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	static char pad[12 * 1024];
	char *env[] = { pad, NULL };
	int sv[2], n, par, started = 0, alive = 0, status;
	const char *mode;

	if (argc < 4)
		return 2;
	mode = argv[1];
	n = atoi(argv[2]);
	par = atoi(argv[3]);
	memset(pad, 'x', sizeof(pad) - 1);
	memcpy(pad, "PAD=", 4);
	if (!strcmp(mode, "use")) {
		if (argc < 7)
			return 2;
		fetch_secret(atoi(argv[5]), argv[6]);
	}
	/* the children's requests go to this process, which throws them away; never blocking */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || fcntl(sv[0], F_SETFL, O_NONBLOCK))
		die("socketpair");
	for (int i = 0; i < n; i++) {
		pid_t p;

		while (alive >= par) {
			if (wait(&status) < 0)
				die("wait");
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				return 1;
			alive--;
		}
		p = fork();
		if (p < 0)
			die("fork");
		if (p == 0)
			child(mode, sv[0], env);
		alive++;
		{
			char buf[4096];

			while (recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
		}
		if (argc > 4 && !started && i >= n / 4) {
			int fd = open(argv[4], O_WRONLY | O_CREAT, 0644);

			if (fd < 0)
				die("open");
			close(fd);
			started = 1;
		}
	}
	while (alive > 0) {
		if (wait(&status) < 0)
			die("wait");
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			return 1;
		alive--;
	}
	printf("%d\n", n);
	return 0;
}
