/*
 * store/snapshot.h - a block volume's snapshots: RADOS self-managed
 * snapshots of its data objects, recorded in its header.
 *
 * A snapshot is an id the monitors hand out (rados_ioctx_selfmanaged_snap_
 * create) and a record in the header (store/snapshot_record.h). Every write of the volume carries the snapshot context built from it
 * (seq, live ids newest first; store/image.h), so the OSD keeps an object's
 * old bytes on its first write after a snapshot: a snapshot costs only what
 * changes after it. The record is the truth: an id allocated but never
 * recorded (a crash in between) protects nothing, because no write ever
 * carried it.
 *
 * Who takes it: the holder of the volume's lease, which alone writes. When
 * the volume is mounted, the request reaches the holder through the cluster
 * (store/volctl.h) and the holder freezes its filesystem around the commit;
 * otherwise the caller takes the lease itself for the commit. Removing
 * marks the record "removing" first, so an interrupted removal is finished
 * by the next rm of it; rollback needs the lease (the volume
 * unmounted everywhere). Every call returns 0 or -errno with a sentence in
 * err unless stated.
 */
#ifndef CEPHVOL_STORE_SNAPSHOT_H
#define CEPHVOL_STORE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/snapshot_record.h"
#include "store/volopts.h"

struct config;
struct store;

/* ---- the holder's side ---- */

/* A new snapshot id, before the commit (it may take a monitor round trip,
 * which the holder keeps out of its freeze); snapshot_release_id() gives
 * it back if it is never recorded. */
int	snapshot_alloc_id(struct store *st, uint64_t *id);
void	snapshot_release_id(struct store *st, uint64_t id);
/* Record snapshot `name` with id on volume id_hex (the caller holds its
 * lease and has flushed): -EEXIST if the name is taken. *out is the
 * header as it now is (volume_meta_free()). */
int	snapshot_commit(struct store *st, const char *id_hex, const char *name,
	    uint64_t id, struct volume_meta *out, char *err, size_t errlen);

/* ---- anyone's side (the CLI) ---- */

struct snapshot_result {
	bool		 online;	/* taken by the holder, through the cluster */
	char		 holder[512];	/* who took it (online) */
	double		 frozen_ms;	/* how long writes were paused (online,
					 * filesystem mounted), else 0 */
	bool		 froze;		/* a filesystem was frozen */
	uint64_t	 id;
};

/* Take snapshot `name` of volume `volume`, consistent: by the lease holder
 * if it is mounted (it must answer within timeout_s), else under our own
 * lease. */
int	snapshot_create(struct store *st, const struct config *cfg,
	    const char *volume, const char *name, unsigned timeout_s,
	    struct snapshot_result *res, char *err, size_t errlen);
/* Remove snapshot `name` (or finish removing it). */
int	snapshot_remove(struct store *st, const char *volume, const char *name,
	    char *err, size_t errlen);
/* Return volume `volume` to snapshot `name` exactly (its data and its
 * size). Refused while it is mounted anywhere (-EBUSY names the holder). */
int	snapshot_rollback(struct store *st, const struct config *cfg,
	    const char *volume, const char *name, char *err, size_t errlen);

/* The bytes each of m's n snapshots holds alone (unique[i] for its i-th
 * record), for inspect: a stat of every object at every snapshot; exact
 * but for writes in the same second as a snapshot (store/snapshot_usage.c). */
int	snapshot_usage(struct store *st, const struct volume_meta *m,
	    uint64_t *unique, size_t n);

#endif
