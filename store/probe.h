/*
 * store/probe.h - what this client may do in the pool, found by doing it:
 * each kind of operation cephvol relies on, tried once on a probe object
 * of our own with a name no other process uses, which is removed again;
 * and the clock of the OSD that serves it, read back from a lock's expiry
 * (`cephvol doctor`).
 *
 * A cap the client lacks shows as -EPERM (or -EACCES) from the operation
 * that needs it; a cluster that does not answer as -ETIMEDOUT, once the
 * store was connected with STORE_OSD_TIMEOUT.
 */
#ifndef CEPHVOL_STORE_PROBE_H
#define CEPHVOL_STORE_PROBE_H

#include <stdbool.h>
#include <stdint.h>

struct store;

/* The operations tried, in this order; a later one is skipped (result
 * PROBE_SKIPPED) when the object could not be written. */
enum probe_op {
	PROBE_WRITE,	/* write_full of a few bytes (osd w) */
	PROBE_READ,	/* read them back (osd r) */
	PROBE_OMAP,	/* set and read one omap key (the catalogue, headers) */
	PROBE_LOCK,	/* cls_lock: an exclusive lock, its record, unlock (osd x) */
	PROBE_WATCH,	/* watch and unwatch (snapshots, resize, secrets) */
	PROBE_NOTIFY,	/* notify with nobody watching */
	PROBE_REMOVE,	/* remove the object */
	PROBE_N
};

#define PROBE_SKIPPED	1

struct probe_report {
	char	oid[160];		/* the probe object's name */
	int	result[PROBE_N];	/* 0, -errno, or PROBE_SKIPPED */
	/* The OSD's wall clock minus ours, from the expiry the OSD gave the
	 * probe's lock (its now plus the duration asked for), against the
	 * middle of our request; give or take half the round trip. */
	bool	clock_known;
	double	skew_s;			/* > 0: the OSD's clock is ahead */
	double	uncertainty_s;
};

/* The name of each operation ("write", "omap", ...). */
const char	*probe_op_name(enum probe_op op);
/* Try every operation; fills *out. 0 when the report is complete (each
 * result says how its operation went), -errno only when none was tried. */
int	probe_run(struct store *st, struct probe_report *out);

#endif
