/*
 * store/fsck.h - find and repair what an interrupted change left in the
 * pool (see the ordering in store/catalog.c).
 *
 * What it looks for:
 *   creating        a create stopped before it finished: finished when the
 *                   header exists, dropped when it does not
 *   removing        a remove stopped half way: data, header, entry removed
 *   orphan-header   a header no catalogue entry names: removed with its data
 *   orphan-data     data objects of an id with no header and no entry: removed
 *   missing-header  a ready entry whose header is gone: reported, never
 *                   repaired (its data is kept for a human to look at)
 *   bad-entry, bad-header, mismatch   unreadable or inconsistent metadata:
 *                   reported only
 *   snapshot-removing, rollback-unfinished, snapshots-damaged,
 *   clone-name-stale, parent-missing   a volume's snapshots and what it was
 *                   made from (store/fsck_snapshot.c)
 * Objects are listed before the catalogue is read, and every repair is
 * re-checked against the catalogue just before it is done, so fsck may run
 * while volumes are created and removed. Changes younger than `grace`
 * seconds are taken to be in progress and left alone.
 */
#ifndef CEPHVOL_STORE_FSCK_H
#define CEPHVOL_STORE_FSCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/catalog.h"

struct store;

struct fsck_finding {
	const char	*kind;			/* see above */
	char		 volume[NAME_MAX_LEN + 1];	/* "" when unknown */
	char		 id[VOLUME_ID_LEN + 1];		/* "" when unknown */
	char		 what[512];		/* one sentence for a human */
	bool		 repairable;
	int		 repaired;		/* 0 not tried, 1 done, -errno failed */
};

struct fsck_result {
	unsigned	 volumes;		/* catalogue entries seen */
	uint64_t	 objects;		/* objects listed in the pool */
	unsigned	 found;			/* findings */
	unsigned	 repaired;
	unsigned	 in_progress;		/* younger than grace, left alone */
};

/*
 * Check the pool; with repair, fix what is repairable. report(arg, f) is
 * called once per finding after any repair of it (f is borrowed).
 * Returns 0 when the check ran (look at *res), or -errno when it could not.
 */
int	fsck_run(struct store *st, bool repair, unsigned grace,
	    void (*report)(void *arg, const struct fsck_finding *f), void *arg,
	    struct fsck_result *res);

/* ---- for store/fsck.c ---- */

/* The snapshot and clone checks of ready volume m (store/fsck_snapshot.c);
 * emit(arg, f) once per finding, after any repair. */
void	fsck_snapshots(struct store *st, bool repair, const struct volume_meta *m,
	    void (*emit)(void *arg, struct fsck_finding *f), void *arg);

#endif
