/*
 * host/helperproto.h - the contract between the host mount pipeline
 * (host/, which starts cephvol-mount and puts a loop device and a
 * filesystem on what it serves) and cephvol-mount itself (fuse/). Both
 * sides use these names and nothing else of each other.
 *
 *	cephvol-mount [HELPER_OPT_SECRETS] [-c FILE] [-o section.key=value]...
 *	    HELPER_OPT_READY_FD N HELPER_OPT_PID_FILE FILE VOLUME DIR
 *
 * Block volume: DIR is a private FUSE mount holding one file,
 * DIR/HELPER_IMAGE_FILE, the volume's bytes; the pipeline attaches a loop
 * device to it. Secrets volume (HELPER_OPT_SECRETS): DIR is the mountpoint
 * of the read-only tree itself.
 *
 * Readiness: exactly one line on fd N, HELPER_READY_OK once serving, or
 * HELPER_READY_ERROR followed by one sentence (e.g. "volume pgdata is in
 * use by ..."), then the fd is closed. The caller never sleeps; it reads
 * that line with a time limit.
 *
 * Pid file, written once serving and removed at exit:
 *	PID\n
 *	HELPER_PIDFILE_COOKIE COOKIE\n	(its lease or mount registration
 *					 cookie, so that the host can check
 *					 against the cluster that this mount
 *					 still holds the volume)
 */
#ifndef CEPHVOL_HOST_HELPERPROTO_H
#define CEPHVOL_HOST_HELPERPROTO_H

#define HELPER_PROGRAM		"cephvol-mount"
#define HELPER_IMAGE_FILE	"image"
#define HELPER_OPT_SECRETS	"--secrets"
#define HELPER_OPT_READY_FD	"--ready-fd"
#define HELPER_OPT_PID_FILE	"--pid-file"
#define HELPER_READY_OK		"ok"
#define HELPER_READY_ERROR	"error: "
#define HELPER_PIDFILE_COOKIE	"cookie="
/*
 * Words the pipeline looks for in the sentence of a HELPER_READY_ERROR
 * line, to tell why the helper did not start: another client holds the
 * volume's lease (store/lease.c's sentence; cephvold counts these apart),
 * or the volume does not exist.
 */
#define HELPER_ERROR_BUSY	" is in use by "
#define HELPER_ERROR_NOENT	"does not exist"

#endif
