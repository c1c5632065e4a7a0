/*
 * secretsfs_server.c - cephvol-mount's secrets volume server (struct
 * server, fuse/server.h), picked with HELPER_OPT_SECRETS:
 *
 *	cephvol-mount --secrets [common options] [--recheck SECONDS]
 *	    VOLUME MOUNTPOINT
 *
 * Serves the secrets VOLUME grants as a read-only, memory-only tree
 * directly on MOUNTPOINT (fuse/secretsfs.h: the tree, its refresher and its
 * FUSE layer) until MOUNTPOINT is unmounted or stop().
 *
 * Memory: not dumpable (no core dump, no ptrace by non-root, no
 * /proc/PID/mem), RLIMIT_CORE 0, and mlockall(MCL_CURRENT | MCL_FUTURE |
 * MCL_ONFAULT) (ONFAULT: librados' many thread stacks are not faulted in
 * whole; the values themselves are locked by sodium_malloc regardless). It
 * never logs a value.
 *
 * The volume itself. The mount is registered in the cluster (a shared
 * lock on the volume's header, store/lease.h lease_register, renewed in the
 * background) before anything is served, so `volume rm` is refused on any
 * host while it lives, and if the volume went away meanwhile the start
 * fails. A registration that is lost (the volume was removed or its lease
 * broken) revokes the whole tree (fuse/secretsfs_refresh.c).
 *
 * Audit: mount and unmount (this file), every open (fuse/secretsfs_fuse.c),
 * every rotation and failure (fuse/secretsfs_refresh.c); never a value.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "fuse/secretsfs.h"
#include "fuse/secretsfs_fuse.h"
#include "fuse/secretsfs_refresh.h"
#include "fuse/server.h"
#include "host/helperproto.h"
#include "secrets/masterkey.h"
#include "store/catalog.h"
#include "store/conn.h"
#include "store/lease.h"

#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

static unsigned opt_recheck_s = 30;	/* --recheck */

static const struct server_option options[] = {
	{ "recheck", "SECONDS", "re-check every secret this often, in case an\n"
	    "                          update notification was missed (default 30)",
	    "seconds", 1, 86400, &opt_recheck_s },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

static void
memory_setup(void)
{
	struct rlimit no_core = { 0, 0 };

	/* No core dump, no ptrace by non-root, no /proc/PID/mem. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
	setrlimit(RLIMIT_CORE, &no_core);
	/* ONFAULT: librados' many thread stacks are not faulted in whole;
	 * the values themselves are locked by sodium_malloc regardless. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
		log_warn("mlockall: %s; values are still locked one by one",
		    strerror(errno));
}

static void
on_registration_lost(void *arg, int err)
{
	secretsfs_refresh_revoke(arg, err == -ENOENT ? "the volume was removed" :
	    err == -ECANCELED ? "the volume was taken for removal or its lease was "
	    "broken" : "its mount registration was lost");
}

/* The volume, if it is a secrets volume: its grants and id into fs. */
static int
volume_read(struct secretsfs *fs, char *err, size_t errlen)
{
	struct volume_meta vm;
	int r;

	memset(&vm, 0, sizeof(vm));
	r = catalog_get(fs->st, fs->volume, &vm);
	if (r == -ENOENT) {
		snprintf(err, errlen, "volume %s does not exist", fs->volume);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot read volume %s: %s", fs->volume,
		    strerror(-r));
		return r;
	}
	r = 0;
	if (vm.type != VOLUME_SECRETS) {
		snprintf(err, errlen, "volume %s is a %s volume, not a secrets volume",
		    fs->volume, volume_type_name(vm.type));
		r = -EINVAL;
	} else if ((fs->grants = json_deep_copy(vm.secrets)) == NULL) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	} else
		snprintf(fs->id, sizeof(fs->id), "%s", vm.id);
	volume_meta_free(&vm);
	return r;
}

/* The mounted line of the audit: every secret served, with its version. */
static void
log_mounted(struct secretsfs *fs)
{
	char list[2048];
	size_t used = 0;

	list[0] = '\0';
	for (size_t i = 0; i < fs->n && used < sizeof(list) - 1; i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s@%u%s",
		    i ? "," : "", fs->e[i].name, fs->e[i].version,
		    fs->e[i].pin ? "(pinned)" : "");
	log_info("mounted secrets volume=%s at %s pid=%d: %zu secrets %s (re-check "
	    "every %u s, client %s)", fs->volume, fs->mountpoint, (int)getpid(), fs->n,
	    list, fs->recheck_s, store_addr(fs->st));
}

static int
setup(const struct server_args *a, void **hp, const char **cookie, char *err,
    size_t errlen)
{
	struct lease_events reg_events = { .lost = on_registration_lost };
	struct secretsfs *fs;
	pthread_condattr_t cattr;
	char why[1024];
	int r;

	if ((fs = calloc(1, sizeof(*fs))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(fs->volume, sizeof(fs->volume), "%s", a->volume);
	fs->mountpoint = a->dir;
	fs->recheck_s = opt_recheck_s;
	reg_events.arg = fs;
	clock_gettime(CLOCK_REALTIME, &fs->started);
	memory_setup();
	if (sodium_init() < 0) {
		snprintf(err, errlen, "cannot initialise libsodium");
		r = -EIO;
		goto out_free;
	}
	pthread_mutex_init(&fs->lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&fs->cond, &cattr);
	pthread_condattr_destroy(&cattr);

	r = masterkey_load(a->cfg->secrets_master_key, &fs->mk, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "cannot mount secrets volume %s: %s", fs->volume, why);
		goto out_destroy_lock;
	}
	r = store_connect(a->cfg, STORE_OSD_TIMEOUT, &fs->st, err, errlen);
	if (r < 0)
		goto out_free_key;
	if ((r = volume_read(fs, err, errlen)) < 0)
		goto out_close_store;
	/* Registered before anything is served: from now on `volume rm` is
	 * refused on every host, and if the volume went away meanwhile this
	 * fails. */
	r = lease_register(fs->st, fs->volume, fs->id,
	    (unsigned)a->cfg->volume_lease_seconds, &reg_events, &fs->reg, why,
	    sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "cannot mount secrets volume %s: %s", fs->volume, why);
		goto out_free_grants;
	}
	if ((r = secretsfs_load(fs, err, errlen)) < 0)
		goto out_free_tree;
	secretsfs_refresh_watch(fs);

	if ((r = mkdir_p(fs->mountpoint, 0755)) < 0 && r != -EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", fs->mountpoint, strerror(-r));
		goto out_unwatch;
	}
	if ((r = secretsfs_fuse_mount(fs, err, errlen)) < 0)
		goto out_unwatch;
	if ((r = secretsfs_refresh_start(fs)) < 0) {
		snprintf(err, errlen, "cannot start the refresher thread: %s",
		    strerror(-r));
		goto out_unmount;
	}
	log_mounted(fs);
	*hp = fs;
	*cookie = lease_cookie(fs->reg);
	return 0;

out_unmount:
	secretsfs_fuse_unmount(fs);
out_unwatch:
	secretsfs_refresh_unwatch(fs);
out_free_tree:
	secretsfs_free(fs);
	/* At once, or `volume rm` waits for the registration to expire. */
	lease_release(fs->reg);
out_free_grants:
	json_decref(fs->grants);
out_close_store:
	store_close(fs->st);
out_free_key:
	masterkey_free(fs->mk);
out_destroy_lock:
	pthread_cond_destroy(&fs->cond);
	pthread_mutex_destroy(&fs->lock);
out_free:
	free(fs);
	return r;
}

static int
serve(void *h)
{
	return secretsfs_fuse_run(h);
}

static void
stop(void *h)
{
	secretsfs_fuse_stop(h);
}

/* The refresher, the mount, the watches, then every value. */
static int
teardown(void *h)
{
	struct secretsfs *fs = h;
	struct timespec now;
	size_t wiped;

	secretsfs_refresh_stop(fs);
	secretsfs_fuse_unmount(fs);
	secretsfs_refresh_unwatch(fs);
	wiped = secretsfs_free(fs);
	lease_release(fs->reg);
	json_decref(fs->grants);
	store_close(fs->st);
	masterkey_free(fs->mk);
	clock_gettime(CLOCK_REALTIME, &now);
	log_info("unmounted secrets volume=%s from %s after %llds: %" PRIu64 " opens, %"
	    PRIu64 " rotations, %" PRIu64 " authentication failures; %zu values wiped",
	    fs->volume, fs->mountpoint, (long long)(now.tv_sec - fs->started.tv_sec),
	    atomic_load(&fs->n_opens), atomic_load(&fs->n_rotations),
	    atomic_load(&fs->n_failures), wiped);
	pthread_cond_destroy(&fs->cond);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
	return 0;
}

const struct server secretsfs_server = {
	.select		= HELPER_OPT_SECRETS,
	.select_help	= "serve a secrets volume instead",
	.setup		= setup,
	.serve		= serve,
	.stop		= stop,
	.teardown	= teardown,
	.about		=
	    "Serve secrets volume VOLUME as a read-only, memory-only tree at MOUNTPOINT\n"
	    "until it is unmounted or SIGTERM; see " HELPER_PROGRAM "(8).\n",
	.args		= "VOLUME MOUNTPOINT",
	.options	= options,
};
