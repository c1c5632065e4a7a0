/*
 * attach.c - the host mount pipeline (host/attach.h), shared by
 * cephvold and `cephvol volume mount`.
 *
 * Mount of a block volume, each step checked and undone on a later failure:
 *  1. start cephvol-mount VOLUME FUSEDIR (FUSEDIR = <state_dir>/vol/<id>)
 *     detached (double fork, its own session, stdio to <id>.log beside
 *     it) and read its readiness line from a pipe: "ok" or "error: ..."
 *     (no sleeps); bounded by timeout_s;
 *  2. a loop device on FUSEDIR/image with direct I/O and autoclear
 *     (LOOP_CTL_GET_FREE + LOOP_CONFIGURE, 4 KiB logical blocks);
 *  3. a filesystem on first use only: `blkid -p` finds none -> mkfs, with
 *     options for a thin image (ext4: nodiscard, lazy itable/journal init;
 *     xfs: -K);
 *  4. mount with online discard (ext4 also noinit_itable: never-written
 *     inode tables read as zeros from the thin image, so the background
 *     zeroing would only allocate space; and nobarrier, see mount_opts).
 * Our loop fd stays open until the mount holds the device, so autoclear
 * cannot detach it under us; after that the loop goes away with the mount.
 *
 * Unmount is the reverse and also cleans up after a dead cephvol-mount:
 * unmount the filesystem, detach any loop still on FUSEDIR/image, unmount
 * FUSEDIR (cephvol-mount then flushes, releases the lease and exits), wait
 * for the process (TERM, then KILL, when it does not go by itself).
 *
 * A secrets volume is `cephvol-mount --secrets ... VOLUME MOUNTPOINT`
 * straight on the mountpoint: no loop, no mkfs.
 *
 * State on the host, in <state_dir>/vol/, named by the volume's id (16
 * hex digits), never by its name: a valid name can be 255 bytes, the most
 * a file name may have, so "<name>.pid" could not exist; and a volume
 * removed and created again under the same name is another volume, whose
 * state must not be mistaken for the old one's. <id>.volume holds the name (for
 * attach_volume_at), <id>.pid the serving cephvol-mount's pid and lease
 * cookie (written by it while it serves), <id>.log its log; with
 * /proc/self/mountinfo that is all, so attach_status() works after a
 * cephvold restart. State an older version left in <state_dir>/fuse/,
 * named by volume name, is still found and cleaned up. No global state, no locks: callers
 * serialise per volume.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "store/catalog.h"
#include "host/attach.h"

extern char **environ;

#define IMAGE_FILE	"image"		/* fuse/imagefs.h IMAGEFS_FILE */
#define MAX_ARGS	64

static unsigned
timeout_of(const struct attach_ctx *ctx)
{
	if (ctx->timeout_s)
		return ctx->timeout_s;
	if (ctx->cfg && ctx->cfg->plugin_timeout)
		return (unsigned)ctx->cfg->plugin_timeout;
	return 60;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t
deadline_after(unsigned s)
{
	return now_ns() + (uint64_t)s * 1000000000ull;
}

/*
 * <state_dir>/vol/<id><suffix>; or, for a mount an older version made,
 * whose state is named by volume name under <state_dir>/fuse/ (its pid
 * file is there and ours is not), that. Two folders, so that no volume
 * name can ever be mistaken for another volume's id.
 */
static void
state_path(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *suffix, char *buf, size_t len)
{
	const char *dir = ctx->cfg->plugin_state_dir;
	char by_id[PATH_MAX], by_name[PATH_MAX];

	snprintf(by_id, sizeof(by_id), "%s/vol/%s.pid", dir, m->id);
	snprintf(by_name, sizeof(by_name), "%s/fuse/%s.pid", dir, m->name);
	if (m->id[0] == '\0' || (access(by_id, F_OK) < 0 && access(by_name, F_OK) == 0))
		snprintf(buf, len, "%s/fuse/%s%s", dir, m->name, suffix);
	else
		snprintf(buf, len, "%s/vol/%s%s", dir, m->id, suffix);
}

/* The state of a new mount: always by id. */
static void
state_path_new(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, "%s/vol/%s%s", ctx->cfg->plugin_state_dir, m->id, suffix);
}

/* Record which volume <id> is, for attach_volume_at(). */
static void
name_file_write(const struct attach_ctx *ctx, const struct volume_meta *m)
{
	char path[PATH_MAX], buf[NAME_MAX_LEN + 2];
	int n, r;

	state_path_new(ctx, m, ".volume", path, sizeof(path));
	n = snprintf(buf, sizeof(buf), "%s\n", m->name);
	if ((r = file_write_atomic(path, buf, (size_t)n, 0600)) < 0)
		log_warn("volume=%s: cannot write %s: %s", m->name, path, strerror(-r));
}

/* ---- /proc/self/mountinfo ---------------------------------------------- */

static void
unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && isdigit((unsigned char)s[1]) &&
		    isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3])) {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else
			*d++ = *s;
	}
	*d = '\0';
}

/* Is path a mount point? Fill its fstype and source (the last such mount). */
static bool
mount_find(const char *path, char *fstype, size_t flen, char *source, size_t slen)
{
	char real[PATH_MAX], line[8192];
	bool found = false;
	FILE *f;

	if (realpath(path, real) == NULL)
		snprintf(real, sizeof(real), "%s", path);
	f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok, *mp = NULL, *type = NULL, *src = NULL;
		int i = 0;
		bool dash = false;

		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save), i++) {
			if (i == 4)
				mp = tok;
			else if (!dash && i > 5 && strcmp(tok, "-") == 0)
				dash = true;
			else if (dash && type == NULL)
				type = tok;
			else if (dash && src == NULL)
				src = tok;
		}
		if (mp == NULL)
			continue;
		unescape(mp);
		if (strcmp(mp, real) != 0 && strcmp(mp, path) != 0)
			continue;
		found = true;
		if (fstype)
			snprintf(fstype, flen, "%s", type ? type : "");
		if (source) {
			if (src)
				unescape(src);
			snprintf(source, slen, "%s", src ? src : "");
		}
	}
	fclose(f);
	return found;
}

/* ---- the helper process ------------------------------------------------ */

/* Is pid a live cephvol-mount serving volume? (guards against pid reuse) */
static bool
helper_alive(pid_t pid, const char *volume)
{
	char path[64], buf[4096], st[512];
	bool name = false, vol = false;
	ssize_t n;
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
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *a = buf; a < buf + n; a += strlen(a) + 1) {
		const char *base = strrchr(a, '/');
		if (strcmp(base ? base + 1 : a, "cephvol-mount") == 0)
			name = true;
		else if (strcmp(a, volume) == 0)
			vol = true;
	}
	return name && vol;
}

/* The pid file: "PID\n", then "cookie=C\n" (the helper's lease or
 * registration cookie) once it holds one. */
static pid_t
pidfile_read_cookie(const char *path, char *cookie, size_t len)
{
	char *s = NULL, *c;
	size_t n;
	long v;

	if (cookie && len)
		cookie[0] = '\0';
	if (file_read_all(path, &s, &n) < 0)
		return 0;
	v = strtol(s, NULL, 10);
	if (cookie && (c = strstr(s, "\ncookie=")) != NULL) {
		c += 8;
		snprintf(cookie, len, "%.*s", (int)strcspn(c, "\n"), c);
	}
	free(s);
	return v > 0 && v < INT_MAX ? (pid_t)v : 0;
}

static pid_t
pidfile_read(const char *path)
{
	return pidfile_read_cookie(path, NULL, 0);
}

/* Wait until pid is gone; TERM after `grace` s, KILL after `grace`+5 s. */
static bool
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
		sleep_ms(20);
	}
	return true;
}

/*
 * Start cephvol-mount with args (after the helper path) in its own
 * session, and wait for its readiness line. *pid is the helper's pid when
 * known (also on failure, so the caller can clean up).
 */
static int
helper_start(const struct attach_ctx *ctx, const struct volume_meta *m,
    char *const *args, size_t nargs, pid_t *pid, char *err, size_t errlen)
{
	char logpath[PATH_MAX], *argv[MAX_ARGS + 8], msg[1200];
	int rp[2], pp[2], r;
	size_t n = 0, got = 0;
	pid_t a;

	*pid = 0;
	state_path_new(ctx, m, ".log", logpath, sizeof(logpath));
	argv[n++] = (char *)ctx->mount_helper;
	for (size_t i = 0; i < nargs && n < MAX_ARGS; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(rp, O_CLOEXEC) < 0 || pipe2(pp, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
		return -errno;
	}
	/* Double fork: the helper is nobody's child, so no zombie and no
	 * SIGCHLD for the caller, and it outlives it. Only async-signal-safe
	 * calls between fork and exec. */
	a = fork();
	if (a < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot fork: %s", strerror(errno));
		close(rp[0]); close(rp[1]); close(pp[0]); close(pp[1]);
		return r;
	}
	if (a == 0) {
		pid_t b = fork();
		if (b != 0) {
			(void)!write(pp[1], &b, sizeof(b));
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
		if (rp[1] == 3)
			fcntl(3, F_SETFD, 0);
		else if (dup2(rp[1], 3) < 0)
			_exit(126);
		/* fds 4 and up (the caller's sockets) are not the helper's */
		if (close_range(4, ~0u, 0) < 0)
			for (int fd = 4; fd < 65536; fd++)
				close(fd);
		/* a bare name is looked up in $PATH */
		if (strchr(argv[0], '/'))
			execv(argv[0], argv);
		else
			execvp(argv[0], argv);
		static const char e[] = "error: cannot run the cephvol-mount helper\n";
		(void)!write(3, e, sizeof(e) - 1);
		_exit(127);
	}
	close(rp[1]);
	close(pp[1]);
	if (read(pp[0], pid, sizeof(*pid)) != (ssize_t)sizeof(*pid))
		*pid = 0;
	close(pp[0]);
	while (waitpid(a, NULL, 0) < 0 && errno == EINTR)
		;

	/* One line, then EOF. */
	uint64_t dl = deadline_after(timeout_of(ctx));
	for (;;) {
		int64_t left = (int64_t)(dl - now_ns()) / 1000000;
		if (left <= 0) {
			close(rp[0]);
			snprintf(err, errlen, "cephvol-mount for volume %s did not get ready "
			    "in %u s (log: %s)", m->name, timeout_of(ctx), logpath);
			return -ETIMEDOUT;
		}
		struct pollfd pfd = { .fd = rp[0], .events = POLLIN };
		r = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (r < 0 && errno != EINTR) {
			r = -errno;
			close(rp[0]);
			snprintf(err, errlen, "poll: %s", strerror(-r));
			return r;
		}
		if (r <= 0)
			continue;
		ssize_t k = read(rp[0], msg + got, sizeof(msg) - 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
		if (memchr(msg, '\n', got) || got == sizeof(msg) - 1)
			break;
	}
	close(rp[0]);
	msg[got] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	if (strcmp(msg, "ok") == 0)
		return 0;
	if (strncmp(msg, "error: ", 7) == 0) {
		snprintf(err, errlen, "%s", msg + 7);
		if (strstr(msg, " is in use by "))
			return -EBUSY;
		if (strstr(msg, "does not exist"))
			return -ENOENT;
		return -EIO;
	}
	snprintf(err, errlen, "cephvol-mount for volume %s exited without saying "
	    "why (log: %s)", m->name, logpath);
	return -EIO;
}

/* Build the helper's arguments: [--secrets] [-c F] [-o X]... --ready-fd 3
 * --pid-file P VOLUME DIR. Strings point into ctx, m, pidfile, dir. */
static size_t
helper_args(const struct attach_ctx *ctx, const struct volume_meta *m,
    bool secrets, const char *pidfile, const char *dir, char **args)
{
	size_t n = 0;

	if (secrets)
		args[n++] = "--secrets";
	if (ctx->config_path) {
		args[n++] = "-c";
		args[n++] = (char *)ctx->config_path;
	}
	for (size_t i = 0; i < ctx->n_overrides && n < MAX_ARGS - 8; i++) {
		args[n++] = "-o";
		args[n++] = ctx->overrides[i];
	}
	args[n++] = "--ready-fd";
	args[n++] = "3";
	args[n++] = "--pid-file";
	args[n++] = (char *)pidfile;
	args[n++] = (char *)m->name;
	args[n++] = (char *)dir;
	return n;
}

/* ---- loop devices ------------------------------------------------------ */

/* Attach file to a free loop device with direct I/O and autoclear. *fd is
 * the open loop device (close it only once something else holds it);
 * *direct says whether direct I/O is on. */
static int
loop_attach(const char *file, char *dev, size_t devlen, int *fd, bool *direct,
    char *err, size_t errlen)
{
	int ctl, ffd, lfd = -1, r = 0;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open /dev/loop-control: %s", strerror(errno));
		return r;
	}
	ffd = open(file, O_RDWR | O_CLOEXEC | O_DIRECT);
	if (ffd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open %s: %s", file, strerror(errno));
		close(ctl);
		return r;
	}
	for (int tries = 0; tries < 20; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "no free loop device: %s", strerror(errno));
			break;
		}
		snprintf(dev, devlen, "/dev/loop%d", n);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot open %s: %s", dev, strerror(errno));
			if (errno == ENOENT || errno == ENXIO) {
				sleep_ms(10);
				continue;
			}
			break;
		}
		struct loop_config lc;
		memset(&lc, 0, sizeof(lc));
		lc.fd = (unsigned)ffd;
		lc.block_size = 4096;
		lc.info.lo_flags = LO_FLAGS_DIRECT_IO | LO_FLAGS_AUTOCLEAR;
		snprintf((char *)lc.info.lo_file_name, sizeof(lc.info.lo_file_name), "%s", file);
		if (ioctl(lfd, LOOP_CONFIGURE, &lc) == 0) {
			r = 0;
			break;
		}
		r = -errno;
		snprintf(err, errlen, "cannot attach %s to %s: %s", file, dev, strerror(errno));
		close(lfd);
		lfd = -1;
		if (r != -EBUSY)	/* EBUSY: someone took it first */
			break;
	}
	close(ffd);
	close(ctl);
	if (r == 0 && lfd < 0)
		r = -EBUSY;
	if (r < 0)
		return r;
	/* Direct I/O must have stuck: a buffered loop would cache writes. */
	struct loop_info64 li;
	*direct = ioctl(lfd, LOOP_GET_STATUS64, &li) == 0 &&
	    (li.lo_flags & LO_FLAGS_DIRECT_IO);
	if (!*direct)
		log_warn("%s on %s: direct I/O is off", dev, file);
	*fd = lfd;
	return 0;
}

/* Detach every loop device whose backing file is `file`; wait until they
 * are gone. Returns the number still attached after the wait. */
static int
loop_detach_file(const char *file, unsigned wait_s)
{
	uint64_t dl = deadline_after(wait_s);
	size_t flen = strlen(file);
	int left;

	for (;;) {
		DIR *d = opendir("/sys/block");
		struct dirent *de;

		left = 0;
		while (d && (de = readdir(d)) != NULL) {
			char path[PATH_MAX], back[PATH_MAX];
			if (strncmp(de->d_name, "loop", 4) != 0)
				continue;
			snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file",
			    de->d_name);
			FILE *f = fopen(path, "re");
			if (f == NULL)
				continue;
			bool got = fgets(back, sizeof(back), f) != NULL;
			fclose(f);
			/* "(deleted)" may follow a path whose file went away */
			if (!got || strncmp(back, file, flen) != 0 ||
			    (back[flen] != '\n' && back[flen] != ' ' && back[flen] != '\0'))
				continue;
			left++;
			snprintf(path, sizeof(path), "/dev/%s", de->d_name);
			int fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd >= 0) {
				if (ioctl(fd, LOOP_CLR_FD) < 0 && errno != ENXIO)
					log_debug("LOOP_CLR_FD %s: %s", path, strerror(errno));
				close(fd);
			}
		}
		if (d)
			closedir(d);
		if (left == 0 || now_ns() >= dl)
			return left;
		sleep_ms(20);
	}
}

/* The backing file of loop device dev ("/dev/loop3"), into buf. */
static bool
loop_backing_file(const char *dev, char *buf, size_t len)
{
	char path[PATH_MAX];
	const char *base = strrchr(dev, '/');
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", base ? base + 1 : dev);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	bool ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/* ---- commands (blkid, mkfs) -------------------------------------------- */

/* Run argv; its output (stdout+stderr) into out. Returns the exit status
 * (0..255) or -errno; killed after timeout_s. */
static int
run_cmd(char *const argv[], char *out, size_t outlen, unsigned timeout_s)
{
	posix_spawn_file_actions_t fa;
	int p[2], status, r;
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
	uint64_t dl = deadline_after(timeout_s);
	for (;;) {
		int64_t left = (int64_t)(dl - now_ns()) / 1000000;
		if (left <= 0) {
			kill(pid, SIGKILL);
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
	if (WIFSIGNALED(status))
		return -ETIMEDOUT;
	return WEXITSTATUS(status);
}

/* ---- mount ------------------------------------------------------------- */

/*
 * The mount options for a volume's filesystem. Online discard for both.
 * ext4 also gets noinit_itable (above) and nobarrier: the device has no
 * volatile cache, because a write the loop completes went by direct I/O
 * into cephvol-mount, which answers only once RADOS has acknowledged it;
 * so ext4 still waits for every write it depends on, and a cache flush
 * would only cost a trip through loop and FUSE for nothing (4K write +
 * fsync at qd1, 8 interleaved rounds: +8% IOPS, p50 and p99 -8 to -9%).
 * Only with direct I/O, as a precaution. A mount option and not the
 * device's write_cache attribute: that one outlives the mount and would
 * drop the flushes of whoever gets the loop device next.
 */
static const char *
mount_opts(const char *fstype, bool direct)
{
	if (strcmp(fstype, "ext4") != 0)
		return "discard";
	return direct ? "discard,noinit_itable,nobarrier" : "discard,noinit_itable";
}

static int
mount_block(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *mountpoint, pid_t *helper_pid, char *err, size_t errlen)
{
	char fusedir[PATH_MAX], file[PATH_MAX], pidfile[PATH_MAX];
	char dev[64], fstype[16], out[2048], why[1024], *args[MAX_ARGS];
	unsigned tmo = timeout_of(ctx);
	pid_t pid;
	int lfd = -1, r;
	bool direct = false;

	state_path(ctx, m, "", fusedir, sizeof(fusedir));
	state_path(ctx, m, ".pid", pidfile, sizeof(pidfile));
	snprintf(file, sizeof(file), "%s/%s", fusedir, IMAGE_FILE);

	/* What an earlier, crashed helper left: refuse a live one, clear the rest. */
	pid = pidfile_read(pidfile);
	if (helper_alive(pid, m->name)) {
		snprintf(err, errlen, "volume %s is already served on this host by "
		    "cephvol-mount pid %d (unmount it first)", m->name, (int)pid);
		return -EBUSY;
	}
	if (loop_detach_file(file, 2) > 0) {
		snprintf(err, errlen, "a loop device still uses %s (a filesystem of "
		    "volume %s is mounted somewhere)", file, m->name);
		return -EBUSY;
	}
	if (mount_find(fusedir, NULL, 0, NULL, 0)) {
		log_warn("volume=%s: removing the stale fuse mount %s", m->name, fusedir);
		if (umount2(fusedir, 0) < 0)
			umount2(fusedir, MNT_DETACH);
	}
	unlink(pidfile);
	rmdir(fusedir);		/* an older version's, named by name, or ours */
	/* From here on, by id. */
	state_path_new(ctx, m, "", fusedir, sizeof(fusedir));
	state_path_new(ctx, m, ".pid", pidfile, sizeof(pidfile));
	snprintf(file, sizeof(file), "%s/%s", fusedir, IMAGE_FILE);
	if ((r = mkdir_p(fusedir, 0700)) < 0 && r != -EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", fusedir, strerror(-r));
		return r;
	}
	name_file_write(ctx, m);

	/* 1. cephvol-mount */
	size_t n = helper_args(ctx, m, false, pidfile, fusedir, args);
	r = helper_start(ctx, m, args, n, &pid, err, errlen);
	if (r < 0)
		goto out_stop_helper;

	/* 2. loop device */
	r = loop_attach(file, dev, sizeof(dev), &lfd, &direct, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "volume %s: %s", m->name, why);
		goto out_stop_helper;
	}

	/* 3. a filesystem, on first use only */
	char *blkid[] = { "blkid", "-p", "-o", "value", "-s", "TYPE", dev, NULL };
	r = run_cmd(blkid, out, sizeof(out), tmo);
	if (r == 0 && out[0]) {
		snprintf(fstype, sizeof(fstype), "%s", out);
		if (strcmp(fstype, m->fs) != 0)
			log_warn("volume=%s holds %s, not %s: mounting it as %s", m->name,
			    fstype, m->fs, fstype);
	} else if (r == 2) {
		snprintf(fstype, sizeof(fstype), "%s", m->fs[0] ? m->fs : "ext4");
		char *mkfs_ext4[] = { "mkfs.ext4", "-q", "-F", "-E",
		    "nodiscard,lazy_itable_init=1,lazy_journal_init=1", dev, NULL };
		char *mkfs_xfs[] = { "mkfs.xfs", "-q", "-f", "-K", dev, NULL };
		uint64_t t0 = now_ns();
		r = run_cmd(strcmp(fstype, "xfs") == 0 ? mkfs_xfs : mkfs_ext4, out,
		    sizeof(out), tmo);
		if (r != 0) {
			snprintf(err, errlen, "mkfs.%s on volume %s failed: %s", fstype,
			    m->name, r < 0 ? strerror(-r) : out);
			r = -EIO;
			goto out_detach;
		}
		log_info("volume=%s: made %s in %.1f s", m->name, fstype,
		    (double)(now_ns() - t0) / 1e9);
	} else {
		snprintf(err, errlen, "cannot probe volume %s for a filesystem (blkid "
		    "exit %d): %s", m->name, r, out);
		r = -EIO;
		goto out_detach;
	}

	/* 4. mount */
	if ((r = mkdir_p(mountpoint, 0755)) < 0 && r != -EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", mountpoint, strerror(-r));
		goto out_detach;
	}
	const char *opts = mount_opts(fstype, direct);
	if (mount(dev, mountpoint, fstype, 0, opts) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot mount volume %s (%s, %s) on %s: %s", m->name,
		    dev, fstype, mountpoint, strerror(errno));
		goto out_detach;
	}
	close(lfd);	/* the mount holds the loop now; autoclear on umount */
	log_info("volume=%s mounted on %s (%s %s, cephvol-mount pid %d)", m->name,
	    mountpoint, dev, fstype, (int)pid);
	*helper_pid = pid;
	return 0;

out_detach:
	ioctl(lfd, LOOP_CLR_FD);
	close(lfd);
	loop_detach_file(file, 5);
out_stop_helper:
	if (mount_find(fusedir, NULL, 0, NULL, 0) && umount2(fusedir, 0) < 0)
		umount2(fusedir, MNT_DETACH);
	/* Not ready in time: stop it now; otherwise it goes by itself once
	 * its FUSE mount is gone (a few seconds' grace). */
	if (pid > 0 && !helper_wait_gone(pid, m->name, r == -ETIMEDOUT ? 0 : 5))
		log_err("volume=%s: cephvol-mount %d would not stop", m->name, (int)pid);
	return r;
}

static int
mount_secrets(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *mountpoint, pid_t *helper_pid, char *err, size_t errlen)
{
	char pidfile[PATH_MAX], *args[MAX_ARGS];
	pid_t pid;
	int r;

	state_path(ctx, m, ".pid", pidfile, sizeof(pidfile));
	pid = pidfile_read(pidfile);
	if (helper_alive(pid, m->name)) {
		snprintf(err, errlen, "volume %s is already served on this host by "
		    "cephvol-mount pid %d (unmount it first)", m->name, (int)pid);
		return -EBUSY;
	}
	unlink(pidfile);
	state_path_new(ctx, m, ".pid", pidfile, sizeof(pidfile));
	if ((r = mkdir_p(mountpoint, 0755)) < 0 && r != -EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", mountpoint, strerror(-r));
		return r;
	}
	unlink(pidfile);
	name_file_write(ctx, m);
	size_t n = helper_args(ctx, m, true, pidfile, mountpoint, args);
	r = helper_start(ctx, m, args, n, &pid, err, errlen);
	if (r < 0) {
		if (mount_find(mountpoint, NULL, 0, NULL, 0) && umount2(mountpoint, 0) < 0)
			umount2(mountpoint, MNT_DETACH);
		if (pid > 0)
			helper_wait_gone(pid, m->name, r == -ETIMEDOUT ? 0 : 5);
		return r;
	}
	*helper_pid = pid;
	return 0;
}

int
attach_mount(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *mountpoint, pid_t *helper_pid, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int r;

	*helper_pid = 0;
	if (mount_find(mountpoint, NULL, 0, NULL, 0)) {
		snprintf(err, errlen, "%s is already a mount point", mountpoint);
		return -EBUSY;
	}
	if (m->id[0] == '\0') {
		snprintf(err, errlen, "volume %s has no id", m->name);
		return -EINVAL;
	}
	snprintf(dir, sizeof(dir), "%s/vol", ctx->cfg->plugin_state_dir);
	if ((r = mkdir_p(dir, 0700)) < 0 && r != -EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-r));
		return r;
	}
	if (m->type == VOLUME_SECRETS)
		return mount_secrets(ctx, m, mountpoint, helper_pid, err, errlen);
	return mount_block(ctx, m, mountpoint, helper_pid, err, errlen);
}

/* ---- unmount ----------------------------------------------------------- */

/* umount2(path) with retries while busy; ok if it is not mounted. */
static int
umount_retry(const char *path, unsigned wait_s, char *err, size_t errlen)
{
	uint64_t dl = deadline_after(wait_s);

	while (mount_find(path, NULL, 0, NULL, 0)) {
		if (umount2(path, 0) == 0)
			continue;
		if (errno == EINVAL || errno == ENOENT)
			return 0;
		if (errno != EBUSY || now_ns() > dl) {
			int r = -errno;
			snprintf(err, errlen, "cannot unmount %s: %s", path, strerror(errno));
			return r;
		}
		sleep_ms(50);
	}
	return 0;
}

int
attach_unmount(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *mountpoint, char *err, size_t errlen)
{
	char fusedir[PATH_MAX], file[PATH_MAX], pidfile[PATH_MAX];
	unsigned tmo = timeout_of(ctx);
	pid_t pid;
	int r;

	state_path(ctx, m, "", fusedir, sizeof(fusedir));
	state_path(ctx, m, ".pid", pidfile, sizeof(pidfile));
	snprintf(file, sizeof(file), "%s/%s", fusedir, IMAGE_FILE);
	pid = pidfile_read(pidfile);

	/* 1. the filesystem (or the secrets tree) */
	r = umount_retry(mountpoint, tmo < 5 ? tmo : 5, err, errlen);
	if (r < 0)
		return r;
	if (m->type != VOLUME_SECRETS) {
		/* 2. the loop (autoclear usually did it already) */
		int left = loop_detach_file(file, tmo);
		if (left > 0) {
			snprintf(err, errlen, "volume %s: %d loop device(s) on %s would not "
			    "detach", m->name, left, file);
			return -EBUSY;
		}
		/* 3. the FUSE mount: cephvol-mount then flushes and exits */
		r = umount_retry(fusedir, tmo < 5 ? tmo : 5, err, errlen);
		if (r < 0)
			return r;
	}
	/* 4. the process: it goes by itself after the unmount */
	if (pid > 0 && !helper_wait_gone(pid, m->name, tmo)) {
		snprintf(err, errlen, "cephvol-mount %d of volume %s would not stop",
		    (int)pid, m->name);
		return -EBUSY;
	}
	unlink(pidfile);
	if (m->type != VOLUME_SECRETS)
		rmdir(fusedir);
	if (m->id[0]) {
		char namefile[PATH_MAX];
		state_path_new(ctx, m, ".volume", namefile, sizeof(namefile));
		unlink(namefile);
	}
	log_info("volume=%s unmounted from %s", m->name, mountpoint);
	return 0;
}

int
attach_status(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *mountpoint, struct attach_state *out)
{
	char fusedir[PATH_MAX], pidfile[PATH_MAX], src[PATH_MAX], type[64];

	memset(out, 0, sizeof(*out));
	state_path(ctx, m, "", fusedir, sizeof(fusedir));
	state_path(ctx, m, ".pid", pidfile, sizeof(pidfile));
	out->mounted = mount_find(mountpoint, type, sizeof(type), src, sizeof(src));
	if (out->mounted && strncmp(src, "/dev/loop", 9) == 0)
		snprintf(out->loop_dev, sizeof(out->loop_dev), "%s", src);
	pid_t pid = pidfile_read_cookie(pidfile, out->helper_cookie,
	    sizeof(out->helper_cookie));
	if (helper_alive(pid, m->name)) {
		out->helper_alive = true;
		out->helper_pid = pid;
	}
	return 0;
}

/* The volume named in <dir>/<id>.volume; 0 or -ENOENT. */
static int
name_file_read(const char *dir, const char *id, char *volume, size_t len)
{
	char path[PATH_MAX], *s = NULL;
	size_t n;
	int r;

	snprintf(path, sizeof(path), "%s/%s.volume", dir, id);
	if ((r = file_read_all(path, &s, &n)) < 0)
		return r;
	s[strcspn(s, "\n")] = '\0';
	r = name_valid(s) ? 0 : -ENOENT;
	if (r == 0)
		snprintf(volume, len, "%s", s);
	free(s);
	return r;
}

/* Is the last argument of pid's command line the mountpoint? Then the
 * one before it is the volume (a secrets helper). */
static bool
helper_serves(pid_t pid, const char *mountpoint, const char *real, char *volume,
    size_t len)
{
	char path[64], args[8192];
	const char *last = NULL, *prev = NULL;
	ssize_t k;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (pid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	k = read(fd, args, sizeof(args) - 1);
	close(fd);
	if (k <= 0)
		return false;
	args[k] = '\0';
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

int
attach_volume_at(const struct attach_ctx *ctx, const char *mountpoint,
    char *volume, size_t len, char *id, size_t idlen)
{
	char src[PATH_MAX], type[64], back[PATH_MAX], real[PATH_MAX];
	char dirs[2][PATH_MAX];
	int r = -ENOENT;

	if (id && idlen)
		id[0] = '\0';
	snprintf(dirs[0], sizeof(dirs[0]), "%s/vol", ctx->cfg->plugin_state_dir);
	snprintf(dirs[1], sizeof(dirs[1]), "%s/fuse", ctx->cfg->plugin_state_dir);
	/* A block volume: its loop device's backing file is DIR/KEY/image,
	 * KEY the id (or, for an older version's mount, the name). */
	if (mount_find(mountpoint, type, sizeof(type), src, sizeof(src)) &&
	    strncmp(src, "/dev/loop", 9) == 0 && loop_backing_file(src, back, sizeof(back))) {
		for (int d = 0; d < 2; d++) {
			size_t pl = strlen(dirs[d]);
			if (strncmp(back, dirs[d], pl) != 0 || back[pl] != '/')
				continue;
			char *key = back + pl + 1, *slash = strchr(key, '/');
			if (slash == NULL || strncmp(slash, "/" IMAGE_FILE, strlen(IMAGE_FILE) + 1) != 0)
				continue;
			*slash = '\0';
			if (d == 1 && name_valid(key)) {
				snprintf(volume, len, "%s", key);
				return 0;
			}
			if (d == 0 && name_file_read(dirs[0], key, volume, len) == 0) {
				if (id && idlen)
					snprintf(id, idlen, "%s", key);
				return 0;
			}
		}
	}
	/* Otherwise a live helper whose last argument is the mountpoint
	 * (secrets). */
	if (realpath(mountpoint, real) == NULL)
		snprintf(real, sizeof(real), "%s", mountpoint);
	for (int d = 0; d < 2 && r < 0; d++) {
		DIR *dp = opendir(dirs[d]);
		struct dirent *de;
		while (dp && r < 0 && (de = readdir(dp)) != NULL) {
			size_t n = strlen(de->d_name);
			char path[PATH_MAX];
			if (n < 5 || strcmp(de->d_name + n - 4, ".pid") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[d], de->d_name);
			if (helper_serves(pidfile_read(path), mountpoint, real, volume, len)) {
				if (d == 0 && id && idlen)
					snprintf(id, idlen, "%.*s", (int)(n - 4), de->d_name);
				r = 0;
			}
		}
		if (dp)
			closedir(dp);
	}
	return r;
}
