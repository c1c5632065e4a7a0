/*
 * run.c - run a program and capture what it says (common/run.h).
 *
 * posix_spawnp with stdin from /dev/null and stdout + stderr into one
 * pipe, read until it closes or the deadline passes (the program is then
 * killed). No state.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/run.h"
#include "common/util.h"

extern char **environ;

int
run_capture(char *const argv[], char *out, size_t outlen, unsigned timeout_s)
{
	posix_spawn_file_actions_t fa;
	int p[2], status, r;
	bool late = false;
	size_t got = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		return -r;
	}
	uint64_t dl = wait_deadline(timeout_s);
	for (;;) {
		int64_t left = wait_left_ms(dl);
		if (left <= 0) {
			kill(pid, SIGKILL);
			late = true;
			break;
		}
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		char tmp[1024];
		ssize_t k = read(p[0], tmp, sizeof(tmp));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		size_t c = (size_t)k < outlen - 1 - got ? (size_t)k : outlen - 1 - got;
		memcpy(out + got, tmp, c);
		got += c;
	}
	close(p[0]);
	out[got] = '\0';
	while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == ' '))
		out[--got] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (late)
		return -ETIMEDOUT;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
