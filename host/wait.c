/*
 * wait.c - pauses and deadlines for the host mount pipeline (host/wait.h).
 * No state.
 */
#include <errno.h>
#include <time.h>

#include "common/util.h"
#include "host/wait.h"

void
wait_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

uint64_t
wait_deadline(unsigned s)
{
	return now_ns() + (uint64_t)s * 1000000000ull;
}

int64_t
wait_left_ms(uint64_t deadline)
{
	return (int64_t)(deadline - now_ns()) / 1000000;
}
