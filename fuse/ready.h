/*
 * fuse/ready.h - how cephvol-mount tells whoever started it that it is
 * serving, or why it is not: one line on the --ready-fd pipe ("ok" or
 * "error: <sentence>"), then the pipe is closed. volplugin/attach.c reads it.
 */
#ifndef CEPHVOL_READY_H
#define CEPHVOL_READY_H

/* The fd given with --ready-fd; -1 (the default) reports nothing. */
void	ready_set_fd(int fd);
/* "ok\n", close. Only the first report of either kind is sent. */
void	ready_report_ok(void);
/* "error: msg\n", close. */
void	ready_report_error(const char *msg);

#endif
