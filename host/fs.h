/*
 * host/fs.h - the filesystem on a volume's loop device: made on first use
 * (blkid, mkfs), mounted with the options a thin RADOS image wants, and
 * unmounted (also FUSE mounts). Every call returns 0 or -errno with a
 * sentence in err unless stated; volume names the volume in messages.
 */
#ifndef CEPHVOL_HOST_FS_H
#define CEPHVOL_HOST_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The filesystem on dev into fstype: what `blkid -p` finds, or, when it
 * finds none (first use), a new one of type want ("ext4" if empty: "ext4"
 * or "xfs"), unless readonly (-EINVAL then). Each command is killed after
 * timeout_s. -EIO when blkid or mkfs fails.
 */
int	fs_prepare(const char *dev, const char *volume, const char *want,
	    bool readonly, unsigned timeout_s, char *fstype, size_t flen, char *err,
	    size_t errlen);
/* Mount dev (holding fstype) on mountpoint; direct: the loop device does
 * direct I/O (ext4 then goes without barriers); readonly: read-only,
 * without replaying a journal. */
int	fs_mount(const char *dev, const char *fstype, bool direct, bool readonly,
	    const char *mountpoint, const char *volume, char *err, size_t errlen);
/* Grow the filesystem (fstype) on dev, mounted on mountpoint, to the
 * device's size, online: resize2fs or xfs_growfs (a no-op when it is that
 * big already). -EPERM when the host may not (ext4 online needs
 * CAP_SYS_RESOURCE). */
int	fs_grow(const char *dev, const char *fstype, const char *mountpoint,
	    const char *volume, unsigned timeout_s, char *err, size_t errlen);
/* Before mounting: an ext4 smaller than its device (dev_bytes; the volume
 * was resized) is checked (e2fsck -f -p) and grown (resize2fs), which
 * needs no capability; nothing for xfs (grown once mounted) or when there
 * is nothing to grow. */
int	fs_grow_unmounted(const char *dev, const char *fstype, uint64_t dev_bytes,
	    const char *volume, unsigned timeout_s, char *err, size_t errlen);
/* Unmount whatever is mounted on path, again while it is busy, at most
 * wait_s; 0 when nothing is (left) mounted there. */
int	fs_unmount(const char *path, unsigned wait_s, char *err, size_t errlen);
/* Unmount path now if it is a mount point, lazily (MNT_DETACH) if busy;
 * for cleaning up. True if something was mounted there. */
bool	fs_unmount_lazy(const char *path);

#endif
