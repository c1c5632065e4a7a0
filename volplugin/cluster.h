/*
 * volplugin/cluster.h - the RADOS connection cephvold's requests share. It
 * is made on first need, and again on the next need after a failure, then
 * kept: cephvold serves Docker even while Ceph is unreachable, and each
 * request that needs the cluster says why it cannot have it.
 */
#ifndef CEPHVOL_VOLPLUGIN_CLUSTER_H
#define CEPHVOL_VOLPLUGIN_CLUSTER_H

#include <stddef.h>

struct cluster;
struct config;
struct job;
struct store;

/* cfg is borrowed and must outlive *out, which is new: cluster_free(). */
int	cluster_new(const struct config *cfg, struct cluster **out);
void	cluster_free(struct cluster *cl);
/* Connect now (at start-up) and log the outcome: 0, or -EIO (the next
 * request tries again). */
int	cluster_connect(struct cluster *cl);
/*
 * The connection (borrowed: it lives as long as cl), made now if there is
 * none; while it is made, job's phase says so (job may be NULL). NULL with
 * a sentence in err when it cannot be made. Thread-safe.
 */
struct store *cluster_store(struct cluster *cl, struct job *job, char *err,
	    size_t errlen);

#endif
