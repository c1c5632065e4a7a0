/*
 * fuse/imagefs_control.h - what the block volume server does when it is
 * asked through the cluster (store/volctl.h), as the holder of the lease:
 *
 *	{"op": "snapshot", "name": SNAP}
 *		a consistent snapshot: freeze the filesystem mounted over the
 *		image (host/freeze.h), if any; flush the image; record the
 *		snapshot (store/snapshot.h); make every later write carry it;
 *		thaw. Answer {"ok": true, "id", "froze", "frozen_ms"} or
 *		{"err": "..."}.
 *	{"op": "limits"}
 *		the header's I/O limits changed: apply them (fuse/qos.h).
 *	{"op": "resize"}
 *		the header says the volume is bigger now: grow the image and
 *		the file, tell the loop device, grow the filesystem mounted over
 *		it online (resize2fs, xfs_growfs). Answer {"ok": true, "size",
 *		"grown": true when a filesystem was grown}.
 *
 * Nothing half made: the snapshot id is given back when anything fails, and
 * nothing is committed past the request's deadline (the asker has gone).
 */
#ifndef CEPHVOL_FUSE_IMAGEFS_CONTROL_H
#define CEPHVOL_FUSE_IMAGEFS_CONTROL_H

#include <limits.h>

struct image;
struct imagefs;
struct imagefs_control;
struct lease;
struct store;

struct imagefs_control_target {
	struct store	*st;
	struct lease	*ls;
	struct image	*img;
	struct imagefs	*fs;
	const char	*volume;
	const char	*id;			/* volume id, hex */
	char		 image_file[PATH_MAX];	/* absolute, no symlinks */
};

/* *t is copied. *out new. 0 or -errno. */
int	imagefs_control_start(const struct imagefs_control_target *t,
	    struct imagefs_control **out);
/* After it returns no request is being served. */
void	imagefs_control_stop(struct imagefs_control *c);

#endif
