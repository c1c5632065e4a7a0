/*
 * loop.c - loop devices of the host mount pipeline (host/loop.h).
 *
 * A device is taken with LOOP_CTL_GET_FREE + LOOP_CONFIGURE in one ioctl
 * (file, direct I/O, autoclear, block size), retried when another process
 * configures the same free device first (EBUSY) or udev has not made its
 * node yet. Direct I/O matters: a buffered loop would keep written pages in
 * the host's page cache, acknowledged to the filesystem before they reach
 * cephvol-mount. Devices are found again by their backing file in
 * /sys/block/loopN/loop/backing_file, so nothing about them is kept. No
 * state, no locks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "host/loop.h"

int
loop_attach(const char *file, bool readonly, char *dev, size_t devlen, int *fd,
    bool *direct, char *err, size_t errlen)
{
	int ctl, ffd, lfd = -1, r = 0;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open /dev/loop-control: %s", strerror(errno));
		return r;
	}
	ffd = open(file, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_DIRECT);
	if (ffd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open %s: %s", file, strerror(errno));
		close(ctl);
		return r;
	}
	for (int tries = 0; tries < 20; tries++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "no free loop device: %s", strerror(errno));
			break;
		}
		snprintf(dev, devlen, "/dev/loop%d", n);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot open %s: %s", dev, strerror(errno));
			if (errno == ENOENT || errno == ENXIO) {
				wait_ms(10);
				continue;
			}
			break;
		}
		struct loop_config lc;
		memset(&lc, 0, sizeof(lc));
		lc.fd = (unsigned)ffd;
		lc.block_size = 4096;
		lc.info.lo_flags = LO_FLAGS_DIRECT_IO | LO_FLAGS_AUTOCLEAR |
		    (readonly ? LO_FLAGS_READ_ONLY : 0);
		snprintf((char *)lc.info.lo_file_name, sizeof(lc.info.lo_file_name), "%s", file);
		if (ioctl(lfd, LOOP_CONFIGURE, &lc) == 0) {
			r = 0;
			break;
		}
		r = -errno;
		snprintf(err, errlen, "cannot attach %s to %s: %s", file, dev, strerror(errno));
		close(lfd);
		lfd = -1;
		if (r != -EBUSY)	/* EBUSY: someone took it first */
			break;
	}
	close(ffd);
	close(ctl);
	if (r == 0 && lfd < 0)
		r = -EBUSY;
	if (r < 0)
		return r;
	/* Direct I/O must have stuck: a buffered loop would cache writes. */
	struct loop_info64 li;
	*direct = ioctl(lfd, LOOP_GET_STATUS64, &li) == 0 &&
	    (li.lo_flags & LO_FLAGS_DIRECT_IO);
	if (!*direct)
		log_warn("%s on %s: direct I/O is off", dev, file);
	*fd = lfd;
	return 0;
}

void
loop_detach(int fd)
{
	ioctl(fd, LOOP_CLR_FD);
	close(fd);
}

int
loop_detach_file(const char *file, unsigned wait_s)
{
	uint64_t dl = wait_deadline(wait_s);
	size_t flen = strlen(file);
	int left;

	for (;;) {
		DIR *d = opendir("/sys/block");
		struct dirent *de;

		left = 0;
		while (d && (de = readdir(d)) != NULL) {
			char path[PATH_MAX], back[PATH_MAX];
			if (strncmp(de->d_name, "loop", 4) != 0 ||
			    !loop_backing_file(de->d_name, back, sizeof(back)))
				continue;
			/* "(deleted)" may follow a path whose file went away */
			if (strncmp(back, file, flen) != 0 ||
			    (back[flen] != ' ' && back[flen] != '\0'))
				continue;
			left++;
			snprintf(path, sizeof(path), "/dev/%s", de->d_name);
			int fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd >= 0) {
				if (ioctl(fd, LOOP_CLR_FD) < 0 && errno != ENXIO)
					log_debug("LOOP_CLR_FD %s: %s", path, strerror(errno));
				close(fd);
			}
		}
		if (d)
			closedir(d);
		if (left == 0 || now_ns() >= dl)
			return left;
		wait_ms(20);
	}
}

int
loop_set_capacity(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, LOOP_SET_CAPACITY, 0) < 0)
		r = -errno;
	close(fd);
	return r;
}

bool
loop_backing_file(const char *dev, char *buf, size_t len)
{
	char path[PATH_MAX];
	const char *base = strrchr(dev, '/');
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", base ? base + 1 : dev);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	bool ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}
