/*
 * fs.c - the filesystem on a volume's loop device (host/fs.h).
 *
 * A volume is a thin image: a byte never written costs nothing in RADOS
 * and reads as zero. So the filesystem is made only on first use (`blkid
 * -p` finds none) and with options that write nothing it does not need:
 * ext4 without discarding the whole device and with lazy inode table and
 * journal init, xfs with -K. It is mounted with online discard, so deleted
 * files give their objects back; ext4 also with noinit_itable (its inode
 * tables, never written, already read as zeros, so the background zeroing
 * would only allocate space) and nobarrier (see mount_opts).
 *
 * blkid and mkfs run with stdin from /dev/null and their output captured
 * for the error message; each is killed after the pipeline's timeout. No
 * state, no locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/log.h"
#include "common/run.h"
#include "common/util.h"
#include "host/fs.h"
#include "host/mountinfo.h"


int
fs_prepare(const char *dev, const char *volume, const char *want, bool readonly,
    unsigned timeout_s, char *fstype, size_t flen, char *err, size_t errlen)
{
	char *blkid[] = { "blkid", "-p", "-o", "value", "-s", "TYPE", (char *)dev, NULL };
	char out[2048];
	int r;

	r = run_capture(blkid, out, sizeof(out), timeout_s);
	if (r == 0 && out[0]) {
		snprintf(fstype, flen, "%s", out);
		if (strcmp(fstype, want) != 0)
			log_warn("volume=%s holds %s, not %s: mounting it as %s", volume,
			    fstype, want, fstype);
		return 0;
	}
	if (r != 2) {	/* 2: blkid found nothing */
		snprintf(err, errlen, "cannot probe volume %s for a filesystem (blkid "
		    "exit %d): %s", volume, r, out);
		return -EIO;
	}
	if (readonly) {
		snprintf(err, errlen, "volume %s is read-only and holds no "
		    "filesystem (its snapshot was taken before the volume was "
		    "first mounted)", volume);
		return -EINVAL;
	}
	snprintf(fstype, flen, "%s", want[0] ? want : "ext4");
	char *mkfs_ext4[] = { "mkfs.ext4", "-q", "-F", "-E",
	    "nodiscard,lazy_itable_init=1,lazy_journal_init=1", (char *)dev, NULL };
	char *mkfs_xfs[] = { "mkfs.xfs", "-q", "-f", "-K", (char *)dev, NULL };
	uint64_t t0 = now_ns();
	r = run_capture(strcmp(fstype, "xfs") == 0 ? mkfs_xfs : mkfs_ext4, out, sizeof(out),
	    timeout_s);
	if (r != 0) {
		snprintf(err, errlen, "mkfs.%s on volume %s failed: %s", fstype, volume,
		    r < 0 ? strerror(-r) : out);
		return -EIO;
	}
	log_info("volume=%s: made %s in %.1f s", volume, fstype,
	    (double)(now_ns() - t0) / 1e9);
	return 0;
}

/*
 * The mount options for a volume's filesystem. Online discard for both.
 * ext4 also gets noinit_itable (above) and nobarrier: the device has no
 * volatile cache, because a write the loop completes went by direct I/O
 * into cephvol-mount, which answers only once RADOS has acknowledged it;
 * so ext4 still waits for every write it depends on, and a cache flush
 * would only cost a trip through loop and FUSE for nothing (4K write +
 * fsync at qd1, 8 interleaved rounds: +8% IOPS, p50 and p99 -8 to -9%).
 * Only with direct I/O, as a precaution. A mount option and not the
 * device's write_cache attribute: that one outlives the mount and would
 * drop the flushes of whoever gets the loop device next.
 */
static const char *
mount_opts(const char *fstype, bool direct)
{
	if (strcmp(fstype, "ext4") != 0)
		return "discard,nouuid";	/* xfs: a clone has its source's UUID */
	return direct ? "discard,noinit_itable,nobarrier" : "discard,noinit_itable";
}

int
fs_mount(const char *dev, const char *fstype, bool direct, bool readonly,
    const char *mountpoint, const char *volume, char *err, size_t errlen)
{
	int r;

	/* Read-only: a snapshot taken while mounted (frozen: journal clean,
	 * but never unmounted) must not be replayed on a device that cannot
	 * be written: noload / norecovery. */
	if (readonly) {
		if (mount(dev, mountpoint, fstype, MS_RDONLY,
		    strcmp(fstype, "xfs") == 0 ? "norecovery,nouuid" : "noload") == 0)
			return 0;
	} else if (mount(dev, mountpoint, fstype, 0, mount_opts(fstype, direct)) == 0)
		return 0;
	r = -errno;
	snprintf(err, errlen, "cannot mount volume %s (%s, %s) on %s: %s", volume, dev,
	    fstype, mountpoint, strerror(-r));
	return r;
}

int
fs_grow(const char *dev, const char *fstype, const char *mountpoint,
    const char *volume, unsigned timeout_s, char *err, size_t errlen)
{
	char *ext4[] = { "resize2fs", (char *)dev, NULL };
	char *xfs[] = { "xfs_growfs", (char *)mountpoint, NULL };
	char out[2048];
	int r;

	if (strcmp(fstype, "ext4") != 0 && strcmp(fstype, "xfs") != 0) {
		snprintf(err, errlen, "cannot grow the %s filesystem of volume %s",
		    fstype, volume);
		return -EOPNOTSUPP;
	}
	r = run_capture(strcmp(fstype, "xfs") == 0 ? xfs : ext4, out, sizeof(out),
	    timeout_s);
	if (r != 0 && strstr(out, "Permission denied") != NULL) {
		/* the kernel's rule for EXT4_IOC_RESIZE_FS */
		snprintf(err, errlen, "this host may not grow a mounted ext4 "
		    "filesystem (it lacks CAP_SYS_RESOURCE); volume %s's grows at "
		    "its next mount", volume);
		return -EPERM;
	}
	if (r != 0) {
		snprintf(err, errlen, "growing the %s filesystem of volume %s failed: "
		    "%s", fstype, volume, r < 0 ? strerror(-r) : out);
		return -EIO;
	}
	return 0;
}

/* ext4's block count times its block size, from dumpe2fs -h; 0 unknown. */
static uint64_t
ext4_bytes(const char *dev, unsigned timeout_s)
{
	char *argv[] = { "dumpe2fs", "-h", (char *)dev, NULL };
	char out[8192], *p;
	unsigned long long blocks = 0, bsize = 0;

	if (run_capture(argv, out, sizeof(out), timeout_s) != 0)
		return 0;
	if ((p = strstr(out, "\nBlock count:")) != NULL)
		blocks = strtoull(p + 13, NULL, 10);
	if ((p = strstr(out, "\nBlock size:")) != NULL)
		bsize = strtoull(p + 12, NULL, 10);
	return (uint64_t)blocks * bsize;
}

int
fs_grow_unmounted(const char *dev, const char *fstype, uint64_t dev_bytes,
    const char *volume, unsigned timeout_s, char *err, size_t errlen)
{
	char *check[] = { "e2fsck", "-f", "-p", (char *)dev, NULL };
	char *grow[] = { "resize2fs", (char *)dev, NULL };
	char out[2048];
	uint64_t have;
	int r;

	if (strcmp(fstype, "ext4") != 0)
		return 0;		/* xfs grows only mounted */
	have = ext4_bytes(dev, timeout_s);
	/* resize2fs rounds down to whole blocks (and groups): a smaller gap
	 * is no resize pending */
	if (have == 0 || have + (1 << 20) > dev_bytes)
		return 0;
	/* resize2fs wants a freshly checked filesystem when not mounted */
	r = run_capture(check, out, sizeof(out), timeout_s);
	if (r != 0 && r != 1) {		/* 1: errors corrected */
		snprintf(err, errlen, "e2fsck before growing volume %s failed (exit "
		    "%d): %s", volume, r, out);
		return -EIO;
	}
	if ((r = run_capture(grow, out, sizeof(out), timeout_s)) != 0) {
		snprintf(err, errlen, "growing the ext4 filesystem of volume %s "
		    "failed: %s", volume, r < 0 ? strerror(-r) : out);
		return -EIO;
	}
	log_info("volume=%s: ext4 grown from %" PRIu64 " to %" PRIu64 " bytes "
	    "before mounting", volume, have, dev_bytes);
	return 0;
}

int
fs_unmount(const char *path, unsigned wait_s, char *err, size_t errlen)
{
	uint64_t dl = wait_deadline(wait_s);

	while (mountinfo_find(path, NULL, 0, NULL, 0)) {
		if (umount2(path, 0) == 0)
			continue;
		if (errno == EINVAL || errno == ENOENT)
			return 0;
		if (errno != EBUSY || now_ns() > dl) {
			int r = -errno;
			snprintf(err, errlen, "cannot unmount %s: %s", path, strerror(errno));
			return r;
		}
		wait_ms(50);
	}
	return 0;
}

bool
fs_unmount_lazy(const char *path)
{
	if (!mountinfo_find(path, NULL, 0, NULL, 0))
		return false;
	if (umount2(path, 0) < 0)
		umount2(path, MNT_DETACH);
	return true;
}
