/*
 * conn.c - connect to the cluster, open the pool, say clearly what failed.
 *
 * A struct store is created once per process and shared by every thread;
 * its fields never change after store_connect() returns, so no lock.
 * librados itself retries forever unless told otherwise: we set the mount
 * and mon-op timeouts from ceph.timeout, and the OSD op timeout only for
 * callers that ask (STORE_OSD_TIMEOUT), because the data path must wait for
 * a slow OSD rather than fail a database's write. store_probe() proves
 * the pool works with an object of its own (`cephvol status`).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "store/conn.h"

struct store {
	rados_t		 cluster;
	rados_ioctx_t	 ioctx;
	char		*client;
	char		*pool;
	char		 addr[128];
	char		 fsid[64];
	uint64_t	 instance_id;
	unsigned	 timeout;
};

static void
store_free(struct store *st)
{
	if (st->ioctx)
		rados_ioctx_destroy(st->ioctx);
	if (st->cluster)
		rados_shutdown(st->cluster);
	free(st->client);
	free(st->pool);
	free(st);
}

int
store_connect(const struct config *cfg, unsigned flags, struct store **out,
    char *err, size_t errlen)
{
	const char *conf = cfg->ceph_conf, *client = cfg->ceph_client;
	char tmo[32];
	struct store *st;
	int r;

	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	st->client = strdup(client);
	st->pool = strdup(cfg->ceph_pool);
	st->timeout = (unsigned)cfg->ceph_timeout;
	if (st->client == NULL || st->pool == NULL) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	if (access(conf, R_OK) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot connect to ceph as %s: cannot read "
		    "ceph.conf %s: %s", client, conf, strerror(errno));
		goto out_free;
	}
	if (cfg->ceph_keyring[0] && access(cfg->ceph_keyring, R_OK) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot connect to ceph (conf %s) as %s: cannot "
		    "read keyring %s: %s", conf, client, cfg->ceph_keyring,
		    strerror(errno));
		goto out_free;
	}
	r = rados_create2(&st->cluster, "ceph", client, 0);
	if (r < 0) {
		snprintf(err, errlen, "cannot connect to ceph as %s: rados_create: %s",
		    client, strerror(-r));
		goto out_free;
	}
	r = rados_conf_read_file(st->cluster, conf);
	if (r < 0) {
		snprintf(err, errlen, "cannot connect to ceph as %s: cannot parse "
		    "ceph.conf %s: %s", client, conf, strerror(-r));
		goto out_free;
	}
	/* Our config wins over the environment; CEPH_ARGS is not read. */
	if (cfg->ceph_keyring[0])
		rados_conf_set(st->cluster, "keyring", cfg->ceph_keyring);
	snprintf(tmo, sizeof(tmo), "%u", st->timeout);
	rados_conf_set(st->cluster, "client_mount_timeout", tmo);
	rados_conf_set(st->cluster, "rados_mon_op_timeout", tmo);
	if (flags & STORE_OSD_TIMEOUT)
		rados_conf_set(st->cluster, "rados_osd_op_timeout", tmo);
	/* Never write a log file or admin socket for a client: the daemon
	 * and CLI log through log.c. */
	rados_conf_set(st->cluster, "log_to_stderr", "false");
	rados_conf_set(st->cluster, "err_to_stderr", "false");
	rados_conf_set(st->cluster, "log_file", "");
	/* No admin socket: a stopped process holding "$name.asok" would make
	 * every new client of the same name wait for it. */
	rados_conf_set(st->cluster, "admin_socket", "");

	r = rados_connect(st->cluster);
	if (r < 0) {
		const char *why = strerror(-r);
		if (r == -ETIMEDOUT || r == -EINTR) {
			snprintf(err, errlen, "cannot connect to ceph cluster (conf %s) "
			    "as %s: cluster not reachable (no monitor answered within "
			    "%us)", conf, client, st->timeout);
			goto out_shutdown;
		}
		if (r == -ENOENT)
			why = "no keyring found for this client";
		else if (r == -EACCES || r == -EPERM)
			why = "authentication refused (wrong key or missing caps)";
		snprintf(err, errlen, "cannot connect to ceph cluster (conf %s) as %s: %s",
		    conf, client, why);
		goto out_shutdown;
	}
	r = rados_ioctx_create(st->cluster, st->pool, &st->ioctx);
	if (r == -ENOENT && (flags & STORE_CREATE_POOL)) {
		r = rados_pool_create(st->cluster, st->pool);
		if (r == 0 || r == -EEXIST) {
			char cmd[512];
			snprintf(cmd, sizeof(cmd), "{\"prefix\":\"osd pool application "
			    "enable\",\"pool\":\"%s\",\"app\":\"cephvol\"}", st->pool);
			rados_mon_command(st->cluster, (const char *[]){ cmd }, 1,
			    "", 0, NULL, NULL, NULL, NULL);
			r = rados_ioctx_create(st->cluster, st->pool, &st->ioctx);
		}
	}
	if (r == -ENOENT && (flags & STORE_POOL_OPTIONAL))
		st->ioctx = NULL;
	else if (r < 0) {
		snprintf(err, errlen, "cannot open pool %s on ceph cluster (conf %s) "
		    "as %s: %s", st->pool, conf, client,
		    r == -ENOENT ? "pool does not exist (create it with "
		    "'ceph osd pool create', or let 'cephvol status --create-pool' do it)"
		    : strerror(-r));
		st->ioctx = NULL;
		goto out_shutdown;
	}
	st->instance_id = rados_get_instance_id(st->cluster);
	rados_cluster_fsid(st->cluster, st->fsid, sizeof(st->fsid));
	{
		char *a = NULL;
		/* "<addr>" via the documented getter where available. */
		if (rados_getaddrs(st->cluster, &a) == 0 && a) {
			snprintf(st->addr, sizeof(st->addr), "%s", a);
			rados_buffer_free(a);
		}
	}
	*out = st;
	return 0;

out_shutdown:
out_free:
	store_free(st);
	return r;
}

void
store_close(struct store *st)
{
	if (st)
		store_free(st);
}

rados_t
store_cluster(struct store *st)
{
	return st->cluster;
}

rados_ioctx_t
store_ioctx(struct store *st)
{
	return st->ioctx;
}

bool
store_has_pool(struct store *st)
{
	return st->ioctx != NULL;
}

int
store_ioctx_new(struct store *st, rados_ioctx_t *out)
{
	return rados_ioctx_create2(st->cluster, rados_ioctx_get_id(st->ioctx), out);
}

const char *
store_client(struct store *st)
{
	return st->client;
}

const char *
store_pool(struct store *st)
{
	return st->pool;
}

const char *
store_addr(struct store *st)
{
	return st->addr;
}

uint64_t
store_instance_id(struct store *st)
{
	return st->instance_id;
}

const char *
store_fsid(struct store *st)
{
	return st->fsid;
}

int
store_probe(struct store *st, char *err, size_t errlen)
{
	const char probe[] = "cephvol status probe";
	char oid[128], host[64] = "", back[64];
	int r;

	gethostname(host, sizeof(host) - 1);
	snprintf(oid, sizeof(oid), "cephvol.probe.%s.%d", host, (int)getpid());
	r = rados_write_full(st->ioctx, oid, probe, sizeof(probe));
	if (r < 0) {
		snprintf(err, errlen, "cannot write probe object %s to pool %s: %s",
		    oid, st->pool, strerror(-r));
		return r;
	}
	r = rados_read(st->ioctx, oid, back, sizeof(back), 0);
	rados_remove(st->ioctx, oid);
	if (r < 0) {
		snprintf(err, errlen, "cannot read probe object %s from pool %s: %s",
		    oid, st->pool, strerror(-r));
		return r;
	}
	if ((size_t)r != sizeof(probe) || memcmp(back, probe, sizeof(probe)) != 0) {
		snprintf(err, errlen, "probe object %s in pool %s read back different "
		    "bytes", oid, st->pool);
		return -EIO;
	}
	return 0;
}
