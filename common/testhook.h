/*
 * common/testhook.h - named points where a test may stop or line up a
 * process, driven by the environment and inert without it.
 *
 *   CEPHVOL_CRASH_AT=STEP    at point STEP the process says "cephvol: crash
 *                            injected at STEP" on stderr and _exit(99)s
 *   CEPHVOL_WAIT_AT=STEP     at point STEP the process first creates
 *   CEPHVOL_WAIT_FILE=FILE   FILE.ready.PID, then waits (30 s at most) until
 *                            FILE exists, so a test can start racers together
 *
 * The steps are named where the points are: store/catalog.c ("create.begin",
 * "create.entry", "create.header", "create.ready", "list.headers",
 * "remove.mark", "remove.data", "remove.header"), store/snapshot.c
 * ("snapshot.rm.mark", "snapshot.rm.released"), store/image_walk.c
 * ("snapshot.rollback.object"), store/backup_*.c ("export.batch",
 * "import.begin", "import.snapshot") and cli/cmd_key.c ("new-key",
 * "rekeyed-one", "rekeyed-all", "swapped").
 */
#ifndef CEPHVOL_TESTHOOK_H
#define CEPHVOL_TESTHOOK_H

void	testhook_point(const char *step);

#endif
