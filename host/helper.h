/*
 * host/helper.h - cephvol-mount as the host mount pipeline runs it: started
 * detached from its caller, waited for until it says it is ready, told
 * apart from a reused pid, found again from its pid file after a restart,
 * and waited for (and, if it must be, killed) when it should be gone. The
 * command line, readiness line and pid file are host/helperproto.h's.
 */
#ifndef CEPHVOL_HOST_HELPER_H
#define CEPHVOL_HOST_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How to start one cephvol-mount. Every string is borrowed. */
struct helper_cmd {
	const char	*program;	/* path, or a bare name looked up in $PATH */
	const char	*config_path;	/* passed as -c, may be NULL */
	char *const	*overrides;	/* passed as -o each */
	size_t		 n_overrides;
	bool		 secrets;	/* serve the secrets tree on dir */
	const char	*volume;
	const char	*dir;		/* its FUSE directory, or the mountpoint */
	const char	*pidfile;
	const char	*logfile;	/* its stdout and stderr, appended to */
	unsigned	 timeout_s;	/* to get ready */
};

/*
 * The cephvol-mount to run, into buf: $CEPHVOL_MOUNT_HELPER, else the one
 * beside the running program (a build tree, or the installed sbin), else
 * the first in $PATH, else the bare name (looked up again at exec).
 */
void	helper_find(char *buf, size_t len);

/*
 * Start cmd in its own session, so it outlives the caller, and read its
 * readiness line (at most timeout_s). *pid is the helper's pid when known,
 * also on failure, so that the caller can stop it. On failure -errno and
 * the helper's own sentence (or ours) in err: -EBUSY when another client
 * holds the volume, -ENOENT when it does not exist, -ETIMEDOUT when it was
 * not ready in time, -EIO otherwise.
 */
int	helper_start(const struct helper_cmd *cmd, pid_t *pid, char *err,
	    size_t errlen);
/* Is pid a live cephvol-mount serving volume? (not a zombie, not a reused
 * pid) */
bool	helper_alive(pid_t pid, const char *volume);
/* Wait until pid (serving volume) is gone: SIGTERM after grace_s, SIGKILL
 * 5 s later; false if it is still there 10 s after grace_s. */
bool	helper_wait_gone(pid_t pid, const char *volume, unsigned grace_s);
/* The pid in the pid file at path (0 if none), and its cookie into cookie
 * ("" if it wrote none yet); cookie may be NULL. */
pid_t	helper_pidfile_read(const char *path, char *cookie, size_t len);
/* Does pid serve on mountpoint (its last argument: mountpoint, or real,
 * mountpoint resolved)? Then the volume (the argument before) into
 * volume. For a secrets helper, whose mountpoint is its own. */
bool	helper_serves(pid_t pid, const char *mountpoint, const char *real,
	    char *volume, size_t len);

#endif
