/*
 * host/attach.h - the host mount pipeline, shared by cephvold and
 * `cephvol volume mount`: start cephvol-mount for a volume, wait until it
 * is ready, attach a loop device with direct I/O to its image file, make a
 * filesystem on first use, mount it; and the same in reverse. The steps
 * are host/helper.h, host/loop.h and host/fs.h; this is their order.
 *
 * cephvol-mount runs in its own session so it outlives the caller (a
 * cephvold restart must not take live mounts down). Every step is bounded
 * by timeout_s and checked; a failure half way cleans up what the earlier
 * steps made, so no loop device or FUSE mount is left behind.
 *
 * Host state (all under cfg->plugin_state_dir, nothing else is kept),
 * named by the volume's id, never its name (a 255-byte name leaves no
 * room for a suffix, and a volume created again under the same name is
 * another volume):
 *   vol/<id>/          cephvol-mount's FUSE mount; vol/<id>/image is the
 *                      file the loop device sits on (block only)
 *   vol/<id>.pid       the serving cephvol-mount's pid, and its lease (or
 *                      registration) cookie once it has one
 *   vol/<id>.log       its log (stderr), appended to
 *   vol/<id>.volume    the volume's name
 * (An older version kept fuse/<name>{,.pid,.log}: still found and cleaned.)
 * attach_status() reads these and /proc/self/mountinfo, so it works after
 * a cephvold restart. attach_unmount() also cleans up after a dead
 * cephvol-mount (stale mount, loop and FUSE mount). Callers serialise
 * calls per volume; different volumes may run in parallel.
 */
#ifndef CEPHVOL_HOST_ATTACH_H
#define CEPHVOL_HOST_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct config;
struct volume_meta;

struct attach_ctx {
	const struct config	*cfg;		/* borrowed */
	const char		*config_path;	/* passed to cephvol-mount as -c, may be NULL */
	char *const		*overrides;	/* passed as -o each, borrowed */
	size_t			 n_overrides;
	const char		*mount_helper;	/* path of cephvol-mount, or a
						 * bare name looked up in $PATH */
	unsigned		 timeout_s;	/* each step; 0: plugin.timeout */
};

struct attach_state {
	bool	mounted;	/* mountpoint is a mount (mountinfo) */
	bool	helper_alive;	/* its cephvol-mount process exists */
	pid_t	helper_pid;
	char	helper_cookie[64];	/* its lease or registration cookie,
					 * "" when it wrote none (yet) */
	char	loop_dev[64];	/* "/dev/loop3" or "" */
};

/*
 * Mount volume m at mountpoint (created if missing). On success the
 * filesystem (or, for a secrets volume, the secrets tree) is mounted there
 * and *helper_pid is the cephvol-mount serving it. On failure -errno and
 * one sentence in err, e.g. "volume pgdata is in use by client.hostb
 * (127.0.0.1:0/123) on hostb since 2026-11-26 12:01:03".
 */
int	attach_mount(const struct attach_ctx *ctx, const struct volume_meta *m,
	    const char *mountpoint, pid_t *helper_pid, char *err, size_t errlen);
/* Unmount, detach, stop cephvol-mount (it flushes and releases the lease). */
int	attach_unmount(const struct attach_ctx *ctx, const struct volume_meta *m,
	    const char *mountpoint, char *err, size_t errlen);
/*
 * Which volume is mounted at mountpoint (block: from its loop device's
 * backing file; secrets: from the live cephvol-mount serving it), into
 * volume, and its id into id ("" when the mount's state does not say, as
 * for an older version's mount). -ENOENT when none can be told.
 */
int	attach_volume_at(const struct attach_ctx *ctx, const char *mountpoint,
	    char *volume, size_t len, char *id, size_t idlen);
/* What is there now, for reconciling after a restart. */
int	attach_status(const struct attach_ctx *ctx, const struct volume_meta *m,
	    const char *mountpoint, struct attach_state *out);

/*
 * The pipeline as a struct of operations, for a caller that is tested
 * without mounting anything (cephvold's host state): attach_pipeline is
 * the real one, the functions above; a test passes its own.
 */
struct attach_ops {
	int	(*mount)(const struct attach_ctx *ctx, const struct volume_meta *m,
		    const char *mountpoint, pid_t *helper_pid, char *err, size_t errlen);
	int	(*unmount)(const struct attach_ctx *ctx, const struct volume_meta *m,
		    const char *mountpoint, char *err, size_t errlen);
	int	(*status)(const struct attach_ctx *ctx, const struct volume_meta *m,
		    const char *mountpoint, struct attach_state *out);
};
extern const struct attach_ops attach_pipeline;

#endif
