/*
 * cluster.c - the RADOS connection cephvold's requests share
 * (volplugin/cluster.h). One store, made under cluster.lock by the first
 * request that needs it (a request waiting for another's connect waits on
 * the lock: it would wait as long for its own), never closed before
 * cluster_free(). A failed connect leaves none, so the next need tries
 * again.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "common/config.h"
#include "common/log.h"
#include "store/conn.h"
#include "volplugin/cluster.h"
#include "volplugin/job.h"

struct cluster {
	const struct config	*cfg;		/* borrowed */
	pthread_mutex_t		 lock;
	struct store		*store;		/* guarded by lock */
};

int
cluster_new(const struct config *cfg, struct cluster **out)
{
	struct cluster *cl = calloc(1, sizeof(*cl));

	if (cl == NULL)
		return -ENOMEM;
	cl->cfg = cfg;
	pthread_mutex_init(&cl->lock, NULL);
	*out = cl;
	return 0;
}

void
cluster_free(struct cluster *cl)
{
	if (cl == NULL)
		return;
	store_close(cl->store);
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

struct store *
cluster_store(struct cluster *cl, struct job *job, char *err, size_t errlen)
{
	struct store *st;
	int r;

	job_phase(job, "connecting to the Ceph cluster");
	pthread_mutex_lock(&cl->lock);
	if (cl->store == NULL) {
		r = store_connect(cl->cfg, STORE_OSD_TIMEOUT | STORE_CREATE_POOL,
		    &cl->store, err, errlen);
		if (r < 0)
			cl->store = NULL;
		else
			log_info("connected to the cluster as %s, pool %s",
			    store_client(cl->store), store_pool(cl->store));
	}
	st = cl->store;
	pthread_mutex_unlock(&cl->lock);
	return st;
}

int
cluster_connect(struct cluster *cl)
{
	char err[1024];

	if (cluster_store(cl, NULL, err, sizeof(err)) == NULL) {
		log_warn("cannot connect to the cluster yet: %s (retried on the "
		    "next request)", err);
		return -EIO;
	}
	return 0;
}
