/*
 * helper.c - cephvol-mount as the host mount pipeline runs it
 * (host/helper.h), by the contract of host/helperproto.h.
 *
 * Start: a double fork, so the helper is nobody's child (no zombie, no
 * SIGCHLD for the caller) and outlives it; it runs in its own session with
 * SIGHUP ignored, stdin from /dev/null, stdout and stderr appended to its
 * log, the write end of a pipe as fd READY_FD and no other descriptor of
 * the caller's. The caller never sleeps for it: it reads the one readiness
 * line from the pipe with a time limit (EOF without a line: it died).
 *
 * Identity: a pid alone may have been reused, so a helper is taken for
 * alive only while /proc/PID says it is no zombie and its command line
 * names both HELPER_PROGRAM and the volume. Stop: the pipeline unmounts
 * the helper's FUSE mount (or mountpoint) and the helper then flushes,
 * releases the lease and exits by itself; we wait, and send SIGTERM, then
 * SIGKILL, only to one that does not.
 *
 * No state, no locks: callers serialise per volume.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "host/helper.h"
#include "host/helperproto.h"

#define MAX_ARGS	64
/* The descriptor the helper writes its readiness line to. */
#define READY_FD	3
#define READY_FD_ARG	"3"

/* Its command line, by host/helperproto.h, into argv (MAX_ARGS + 1). */
static void
build_argv(const struct helper_cmd *cmd, char **argv)
{
	size_t n = 0;

	argv[n++] = (char *)cmd->program;
	if (cmd->secrets)
		argv[n++] = HELPER_OPT_SECRETS;
	if (cmd->config_path) {
		argv[n++] = "-c";
		argv[n++] = (char *)cmd->config_path;
	}
	for (size_t i = 0; i < cmd->n_overrides && n < MAX_ARGS - 7; i++) {
		argv[n++] = "-o";
		argv[n++] = cmd->overrides[i];
	}
	argv[n++] = HELPER_OPT_READY_FD;
	argv[n++] = READY_FD_ARG;
	argv[n++] = HELPER_OPT_PID_FILE;
	argv[n++] = (char *)cmd->pidfile;
	argv[n++] = (char *)cmd->volume;
	argv[n++] = (char *)cmd->dir;
	argv[n] = NULL;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void
exec_detached(char **argv, const char *logpath, int ready, int pidpipe)
{
	pid_t b = fork();

	if (b != 0) {
		(void)!write(pidpipe, &b, sizeof(b));
		_exit(b < 0 ? 1 : 0);
	}
	setsid();
	signal(SIGHUP, SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int lfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
	int nfd = open("/dev/null", O_RDWR);
	if (nfd >= 0)
		dup2(nfd, 0);
	if (lfd >= 0) {
		dup2(lfd, 1);
		dup2(lfd, 2);
	}
	if (ready == READY_FD)
		fcntl(READY_FD, F_SETFD, 0);
	else if (dup2(ready, READY_FD) < 0)
		_exit(126);
	/* the descriptors above it (the caller's sockets) are not the helper's */
	if (close_range(READY_FD + 1, ~0u, 0) < 0)
		for (int fd = READY_FD + 1; fd < 65536; fd++)
			close(fd);
	/* a bare name is looked up in $PATH */
	if (strchr(argv[0], '/'))
		execv(argv[0], argv);
	else
		execvp(argv[0], argv);
	static const char e[] = HELPER_READY_ERROR "cannot run the cephvol-mount helper\n";
	(void)!write(READY_FD, e, sizeof(e) - 1);
	_exit(127);
}

/* The readiness line from fd (closed here), at most timeout_s. */
static int
ready_read(const struct helper_cmd *cmd, int fd, char *err, size_t errlen)
{
	char msg[1200];
	size_t got = 0;
	int r;

	/* One line, then EOF. */
	uint64_t dl = wait_deadline(cmd->timeout_s);
	for (;;) {
		int64_t left = wait_left_ms(dl);
		if (left <= 0) {
			close(fd);
			snprintf(err, errlen, "cephvol-mount for volume %s did not get ready "
			    "in %u s (log: %s)", cmd->volume, cmd->timeout_s, cmd->logfile);
			return -ETIMEDOUT;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		r = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (r < 0 && errno != EINTR) {
			r = -errno;
			close(fd);
			snprintf(err, errlen, "poll: %s", strerror(-r));
			return r;
		}
		if (r <= 0)
			continue;
		ssize_t k = read(fd, msg + got, sizeof(msg) - 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
		if (memchr(msg, '\n', got) || got == sizeof(msg) - 1)
			break;
	}
	close(fd);
	msg[got] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (strcmp(msg, HELPER_READY_OK) == 0)
		return 0;
	if (strncmp(msg, HELPER_READY_ERROR, strlen(HELPER_READY_ERROR)) == 0) {
		snprintf(err, errlen, "%s", msg + strlen(HELPER_READY_ERROR));
		if (strstr(msg, HELPER_ERROR_BUSY))
			return -EBUSY;
		if (strstr(msg, HELPER_ERROR_NOENT))
			return -ENOENT;
		return -EIO;
	}
	snprintf(err, errlen, "cephvol-mount for volume %s exited without saying "
	    "why (log: %s)", cmd->volume, cmd->logfile);
	return -EIO;
}

void
helper_find(char *buf, size_t len)
{
	const char *env = getenv("CEPHVOL_MOUNT_HELPER"), *path = getenv("PATH");
	char self[PATH_MAX], *slash, *copy;
	ssize_t n;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(buf, len, "%s/" HELPER_PROGRAM, self);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	if ((copy = strdup(path ? path : "")) != NULL) {
		for (char *save = NULL, *d = strtok_r(copy, ":", &save); d;
		    d = strtok_r(NULL, ":", &save)) {
			snprintf(buf, len, "%s/" HELPER_PROGRAM, d);
			if (access(buf, X_OK) == 0) {
				free(copy);
				return;
			}
		}
		free(copy);
	}
	snprintf(buf, len, "%s", HELPER_PROGRAM);
}

int
helper_start(const struct helper_cmd *cmd, pid_t *pid, char *err, size_t errlen)
{
	char *argv[MAX_ARGS + 1];
	int rp[2], pp[2], r;
	pid_t a;

	*pid = 0;
	build_argv(cmd, argv);
	if (pipe2(rp, O_CLOEXEC) < 0 || pipe2(pp, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
		return -errno;
	}
	a = fork();
	if (a < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot fork: %s", strerror(errno));
		close(rp[0]); close(rp[1]); close(pp[0]); close(pp[1]);
		return r;
	}
	if (a == 0)
		exec_detached(argv, cmd->logfile, rp[1], pp[1]);
	close(rp[1]);
	close(pp[1]);
	if (read(pp[0], pid, sizeof(*pid)) != (ssize_t)sizeof(*pid))
		*pid = 0;
	close(pp[0]);
	while (waitpid(a, NULL, 0) < 0 && errno == EINTR)
		;
	return ready_read(cmd, rp[0], err, errlen);
}

/* /proc/PID/cmdline into buf (NUL-separated arguments, NUL-terminated);
 * its length, 0 if it cannot be read. */
static size_t
cmdline_read(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (pid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (size_t)n;
}

bool
helper_alive(pid_t pid, const char *volume)
{
	char path[64], buf[4096], st[512];
	bool name = false, vol = false;
	ssize_t n;
	size_t len;
	int fd;

	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, st, sizeof(st) - 1);
		close(fd);
		if (n > 0) {
			st[n] = '\0';
			char *p = strrchr(st, ')');
			if (p && p[1] == ' ' && p[2] == 'Z')
				return false;
		}
	}
	if ((len = cmdline_read(pid, buf, sizeof(buf))) == 0)
		return false;
	for (char *a = buf; a < buf + len; a += strlen(a) + 1) {
		const char *base = strrchr(a, '/');
		if (strcmp(base ? base + 1 : a, HELPER_PROGRAM) == 0)
			name = true;
		else if (strcmp(a, volume) == 0)
			vol = true;
	}
	return name && vol;
}

bool
helper_wait_gone(pid_t pid, const char *volume, unsigned grace)
{
	uint64_t t0 = now_ns();
	bool termed = false, killed = false;

	while (helper_alive(pid, volume)) {
		uint64_t el = (now_ns() - t0) / 1000000;
		if (!termed && el > grace * 1000ull) {
			log_warn("cephvol-mount %d of volume=%s did not exit: SIGTERM",
			    (int)pid, volume);
			kill(pid, SIGTERM);
			termed = true;
		} else if (!killed && el > (grace + 5) * 1000ull) {
			log_err("cephvol-mount %d of volume=%s ignores SIGTERM: SIGKILL",
			    (int)pid, volume);
			kill(pid, SIGKILL);
			killed = true;
		} else if (el > (grace + 10) * 1000ull)
			return false;
		wait_ms(20);
	}
	return true;
}

pid_t
helper_pidfile_read(const char *path, char *cookie, size_t len)
{
	static const char key[] = "\n" HELPER_PIDFILE_COOKIE;
	char *s = NULL, *c;
	size_t n;
	long v;

	if (cookie && len)
		cookie[0] = '\0';
	if (file_read_all(path, &s, &n) < 0)
		return 0;
	v = strtol(s, NULL, 10);
	if (cookie && (c = strstr(s, key)) != NULL) {
		c += strlen(key);
		snprintf(cookie, len, "%.*s", (int)strcspn(c, "\n"), c);
	}
	free(s);
	return v > 0 && v < INT_MAX ? (pid_t)v : 0;
}

bool
helper_serves(pid_t pid, const char *mountpoint, const char *real, char *volume,
    size_t len)
{
	char args[8192];
	const char *last = NULL, *prev = NULL;
	size_t k;

	if ((k = cmdline_read(pid, args, sizeof(args))) == 0)
		return false;
	for (char *a = args; a < args + k; a += strlen(a) + 1) {
		prev = last;
		last = a;
	}
	if (last && prev && (strcmp(last, real) == 0 || strcmp(last, mountpoint) == 0) &&
	    name_valid(prev)) {
		snprintf(volume, len, "%s", prev);
		return true;
	}
	return false;
}
