/*
 * volplugin/mounts.h - which Docker mounts hold which volume on this host.
 *
 * A reference is a (volume, mount ID) pair with a count; a volume with an
 * entry is attached here (or being attached / detached). The table is saved
 * to STATE_DIR/mounts.json atomically after every change, so a restarted
 * cephvold knows every reference Docker still holds. All functions lock the
 * table themselves; none blocks on a mount.
 */
#ifndef CEPHVOL_VOLPLUGIN_MOUNTS_H
#define CEPHVOL_VOLPLUGIN_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mounts;
struct volume_meta;

#define MOUNTS_FILE	"mounts.json"

/* Load STATE_DIR/mounts.json (none yet = empty table). *out is new:
 * mounts_close(). A damaged file is an error (it is left for a human). */
int	mounts_open(const char *state_dir, struct mounts **out, char *err,
	    size_t errlen);
void	mounts_close(struct mounts *mt);

/* Total references to name (0 if it has no entry). */
unsigned mounts_refs(struct mounts *mt, const char *name);
/* True if name has an entry (attached, or half way). */
bool	mounts_has(struct mounts *mt, const char *name);
/* The entry's metadata (copy into *out, new) and mountpoint (into buf). */
int	mounts_get(struct mounts *mt, const char *name, struct volume_meta *out,
	    char *mountpoint, size_t mplen);

/* Record that name is being attached at mountpoint (no references yet),
 * before it is, so that a crash half way is found at the next start. */
int	mounts_begin(struct mounts *mt, const struct volume_meta *m,
	    const char *mountpoint);
/* The cephvol-mount serving name (for the gauge of live helpers; saved). */
int	mounts_set_helper(struct mounts *mt, const char *name, pid_t pid);
/*
 * Who takes a reference: the dockerd process on the other end of the
 * socket (its pid and start time, so a reused pid is not mistaken for it),
 * or { 0, 0 } when unknown.
 */
struct mounts_owner {
	pid_t		pid;
	uint64_t	start;		/* /proc/PID/stat field 22, clock ticks */
};
/* The owner identity of process pid ({0, 0} if it cannot be read). */
struct mounts_owner mounts_owner_of(pid_t pid);
/*
 * One more reference (name, id), for owner. Docker counts its own Mounts
 * of one mount ID (docker cp on a running container mounts it again, and
 * unmounts as often), but a dockerd that restarts forgets its count and
 * mounts every running container's ID once more, to unmount it once:
 * so a Mount of an ID whose reference was taken by a dockerd that is gone,
 * from another one, takes that reference over instead of adding one.
 * Returns 0 (added), 1 (taken over) or -errno; -ENOENT if name has no
 * entry.
 */
int	mounts_ref(struct mounts *mt, const char *name, const char *id,
	    const struct mounts_owner *owner);
/* One reference fewer; *left is the volume's total afterwards.
 * -ENOENT (nothing changed) if (name, id) holds no reference. */
int	mounts_unref(struct mounts *mt, const char *name, const char *id,
	    unsigned *left);
/* Drop name's entry with all its references. */
int	mounts_forget(struct mounts *mt, const char *name);

/* Volumes with at least one reference; live helpers recorded. */
unsigned mounts_count(struct mounts *mt);
unsigned mounts_helpers_alive(struct mounts *mt);

/* Drop every reference of name (a repair: its mount is gone). */
int	mounts_drop_refs(struct mounts *mt, const char *name);
/* Names of the entries, or of those without references only (idle): a new
 * array of new strings. */
int	mounts_names(struct mounts *mt, bool idle, char ***names, size_t *n);

#endif
