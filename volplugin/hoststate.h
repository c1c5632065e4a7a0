/*
 * volplugin/hoststate.h - the volumes this host serves to Docker, a whole
 * step at a time. A Mount references the volume's mount here, once the
 * cluster agrees it is still the volume of that name and this host's
 * cephvol-mount still holds its lease, or attaches the volume (the host
 * mount pipeline, struct attach_ops) and references that; an Unmount drops
 * a reference and detaches the volume with the last one. The mount table
 * (mounts.h) records each change as it is made, so a restart finds every
 * volume that may have something attached.
 *
 * Each step runs as a request's job (job.h: its phase, whether its caller
 * gave up; job may be NULL) and logs its own failures as the job's
 * (job_warn), except that a volume missing from the catalogue is no
 * failure of this host's. The jobs of one volume run one at a time;
 * different volumes run in parallel.
 */
#ifndef CEPHVOL_VOLPLUGIN_HOSTSTATE_H
#define CEPHVOL_VOLPLUGIN_HOSTSTATE_H

#include <stdbool.h>
#include <stddef.h>

struct attach_ctx;
struct attach_ops;
struct cluster;
struct config;
struct hoststate;
struct job;
struct jobs;
struct mounts;
struct mounts_owner;

/* Every argument is borrowed and must outlive *out, which is new:
 * hoststate_free(). */
int	hoststate_new(const struct config *cfg, struct mounts *mt,
	    struct cluster *cl, const struct attach_ops *ops,
	    const struct attach_ctx *actx, struct hoststate **out);
void	hoststate_free(struct hoststate *hs);

/*
 * At start-up, before serving: compare every entry of the mount table with
 * what is really there (ops->status: /proc/self/mountinfo, the
 * cephvol-mount process; both quick, never blocking on a mount) and log
 * each repair:
 *   references, mounted, helper alive -> kept as is
 *   references, but not mounted or helper dead -> references dropped
 *   no references (a crash while attaching/detaching) -> left idle
 * Entries left without references are "idle": hoststate_detach_idle()
 * detaches them in the background, so a hung mount cannot delay serving.
 * Mounts under the mount root that no entry names are logged. Returns the
 * number of entries repaired.
 */
unsigned hoststate_reconcile(struct hoststate *hs);
/* Detach every idle entry, each as a job of jobs that nobody waits for. */
void	hoststate_detach_idle(struct hoststate *hs, struct jobs *jobs);

/*
 * Is name mounted here and served, right now (its mount is there and its
 * cephvol-mount alive: a reference alone is not enough, the helper may
 * have died since)? Its mountpoint into mp; *refs its references (also
 * when it is not served).
 */
bool	hoststate_served(struct hoststate *hs, const char *name, char *mp,
	    size_t mplen, unsigned *refs);

/*
 * Docker's Mount of name for mount ID id by owner: reference the mount
 * here, or repair a stale one, or attach it; its mountpoint into mp. 0, or
 * -errno with the Err in err (-ECANCELED: the caller gave up, and whatever
 * the step made is undone).
 */
int	hoststate_mount(struct hoststate *hs, const char *name, const char *id,
	    const struct mounts_owner *owner, struct job *job, char *mp,
	    size_t mplen, char *err, size_t errlen);
/* Docker's Unmount: one reference fewer; the last one detaches. An ID
 * that holds no reference is no error. 0, or -errno with the Err in err. */
int	hoststate_unmount(struct hoststate *hs, const char *name, const char *id,
	    struct job *job, char *err, size_t errlen);
/* Before name is removed from the cluster: -EBUSY while it has references
 * here; an idle entry is detached first. 0, or -errno with the Err. */
int	hoststate_release(struct hoststate *hs, const char *name, struct job *job,
	    char *err, size_t errlen);
/* After name was removed: its mountpoint directory goes too. */
void	hoststate_removed(struct hoststate *hs, const char *name);

#endif
