/*
 * ready.c - the readiness line of cephvol-mount (see ready.h). The fd is
 * set once while parsing arguments, before any thread starts, and reported
 * from the main thread only, so no lock.
 *
 * A reader that is gone turns "ok" into a stop: kill(getpid(), SIGTERM),
 * not raise(), which would aim at this thread, where SIGTERM is blocked;
 * the process-wide signal goes to the thread that waits for it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "fuse/ready.h"
#include "host/helperproto.h"

static int ready_fd = -1;

void
ready_set_fd(int fd)
{
	ready_fd = fd;
}

int
ready_report_ok(void)
{
	static const char line[] = HELPER_READY_OK "\n";
	ssize_t k;
	int r = 0;

	if (ready_fd < 0)
		return 0;
	do
		k = write(ready_fd, line, sizeof(line) - 1);
	while (k < 0 && errno == EINTR);
	if (k != (ssize_t)sizeof(line) - 1) {
		r = k < 0 ? -errno : -EIO;
		log_err("cannot say we are ready on fd %d: %s: whoever started us "
		    "gave up waiting or died, so nobody knows of this mount; "
		    "stopping", ready_fd, r == -EPIPE ? "nobody reads it any more" :
		    strerror(-r));
		kill(getpid(), SIGTERM);
	}
	close(ready_fd);
	ready_fd = -1;
	return r;
}

void
ready_report_error(const char *msg)
{
	if (ready_fd < 0)
		return;
	dprintf(ready_fd, HELPER_READY_ERROR "%s\n", msg);
	close(ready_fd);
	ready_fd = -1;
}
