/*
 * fuse/qos.h - a volume's I/O limits, enforced in front of its image:
 * token buckets for operations and bytes per second, for reads, writes and
 * both together (struct volume_qos, store/volopts.h). A bucket holds at
 * most one second of its rate (the burst); a request waits until every
 * bucket it draws from is not in debt, then draws, so one request larger
 * than a second's budget still goes (and the next ones wait it off).
 * Limits change at any time (qos_set); 0 is no limit. Thread-safe.
 */
#ifndef CEPHVOL_FUSE_QOS_H
#define CEPHVOL_FUSE_QOS_H

#include <stdbool.h>
#include <stddef.h>

#include "store/volopts.h"

struct qos;

/* *out new (qos_free); no limit until qos_set. NULL when out of memory. */
struct qos *qos_new(void);
void	qos_free(struct qos *q);
void	qos_set(struct qos *q, const struct volume_qos *limits);
/* Wait (sleeping the calling thread) until a read or write of bytes may
 * go, and count it. Returns at once when nothing limits it. */
void	qos_wait(struct qos *q, bool write, size_t bytes);
/* Stop waiting: every qos_wait returns at once from now (unmount). */
void	qos_release(struct qos *q);

#endif
