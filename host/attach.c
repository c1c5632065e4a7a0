/*
 * attach.c - the host mount pipeline (host/attach.h), shared by cephvold
 * and `cephvol volume mount`: the steps in order, each checked and undone
 * on a later failure; how each step is done is in its own file.
 *
 * Mount of a block volume:
 *  1. start cephvol-mount VOLUME FUSEDIR (FUSEDIR = <state_dir>/vol/<id>)
 *     and wait for its readiness line, at most timeout_s (helper.c);
 *  2. a loop device on FUSEDIR/HELPER_IMAGE_FILE with direct I/O and
 *     autoclear (loop.c);
 *  3. a filesystem on first use only, then mount it; a volume resized
 *     while unmounted gets its filesystem grown (ext4 before the mount,
 *     xfs after) (fs.c).
 * Our loop fd stays open until the mount holds the device, so autoclear
 * cannot detach it under us; after that the loop goes away with the mount.
 * Before step 1, what an earlier, crashed helper left (a loop device on
 * the image file, a stale FUSE mount, its pid file) is cleared; a live
 * helper serving the volume is refused.
 *
 * Unmount is the reverse and also cleans up after a dead cephvol-mount:
 * unmount the filesystem, detach any loop still on the image file,
 * unmount FUSEDIR (cephvol-mount then flushes, releases the lease and
 * exits), wait for the process (TERM, then KILL, when it does not go by
 * itself).
 *
 * A secrets volume is `cephvol-mount --secrets ... VOLUME MOUNTPOINT`
 * straight on the mountpoint: no loop, no mkfs.
 *
 * State on the host, in <state_dir>/vol/, named by the volume's id (16
 * hex digits), never by its name: a valid name can be 255 bytes, the most
 * a file name may have, so "<name>.pid" could not exist; and a volume
 * removed and created again under the same name is another volume, whose
 * state must not be mistaken for the old one's. <id>.volume holds the
 * name (for attach_volume_at), <id>.pid the serving cephvol-mount's pid
 * and lease cookie (written by it while it serves), <id>.log its log;
 * with /proc/self/mountinfo that is all, so attach_status() works after a
 * cephvold restart. State an older version left in <state_dir>/fuse/,
 * named by volume name, is still found and cleaned up. No global state,
 * no locks: callers serialise per volume.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "host/attach.h"
#include "host/fs.h"
#include "host/helper.h"
#include "host/helperproto.h"
#include "host/loop.h"
#include "host/mountinfo.h"
#include "store/catalog.h"

const struct attach_ops attach_pipeline = {
	.mount	 = attach_mount,
	.unmount = attach_unmount,
	.status	 = attach_status,
};

static unsigned
timeout_of(const struct attach_ctx *ctx)
{
	if (ctx->timeout_s)
		return ctx->timeout_s;
	if (ctx->cfg && ctx->cfg->plugin_timeout)
		return (unsigned)ctx->cfg->plugin_timeout;
	return 60;
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

/* Start cephvol-mount for m on dir, pidfile and log by id. */
static int
helper_run(const struct attach_ctx *ctx, const struct volume_meta *m, bool secrets,
    const char *dir, const char *pidfile, pid_t *pid, char *err, size_t errlen)
{
	char logpath[PATH_MAX];
	struct helper_cmd cmd = {
		.program = ctx->mount_helper,
		.config_path = ctx->config_path,
		.overrides = ctx->overrides,
		.n_overrides = ctx->n_overrides,
		.secrets = secrets,
		.volume = m->name,
		.dir = dir,
		.pidfile = pidfile,
		.logfile = logpath,
		.timeout_s = timeout_of(ctx),
	};

	state_path_new(ctx, m, ".log", logpath, sizeof(logpath));
	return helper_start(&cmd, pid, err, errlen);
}

/* Refuse a volume a live helper serves here already (pid file at path). */
static int
refuse_served(const struct volume_meta *m, const char *pidfile, char *err,
    size_t errlen)
{
	pid_t pid = helper_pidfile_read(pidfile, NULL, 0);

	if (!helper_alive(pid, m->name))
		return 0;
	snprintf(err, errlen, "volume %s is already served on this host by "
	    "cephvol-mount pid %d (unmount it first)", m->name, (int)pid);
	return -EBUSY;
}

static int
mount_block(const struct attach_ctx *ctx, const struct volume_meta *m,
    const char *mountpoint, pid_t *helper_pid, char *err, size_t errlen)
{
	char fusedir[PATH_MAX], file[PATH_MAX], pidfile[PATH_MAX];
	char dev[64], fstype[16], why[1024];
	pid_t pid = 0;
	int lfd = -1, r;
	bool direct = false;

	state_path(ctx, m, "", fusedir, sizeof(fusedir));
	state_path(ctx, m, ".pid", pidfile, sizeof(pidfile));
	snprintf(file, sizeof(file), "%s/%s", fusedir, HELPER_IMAGE_FILE);

	/* What an earlier, crashed helper left: refuse a live one, clear the rest. */
	if ((r = refuse_served(m, pidfile, err, errlen)) < 0)
		return r;
	if (loop_detach_file(file, 2) > 0) {
		snprintf(err, errlen, "a loop device still uses %s (a filesystem of "
		    "volume %s is mounted somewhere)", file, m->name);
		return -EBUSY;
	}
	if (fs_unmount_lazy(fusedir))
		log_warn("volume=%s: removing the stale fuse mount %s", m->name, fusedir);
	unlink(pidfile);
	rmdir(fusedir);		/* an older version's, named by name, or ours */
	/* From here on, by id. */
	state_path_new(ctx, m, "", fusedir, sizeof(fusedir));
	state_path_new(ctx, m, ".pid", pidfile, sizeof(pidfile));
	snprintf(file, sizeof(file), "%s/%s", fusedir, HELPER_IMAGE_FILE);
	if ((r = mkdir_p(fusedir, 0700)) < 0 && r != -EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", fusedir, strerror(-r));
		return r;
	}
	name_file_write(ctx, m);

	/* 1. cephvol-mount */
	r = helper_run(ctx, m, false, fusedir, pidfile, &pid, err, errlen);
	if (r < 0)
		goto out_stop_helper;

	/* 2. loop device */
	r = loop_attach(file, m->readonly, dev, sizeof(dev), &lfd, &direct, why,
	    sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "volume %s: %s", m->name, why);
		goto out_stop_helper;
	}

	/* 3. a filesystem, on first use only, and the mount */
	r = fs_prepare(dev, m->name, m->fs, m->readonly, timeout_of(ctx), fstype,
	    sizeof(fstype), err, errlen);
	if (r < 0)
		goto out_detach;
	/* resized while unmounted: ext4 grows before it is mounted */
	if (!m->readonly && fs_grow_unmounted(dev, fstype, m->size, m->name,
	    timeout_of(ctx), why, sizeof(why)) < 0)
		log_warn("volume=%s: %s (it keeps its old size)", m->name, why);
	if ((r = mkdir_p(mountpoint, 0755)) < 0 && r != -EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", mountpoint, strerror(-r));
		goto out_detach;
	}
	r = fs_mount(dev, fstype, direct, m->readonly, mountpoint, m->name, err,
	    errlen);
	if (r < 0)
		goto out_detach;
	/* resized while unmounted: xfs takes the new space now */
	if (!m->readonly && strcmp(fstype, "xfs") == 0 && fs_grow(dev, fstype,
	    mountpoint, m->name, timeout_of(ctx), why, sizeof(why)) < 0)
		log_warn("volume=%s: %s (it keeps its old size)", m->name, why);
	close(lfd);	/* the mount holds the loop now; autoclear on umount */
	log_info("volume=%s mounted on %s (%s %s, cephvol-mount pid %d)", m->name,
	    mountpoint, dev, fstype, (int)pid);
	*helper_pid = pid;
	return 0;

out_detach:
	loop_detach(lfd);
	loop_detach_file(file, 5);
out_stop_helper:
	fs_unmount_lazy(fusedir);
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
	char pidfile[PATH_MAX];
	pid_t pid = 0;
	int r;

	state_path(ctx, m, ".pid", pidfile, sizeof(pidfile));
	if ((r = refuse_served(m, pidfile, err, errlen)) < 0)
		return r;
	unlink(pidfile);
	state_path_new(ctx, m, ".pid", pidfile, sizeof(pidfile));
	if ((r = mkdir_p(mountpoint, 0755)) < 0 && r != -EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", mountpoint, strerror(-r));
		return r;
	}
	unlink(pidfile);
	name_file_write(ctx, m);
	r = helper_run(ctx, m, true, mountpoint, pidfile, &pid, err, errlen);
	if (r < 0) {
		fs_unmount_lazy(mountpoint);
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
	if (mountinfo_find(mountpoint, NULL, 0, NULL, 0)) {
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
	snprintf(file, sizeof(file), "%s/%s", fusedir, HELPER_IMAGE_FILE);
	pid = helper_pidfile_read(pidfile, NULL, 0);

	/* 1. the filesystem (or the secrets tree) */
	r = fs_unmount(mountpoint, tmo < 5 ? tmo : 5, err, errlen);
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
		r = fs_unmount(fusedir, tmo < 5 ? tmo : 5, err, errlen);
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
	char pidfile[PATH_MAX], src[PATH_MAX], type[64];

	memset(out, 0, sizeof(*out));
	state_path(ctx, m, ".pid", pidfile, sizeof(pidfile));
	out->mounted = mountinfo_find(mountpoint, type, sizeof(type), src, sizeof(src));
	if (out->mounted && strncmp(src, "/dev/loop", 9) == 0)
		snprintf(out->loop_dev, sizeof(out->loop_dev), "%s", src);
	pid_t pid = helper_pidfile_read(pidfile, out->helper_cookie,
	    sizeof(out->helper_cookie));
	if (helper_alive(pid, m->name)) {
		out->helper_alive = true;
		out->helper_pid = pid;
	}
	return 0;
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
	if (mountinfo_find(mountpoint, type, sizeof(type), src, sizeof(src)) &&
	    strncmp(src, "/dev/loop", 9) == 0 && loop_backing_file(src, back, sizeof(back))) {
		for (int d = 0; d < 2; d++) {
			size_t pl = strlen(dirs[d]);
			if (strncmp(back, dirs[d], pl) != 0 || back[pl] != '/')
				continue;
			char *key = back + pl + 1, *slash = strchr(key, '/');
			if (slash == NULL || strncmp(slash, "/" HELPER_IMAGE_FILE,
			    strlen(HELPER_IMAGE_FILE) + 1) != 0)
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
			if (helper_serves(helper_pidfile_read(path, NULL, 0), mountpoint,
			    real, volume, len)) {
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
