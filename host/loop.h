/*
 * host/loop.h - loop devices of the host mount pipeline: one attached to a
 * volume's image file with direct I/O and autoclear, found again by its
 * backing file, detached. Every call returns 0 or -errno unless stated.
 */
#ifndef CEPHVOL_HOST_LOOP_H
#define CEPHVOL_HOST_LOOP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Attach file to a free loop device ("/dev/loop3" into dev) with direct
 * I/O, autoclear and 4 KiB logical blocks (read-only when readonly). *fd is the open loop device:
 * close it only once something else holds the device (a mount), or
 * autoclear detaches it at once; loop_detach() undoes the attach. *direct
 * says whether direct I/O stuck. A sentence in err on failure.
 */
int	loop_attach(const char *file, bool readonly, char *dev, size_t devlen,
	    int *fd, bool *direct, char *err, size_t errlen);
/* Detach the loop device open as fd, and close fd. */
void	loop_detach(int fd);
/* Detach every loop device whose backing file is file; wait until they
 * are gone, at most wait_s. Returns the number still attached. */
int	loop_detach_file(const char *file, unsigned wait_s);
/* Loop device dev learns its backing file's size again (it grew). */
int	loop_set_capacity(const char *dev);
/* The backing file of loop device dev ("/dev/loop3" or "loop3") into buf. */
bool	loop_backing_file(const char *dev, char *buf, size_t len);

#endif
