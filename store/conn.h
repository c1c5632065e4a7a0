/*
 * store/conn.h - a connection to the Ceph cluster and cephvol's pool.
 *
 * struct store is an opaque handle owning one rados_t and one ioctx on the
 * configured pool. It is thread-safe as librados is: any thread may use the
 * ioctx. Every layer above gets RADOS through this handle only.
 */
#ifndef CEPHVOL_STORE_CONN_H
#define CEPHVOL_STORE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <rados/librados.h>

#include "common/config.h"

struct store;

enum store_flags {
	/* Create the pool if it does not exist (make demo, tests, first use). */
	STORE_CREATE_POOL	= 1 << 0,
	/* Bound OSD operations by ceph.timeout too (CLI, daemon control
	 * paths). The data path leaves this off: a slow OSD is waited for. */
	STORE_OSD_TIMEOUT	= 1 << 1,
	/* A missing pool is no error: the store comes back without an ioctx
	 * (store_has_pool() false, store_ioctx() NULL), so a caller can tell
	 * "the cluster answers" from "the pool is there" (`cephvol doctor`). */
	STORE_POOL_OPTIONAL	= 1 << 2,
};

/*
 * Connect as cfg->ceph_client using cfg->ceph_conf and cfg->ceph_keyring,
 * waiting at most cfg->ceph_timeout seconds, and open cfg->ceph_pool.
 * On failure returns -errno and writes one sentence to err naming the
 * cluster (conf), the client and what failed. *out is new: store_close().
 */
int	store_connect(const struct config *cfg, unsigned flags, struct store **out,
	    char *err, size_t errlen);
void	store_close(struct store *st);
/*
 * Prove the pool works: write a probe object of our own
 * ("cephvol.probe.<host>.<pid>"), read it back and remove it. On failure
 * -errno and a sentence in err naming the object and the pool.
 */
int	store_probe(struct store *st, char *err, size_t errlen);

rados_t		 store_cluster(struct store *st);	/* borrowed */
rados_ioctx_t	 store_ioctx(struct store *st);		/* borrowed */
/* Whether the pool was opened (only STORE_POOL_OPTIONAL makes it false). */
bool		 store_has_pool(struct store *st);
/* A new ioctx on the same pool, for state of its own (a snapshot context,
 * a snapshot to read at): rados_ioctx_destroy() it. 0 or -errno. */
int		 store_ioctx_new(struct store *st, rados_ioctx_t *out);
const char	*store_client(struct store *st);	/* "client.admin" */
const char	*store_pool(struct store *st);
/* This client's instance address ("127.0.0.1:0/3748291") and global id. */
const char	*store_addr(struct store *st);
uint64_t	 store_instance_id(struct store *st);
/* The cluster's fsid. */
const char	*store_fsid(struct store *st);

#endif
