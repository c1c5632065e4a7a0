/*
 * doctor_host.c - `cephvol doctor`'s checks of this host (cli/doctor.h):
 * the kernel's FUSE and loop devices, the programs the mount pipeline
 * runs, the configuration, the master key file, volumes whose
 * cephvol-mount is gone, cephvold on its socket, and Docker's view of the
 * driver.
 *
 * Each check tries what cephvol itself will do (open /dev/fuse, ask
 * /dev/loop-control for a free device, connect to the socket) rather than
 * guess from names, and never changes anything. Programs are looked up in
 * $PATH, as the pipeline's posix_spawnp() does. What another program
 * runs (docker) is bounded by the timeout and killed by its pid after it.
 * No state; runs on the command's main thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/doctor.h"
#include "common/run.h"
#include "common/util.h"
#include "host/helper.h"
#include "host/loop.h"
#include "host/mountinfo.h"
#include "secrets/masterkey.h"


/* Where program is in $PATH, into buf; false when it is not there. */
static bool
which(const char *program, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL;
	bool found = false;

	if (path == NULL || *path == '\0')
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	if ((copy = strdup(path)) == NULL)
		return false;
	for (char *dir = strtok_r(copy, ":", &save); dir && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", *dir ? dir : ".", program);
		found = access(buf, X_OK) == 0;
	}
	free(copy);
	return found;
}

void
doctor_check_fuse(struct doctor *d)
{
	char fm[PATH_MAX];
	int fd;

	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		doctor_add(d, DOCTOR_FAIL, "fuse", e == ENOENT ? "load the module: "
		    "modprobe fuse" : "run cephvol as root (cephvold and "
		    "cephvol-mount need /dev/fuse)", "cannot open /dev/fuse: %s",
		    strerror(e));
		return;
	}
	close(fd);
	if (!which("fusermount3", fm, sizeof(fm))) {
		/* root mounts and unmounts without it; anyone else needs it */
		doctor_add(d, geteuid() == 0 ? DOCTOR_WARN : DOCTOR_FAIL, "fuse",
		    "apt-get install fuse3", "/dev/fuse opens, but fusermount3 "
		    "is not in $PATH");
		return;
	}
	doctor_add(d, DOCTOR_OK, "fuse", NULL, "/dev/fuse opens; fusermount3 is %s",
	    doctor_esc(fm));
}

/* Does kernel release rel ("6.1.0-18-amd64") have LOOP_CONFIGURE (5.8)? */
static bool
has_loop_configure(const char *rel)
{
	unsigned major = 0, minor = 0;

	if (sscanf(rel, "%u.%u", &major, &minor) != 2)
		return true;	/* cannot tell: the attach says */
	return major > 5 || (major == 5 && minor >= 8);
}

void
doctor_check_loop(struct doctor *d)
{
	struct utsname u;
	char lo[PATH_MAX];
	int fd, n;

	fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		doctor_add(d, DOCTOR_FAIL, "loop", e == ENOENT ? "load the module: "
		    "modprobe loop" : "run cephvol as root", "cannot open "
		    "/dev/loop-control: %s", strerror(e));
		return;
	}
	n = ioctl(fd, LOOP_CTL_GET_FREE);
	if (n < 0) {
		int e = errno;
		close(fd);
		doctor_add(d, DOCTOR_FAIL, "loop", "see what holds them: losetup -l; "
		    "detach those nothing uses with losetup -d DEVICE",
		    "no free loop device: %s", strerror(e));
		return;
	}
	close(fd);
	uname(&u);
	if (!has_loop_configure(u.release)) {
		doctor_add(d, DOCTOR_FAIL, "loop", "boot a kernel 5.8 or later",
		    "kernel %s lacks LOOP_CONFIGURE (5.8 or later), which attaches "
		    "a volume's loop device", doctor_esc(u.release));
		return;
	}
	if (!which("losetup", lo, sizeof(lo))) {
		doctor_add(d, DOCTOR_WARN, "loop", "apt-get install mount",
		    "/dev/loop-control opens and /dev/loop%d is free, but losetup "
		    "(to see and detach loop devices by hand) is not in $PATH", n);
		return;
	}
	doctor_add(d, DOCTOR_OK, "loop", NULL, "/dev/loop-control opens, /dev/loop%d "
	    "is free, kernel %s has LOOP_CONFIGURE; losetup is %s", n,
	    doctor_esc(u.release), doctor_esc(lo));
}

void
doctor_check_tools(struct doctor *d)
{
	static const char *const ext4[] = { "mkfs.ext4", "resize2fs", "blkid" };
	static const char *const xfs[] = { "mkfs.xfs", "xfs_growfs" };
	char path[PATH_MAX], missing[256] = "", missing_xfs[256] = "";
	bool xfs_default = strcmp(d->cli->cfg.volume_default_fs, "xfs") == 0;

	for (size_t i = 0; i < ARRAY_SIZE(ext4); i++)
		if (!which(ext4[i], path, sizeof(path)))
			snprintf(missing + strlen(missing), sizeof(missing) -
			    strlen(missing), "%s%s", missing[0] ? ", " : "", ext4[i]);
	for (size_t i = 0; i < ARRAY_SIZE(xfs); i++)
		if (!which(xfs[i], path, sizeof(path)))
			snprintf(missing_xfs + strlen(missing_xfs), sizeof(missing_xfs) -
			    strlen(missing_xfs), "%s%s", missing_xfs[0] ? ", " : "",
			    xfs[i]);
	if (missing[0])
		doctor_add(d, DOCTOR_FAIL, "tools", "apt-get install e2fsprogs util-linux",
		    "not in $PATH: %s (every block volume's first mount and "
		    "growth need them)", missing);
	if (missing_xfs[0])
		doctor_add(d, xfs_default ? DOCTOR_FAIL : DOCTOR_WARN, "tools",
		    "apt-get install xfsprogs", "not in $PATH: %s (volumes with "
		    "-o fs=xfs%s cannot be made or grown)", missing_xfs,
		    xfs_default ? ", the default volume.default_fs," : "");
	if (!missing[0] && !missing_xfs[0])
		doctor_add(d, DOCTOR_OK, "tools", NULL, "mkfs.ext4, resize2fs, blkid, "
		    "mkfs.xfs and xfs_growfs are in $PATH");
}

void
doctor_check_config(struct doctor *d)
{
	const struct config *cfg = &d->cli->cfg;

	if (d->cli->config_err) {
		doctor_add(d, DOCTOR_FAIL, "config", "correct the line it names "
		    "(cephvol --dump-config lists every key, its help and default)",
		    "%s (the cluster checks were not run)",
		    doctor_esc(d->cli->config_err));
		return;
	}
	if (cfg->path == NULL) {
		doctor_add(d, DOCTOR_WARN, "config", "cephvol --dump-config > "
		    CONFIG_DEFAULT_PATH ", then set [ceph] conf, client, keyring and pool "
		    "there", "no " CONFIG_DEFAULT_PATH ": every key has its built-in "
		    "default (client %s, pool %s)", doctor_esc(cfg->ceph_client),
		    doctor_esc(cfg->ceph_pool));
		return;
	}
	doctor_add(d, DOCTOR_OK, "config", NULL, "%s parses: client %s, pool %s, "
	    "ceph.conf %s", doctor_esc(cfg->path), doctor_esc(cfg->ceph_client),
	    doctor_esc(cfg->ceph_pool), doctor_esc(cfg->ceph_conf));
}

void
doctor_check_key(struct doctor *d)
{
	const char *path = d->cli->cfg.secrets_master_key, *p = doctor_esc(path);
	char fix[1024];
	struct stat sb;

	if (lstat(path, &sb) < 0) {
		int e = errno;
		snprintf(fix, sizeof(fix), "cephvol key init (or this cluster's key "
		    "from another host: install -m 600 -o root -g root KEYFILE %s)", p);
		if (e == ENOENT)
			doctor_add(d, DOCTOR_WARN, "master-key", fix,
			    "no master key file %s: secrets cannot be made or "
			    "mounted on this host (volumes work)", p);
		else
			doctor_add(d, DOCTOR_FAIL, "master-key", "run cephvol doctor as "
			    "root", "cannot look at master key file %s: %s", p,
			    strerror(e));
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		doctor_add(d, DOCTOR_FAIL, "master-key", "put the key file itself at "
		    "that path (the key is opened without following links)",
		    "master key file %s is %s, not a regular file", p,
		    S_ISLNK(sb.st_mode) ? "a symbolic link" : "something else");
		return;
	}
	if (sb.st_uid != 0 || (sb.st_mode & 0077) != 0) {
		if (sb.st_uid != 0 && (sb.st_mode & 0077) != 0)
			snprintf(fix, sizeof(fix), "chown root:root %s && chmod 600 %s", p, p);
		else if (sb.st_uid != 0)
			snprintf(fix, sizeof(fix), "chown root:root %s", p);
		else
			snprintf(fix, sizeof(fix), "chmod 600 %s", p);
		doctor_add(d, DOCTOR_FAIL, "master-key", fix, "master key file %s is "
		    "mode %04o, uid %u: it must be owned by root with mode 0600 or "
		    "0400 (cephvol refuses to load it)", p,
		    (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_uid);
		return;
	}
	if (sb.st_size != MASTERKEY_BYTES) {
		doctor_add(d, DOCTOR_FAIL, "master-key", "restore the key file from "
		    "a backup or another host of this cluster", "master key file %s "
		    "holds %lld bytes, not %d", p, (long long)sb.st_size,
		    MASTERKEY_BYTES);
		return;
	}
	doctor_add(d, DOCTOR_OK, "master-key", NULL, "%s: %d bytes, owned by root, "
	    "mode %04o", p, MASTERKEY_BYTES, (unsigned)(sb.st_mode & 07777));
}

/* Where the loop device over image is mounted, into mp; false if none. */
static bool
image_mountpoint(const char *image, char *mp, size_t len)
{
	char back[PATH_MAX], dev[64];
	struct dirent *e;
	bool found = false;
	DIR *dir;

	if ((dir = opendir("/sys/block")) == NULL)
		return false;
	while (!found && (e = readdir(dir)) != NULL) {
		if (strncmp(e->d_name, "loop", 4) != 0 ||
		    !loop_backing_file(e->d_name, back, sizeof(back)) ||
		    strcmp(back, image) != 0)
			continue;
		snprintf(dev, sizeof(dev), "/dev/%s", e->d_name);
		found = mountinfo_by_source(dev, mp, len);
	}
	closedir(dir);
	return found;
}

void
doctor_check_mounts(struct doctor *d)
{
	const char *state = d->cli->cfg.plugin_state_dir;
	char dirpath[PATH_MAX], path[PATH_MAX], name[NAME_MAX_LEN + 1], mp[PATH_MAX];
	char fix[2048];
	unsigned alive = 0, dead = 0;
	struct dirent *e;
	DIR *dir;

	snprintf(dirpath, sizeof(dirpath), "%s/vol", state);
	if ((dir = opendir(dirpath)) == NULL) {
		if (errno == ENOENT)
			doctor_add(d, DOCTOR_OK, "mounts", NULL, "no volume is mounted "
			    "on this host (no %s)", doctor_esc(dirpath));
		else
			doctor_add(d, DOCTOR_WARN, "mounts", "run cephvol doctor as root",
			    "cannot read %s: %s", doctor_esc(dirpath), strerror(errno));
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		size_t l = strlen(e->d_name);
		char id[128], *s = NULL;
		pid_t pid;

		if (l < 5 || l - 4 >= sizeof(id) || strcmp(e->d_name + l - 4, ".pid") != 0)
			continue;
		snprintf(id, sizeof(id), "%.*s", (int)(l - 4), e->d_name);
		snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
		pid = helper_pidfile_read(path, NULL, 0);
		snprintf(path, sizeof(path), "%s/%s.volume", dirpath, id);
		name[0] = '\0';
		if (file_read_all(path, &s, NULL) == 0) {
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(s, "\n"), s);
			free(s);
		}
		if (pid > 0 && helper_alive(pid, name)) {
			alive++;
			continue;
		}
		dead++;
		snprintf(path, sizeof(path), "%s/%s/image", dirpath, id);
		bool found = image_mountpoint(path, mp, sizeof(mp));
		if (found)
			snprintf(fix, sizeof(fix), "cephvol volume unmount %s %s",
			    doctor_esc(mp), doctor_esc(name));
		else
			snprintf(fix, sizeof(fix), "cephvol volume unmount MOUNTPOINT %s "
			    "(where it was mounted: docker volume inspect %s)",
			    doctor_esc(name), doctor_esc(name));
		doctor_add(d, DOCTOR_FAIL, "mounts", fix, "volume %s (id %s): its "
		    "cephvol-mount (pid %d) is gone, so its I/O fails%s%s", name[0] ?
		    doctor_esc(name) : "?", doctor_esc(id), (int)pid,
		    found ? "; mounted at " : "", found ? doctor_esc(mp) : "");
	}
	closedir(dir);
	if (dead == 0)
		doctor_add(d, DOCTOR_OK, "mounts", NULL, "%u volume(s) mounted on this "
		    "host, each served by its cephvol-mount", alive);
}

/* Plugin.Activate on the socket; the answer (headers and body) into buf. */
static int
activate(const char *sock, unsigned timeout_s, char *buf, size_t len)
{
	static const char req[] = "POST /Plugin.Activate HTTP/1.1\r\nHost: plugin\r\n"
	    "Accept: application/vnd.docker.plugins.v1.2+json\r\n"
	    "Content-Length: 0\r\n\r\n";
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout_s };
	size_t got = 0;
	int fd, r = 0;

	if (strlen(sock) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, sock, strlen(sock) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		r = -errno;
		goto out_close;
	}
	uint64_t dl = wait_deadline(timeout_s);
	buf[0] = '\0';
	while (got < len - 1) {
		ssize_t k = recv(fd, buf + got, len - 1 - got, 0);
		if (k < 0 && errno == EINTR && wait_left_ms(dl) > 0)
			continue;
		if (k < 0) {
			r = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		if (k == 0)
			break;
		got += (size_t)k;
		buf[got] = '\0';
		/* a whole answer: headers, then Content-Length bytes */
		char *end = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "content-length:");
		if (end && cl && cl < end &&
		    got >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
			break;
		if (wait_left_ms(dl) <= 0) {
			r = -ETIMEDOUT;
			break;
		}
	}
out_close:
	close(fd);
	return r;
}

void
doctor_check_cephvold(struct doctor *d)
{
	const char *sock = d->cli->cfg.plugin_socket, *s = doctor_esc(sock);
	unsigned t = d->timeout < 10 ? d->timeout : 10;
	char buf[8192], fix[1024];
	uint64_t t0 = now_ns();
	int r;

	r = activate(sock, t, buf, sizeof(buf));
	if (r == -ENOENT || r == -ECONNREFUSED) {
		snprintf(fix, sizeof(fix), "systemctl start cephvold (or: cephvold -c %s)",
		    doctor_esc(d->cli->cfg.path ? d->cli->cfg.path : CONFIG_DEFAULT_PATH));
		doctor_add(d, DOCTOR_WARN, "cephvold", fix, "cephvold is not running: "
		    "nothing answers on %s (Docker cannot mount cephvol volumes)", s);
		return;
	}
	if (r == -EACCES || r == -EPERM) {
		doctor_add(d, DOCTOR_WARN, "cephvold", "run cephvol doctor as root",
		    "cannot connect to %s: %s", s, strerror(-r));
		return;
	}
	if (r < 0) {
		doctor_add(d, DOCTOR_FAIL, "cephvold", "systemctl restart cephvold; "
		    "its log: journalctl -u cephvold", "no answer to Plugin.Activate on "
		    "%s within %u s: %s", s, t, strerror(-r));
		return;
	}
	char *body = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.1 200", 12) != 0 || body == NULL ||
	    strstr(body, "VolumeDriver") == NULL) {
		buf[strcspn(buf, "\r\n")] = '\0';
		doctor_add(d, DOCTOR_FAIL, "cephvold", "systemctl restart cephvold; "
		    "its log: journalctl -u cephvold", "%s answers Plugin.Activate "
		    "with '%s', not a volume driver", s, doctor_esc(buf));
		return;
	}
	doctor_add(d, DOCTOR_OK, "cephvold", NULL, "answers Plugin.Activate on %s "
	    "(VolumeDriver) in %.1f ms", s, (double)(now_ns() - t0) / 1e6);
}

/* The socket a plugin spec file names ("unix:///run/x.sock" -> path), or
 * "" when it names none; false when it cannot be read. */
static bool
spec_socket(const char *file, char *sock, size_t len)
{
	char *s = NULL;
	const char *addr = NULL;
	json_t *j = NULL;
	size_t n;

	sock[0] = '\0';
	if (file_read_all(file, &s, &n) < 0)
		return false;
	if (strlen(file) > 5 && strcmp(file + strlen(file) - 5, ".json") == 0) {
		j = json_loads(s, 0, NULL);
		addr = json_string_value(json_object_get(j, "Addr"));
	} else {
		addr = s + strspn(s, " \t\r\n");
		s[strcspn(s, "\r\n")] = '\0';
	}
	if (addr && strncmp(addr, "unix://", 7) == 0)
		snprintf(sock, len, "%.*s", (int)strcspn(addr + 7, " \t"), addr + 7);
	json_decref(j);
	free(s);
	return true;
}

static void
check_spec(struct doctor *d)
{
	static const char *const dirs[] = { "/etc/docker/plugins", "/usr/lib/docker/plugins" };
	static const char *const exts[] = { "spec", "json" };
	const char *drv = d->cli->cfg.plugin_driver, *sock = d->cli->cfg.plugin_socket;
	char path[PATH_MAX], named[PATH_MAX], fix[2048];

	snprintf(path, sizeof(path), "/run/docker/plugins/%s.sock", drv);
	if (strcmp(path, sock) == 0) {
		doctor_add(d, DOCTOR_OK, "docker-spec", NULL, "Docker finds driver %s "
		    "by its socket's name, %s", doctor_esc(drv), doctor_esc(sock));
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		for (size_t k = 0; k < ARRAY_SIZE(exts); k++) {
			snprintf(path, sizeof(path), "%s/%s.%s", dirs[i], drv, exts[k]);
			if (access(path, F_OK) < 0)
				continue;
			snprintf(fix, sizeof(fix), "echo unix://%s > %s",
			    doctor_esc(sock), doctor_esc(path));
			if (!spec_socket(path, named, sizeof(named)))
				doctor_add(d, DOCTOR_FAIL, "docker-spec", fix, "cannot "
				    "read Docker's plugin spec %s", doctor_esc(path));
			else if (strcmp(named, sock) != 0)
				doctor_add(d, DOCTOR_FAIL, "docker-spec", fix, "%s names "
				    "socket '%s', not plugin.socket %s: Docker would not "
				    "reach cephvold", doctor_esc(path), doctor_esc(named),
				    doctor_esc(sock));
			else
				doctor_add(d, DOCTOR_OK, "docker-spec", NULL, "%s names "
				    "%s", doctor_esc(path), doctor_esc(sock));
			return;
		}
	}
	snprintf(fix, sizeof(fix), "echo unix://%s > /etc/docker/plugins/%s.spec "
	    "(make install writes it)", doctor_esc(sock), doctor_esc(drv));
	doctor_add(d, DOCTOR_WARN, "docker-spec", fix, "no plugin spec for driver "
	    "%s in /etc/docker/plugins or /usr/lib/docker/plugins: Docker cannot "
	    "find the driver (cephvol volume mount works without it)",
	    doctor_esc(drv));
}

void
doctor_check_docker(struct doctor *d)
{
	const char *drv = d->cli->cfg.plugin_driver;
	char filter[512], out[4096], path[PATH_MAX];
	unsigned t = d->timeout + 5;
	int r;

	check_spec(d);
	if (!which("docker", path, sizeof(path))) {
		doctor_add(d, DOCTOR_WARN, "docker", "install Docker if this host runs "
		    "containers (apt-get install docker.io)", "docker is not in $PATH: "
		    "cannot ask dockerd about driver %s", doctor_esc(drv));
		return;
	}
	snprintf(filter, sizeof(filter), "driver=%s", drv);
	char *argv[] = { "docker", "volume", "ls", "-q", "--filter", filter, NULL };
	unsigned n = 0;
	r = run_capture(argv, out, sizeof(out), t);
	/* one name a line (run_capture cut the last newline) */
	for (char *p = out; r == 0 && *p; p++)
		n += *p == '\n' || p[1] == '\0';
	out[strcspn(out, "\n")] = '\0';
	if (r == -ETIMEDOUT) {
		doctor_add(d, DOCTOR_FAIL, "docker", "systemctl status docker; "
		    "journalctl -u docker", "docker volume ls did not answer within "
		    "%u s", t);
	} else if (r < 0) {
		doctor_add(d, DOCTOR_WARN, "docker", "check the docker CLI", "cannot "
		    "run docker: %s", strerror(-r));
	} else if (r != 0 && (strstr(out, "Cannot connect to the Docker daemon") ||
	    strstr(out, "Is the docker daemon running"))) {
		doctor_add(d, DOCTOR_WARN, "docker", "systemctl start docker (or set "
		    "DOCKER_HOST)", "dockerd is not reachable: %s", doctor_esc(out));
	} else if (r != 0) {
		doctor_add(d, DOCTOR_FAIL, "docker", "check that cephvold runs and "
		    "that Docker finds its spec (the lines above)", "docker volume ls "
		    "--filter %s failed (exit %d): %s", doctor_esc(filter), r,
		    doctor_esc(out));
	} else {
		doctor_add(d, DOCTOR_OK, "docker", NULL, "dockerd lists %u volume(s) "
		    "of driver %s", n, doctor_esc(drv));
	}
}
