/*
 * common/run.h - run a program, bounded in time, and capture its output.
 */
#ifndef CEPHVOL_RUN_H
#define CEPHVOL_RUN_H

#include <stddef.h>

/*
 * Run argv (argv[0] looked up in $PATH) with stdin from /dev/null; its
 * stdout and stderr into out (NUL-terminated, trailing blanks and newlines
 * cut, truncated to outlen). Returns its exit status (0..255), 128 +
 * the signal that ended it, -ETIMEDOUT when it did not end within
 * timeout_s (it is killed), or -errno when it could not be started.
 */
int	run_capture(char *const argv[], char *out, size_t outlen,
	    unsigned timeout_s);

#endif
