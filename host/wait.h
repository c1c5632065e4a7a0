/*
 * host/wait.h - pauses and deadlines for the steps of the host mount
 * pipeline that poll the kernel or a process (a loop device going away, a
 * busy unmount, cephvol-mount's readiness line or exit). Deadlines are on
 * the monotonic clock of now_ns().
 */
#ifndef CEPHVOL_HOST_WAIT_H
#define CEPHVOL_HOST_WAIT_H

#include <stdint.h>

/* Sleep ms milliseconds (again after a signal). */
void	wait_ms(unsigned ms);
/* The deadline s seconds from now. */
uint64_t wait_deadline(unsigned s);
/* Milliseconds left until deadline; 0 or less once it has passed. */
int64_t	wait_left_ms(uint64_t deadline);

#endif
