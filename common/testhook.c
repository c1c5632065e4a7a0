/*
 * testhook.c - crash and wait points for tests (common/testhook.h).
 *
 * A point reads the environment each time it is passed, so a test sets it
 * per command. Without CEPHVOL_CRASH_AT and CEPHVOL_WAIT_AT a point costs
 * two getenv() calls and does nothing. No state, no locking.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/testhook.h"

void
testhook_point(const char *step)
{
	const char *at = getenv("CEPHVOL_CRASH_AT");
	const char *wait_at = getenv("CEPHVOL_WAIT_AT");
	const char *wait_file = getenv("CEPHVOL_WAIT_FILE");

	/* Tests line racers up: say "ready" (FILE.ready.PID), then wait (30 s
	 * at most) for FILE to appear. */
	if (wait_at && wait_file && strcmp(wait_at, step) == 0) {
		char ready[4096];
		snprintf(ready, sizeof(ready), "%s.ready.%d", wait_file, (int)getpid());
		int fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		for (int i = 0; i < 30000 && access(wait_file, F_OK) < 0; i++)
			usleep(1000);
	}

	if (at && strcmp(at, step) == 0) {
		fprintf(stderr, "cephvol: crash injected at %s\n", step);
		_exit(99);
	}
}
