/*
 * store/backup.h - a block volume's snapshots as backup streams, and back:
 * full and incremental export, import into a new volume, import of an
 * incremental on top of a volume. The streams are Ceph's own
 * (store/backup_stream.h), so `rbd import`/`rbd import-diff` restore them
 * into RBD images and `rbd export`/`rbd export-diff` streams import here.
 *
 * Export reads a snapshot, which never changes: no lease, the volume may be
 * mounted and written anywhere. An incremental reads only the objects that
 * changed between its two snapshots (image_changed_objects: a stat of each
 * object at both, no data), so its cost follows what changed, not the
 * volume's size. Holes are zero records, never data: a full export skips
 * them, an incremental writes a zero record where data went away. The end
 * record is written only after the snapshots are found still recorded (not
 * being removed): a stream without it is refused by every reader.
 *
 * Import works under the volume's lease (unmounted everywhere): into a new
 * volume, removed again if the import fails; or, for an incremental, on top
 * of a volume whose newest snapshot is the stream's starting one and which
 * was not written since (checked object by object), rolled back to that
 * snapshot if the import fails. The stream's end snapshot is created, as
 * `rbd import-diff` does, so a chain s1 -> s2 -> s3 applies in order.
 * Every call returns 0 or -errno with a sentence in err.
 */
#ifndef CEPHVOL_STORE_BACKUP_H
#define CEPHVOL_STORE_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <signal.h>

#include <jansson.h>

#include "store/backup_stream.h"

struct config;
struct store;

/* fn (may be NULL) is called now and then (at most a few times a second
 * is the caller's business): done of total bytes of the image (export) or
 * of the stream (import; total 0 when unknown, e.g. a pipe). When *stop
 * (may be NULL) becomes nonzero (a signal handler sets it), the call ends
 * at the next record or batch with -EINTR, cleaning up as for any other
 * failure. */
struct backup_progress {
	void	(*fn)(uint64_t done, uint64_t total, void *arg);
	void	*arg;
	volatile sig_atomic_t *stop;
};

struct backup_stats {
	uint64_t	 image_bytes;	/* the image's size (at the end snapshot) */
	uint64_t	 objects;	/* object slots in it */
	uint64_t	 objects_read;	/* export: changed (or all, full) slots read */
	uint64_t	 read_bytes;	/* export: bytes asked of RADOS */
	uint64_t	 data_bytes;	/* data records, written or applied */
	uint64_t	 zero_bytes;	/* zero records, written or applied */
	uint64_t	 hole_bytes;	/* export: zeros left out of a full stream */
	uint64_t	 stream_bytes;	/* the stream's length */
	unsigned	 snapshots;	/* import: snapshots created */
	char		 last_snapshot[256];	/* import: the newest one created */
	char		 fs[8];		/* import: "ext4", "xfs" or "" (none seen) */
	double		 seconds;
};

/* Volume `volume`'s snapshot `snap` to fd, in full (from_snap NULL) or
 * as what changed since from_snap (an older snapshot; BACKUP_DIFF_V1
 * only). */
int	backup_export(struct store *st, const char *volume, const char *snap,
	    const char *from_snap, enum backup_format format, int fd,
	    const struct backup_progress *progress, struct backup_stats *stats,
	    char *err, size_t errlen);

/* A full stream (rbd image v2, or rbd diff v1 from nothing) from fd into
 * a new volume `name`; opts as `volume create -o` (size at least the
 * stream's; fs is taken from the data when it holds ext4 or xfs). */
int	backup_import(struct store *st, const struct config *cfg, int fd,
	    const char *name, json_t *opts, const struct backup_progress *progress,
	    struct backup_stats *stats, char *err, size_t errlen);

/* An incremental stream (rbd diff v1 with a starting snapshot) from fd on
 * top of volume `name`. */
int	backup_import_diff(struct store *st, const struct config *cfg, int fd,
	    const char *name, const struct backup_progress *progress,
	    struct backup_stats *stats, char *err, size_t errlen);

#endif
