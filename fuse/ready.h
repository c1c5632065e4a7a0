/*
 * fuse/ready.h - how cephvol-mount tells whoever started it that it is
 * serving, or why it is not: one line on the --ready-fd pipe
 * (HELPER_READY_OK, or HELPER_READY_ERROR and a sentence: the contract in
 * host/helperproto.h), then the pipe is closed. The host mount pipeline
 * reads it.
 *
 * The reader may be gone when "ok" is written (cephvold died, or gave up
 * waiting and will never use the mount). Then nobody knows of this mount and
 * nobody would ever unmount it, so the server must stop: ready_report_ok()
 * says so in the log, sends SIGTERM to its own process and returns the
 * error. The caller's stop on SIGTERM (unmount, flush, release the lease)
 * does the rest, so a caller must, before calling ready_report_ok():
 *  - ignore SIGPIPE (else the write kills the process with nothing undone);
 *  - block SIGTERM in every thread and have one thread take it (sigwait)
 *    and stop serving, also when the serving loop has not started yet.
 * fuse/main.c does, for every server. A caller may also use
 * the return value to skip its serving loop and exit 1.
 */
#ifndef CEPHVOL_READY_H
#define CEPHVOL_READY_H

/* The fd given with --ready-fd; -1 (the default) reports nothing. */
void	ready_set_fd(int fd);
/*
 * HELPER_READY_OK "\n", close. Only the first report of either kind is sent. 0 when
 * written (or there is no fd); -errno when it could not be (-EPIPE: the
 * reader is gone), and then SIGTERM is on its way to this process.
 */
int	ready_report_ok(void);
/* HELPER_READY_ERROR "msg\n", close (a reader that is gone changes
 * nothing: we exit). */
void	ready_report_error(const char *msg);

#endif
