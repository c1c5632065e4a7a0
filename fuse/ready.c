/*
 * ready.c - the readiness line of cephvol-mount (see ready.h). The fd is
 * set once while parsing arguments, before any thread starts, and reported
 * from the main thread only, so no lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "fuse/ready.h"

static int ready_fd = -1;

void
ready_set_fd(int fd)
{
	ready_fd = fd;
}

void
ready_report_ok(void)
{
	if (ready_fd < 0)
		return;
	if (write(ready_fd, "ok\n", 3) != 3)
		log_warn("cannot write to the ready fd: %s", strerror(errno));
	close(ready_fd);
	ready_fd = -1;
}

void
ready_report_error(const char *msg)
{
	if (ready_fd < 0)
		return;
	dprintf(ready_fd, "error: %s\n", msg);
	close(ready_fd);
	ready_fd = -1;
}
