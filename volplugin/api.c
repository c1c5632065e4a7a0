/*
 * api.c - Docker's VolumeDriver API: request bodies in, replies out.
 *
 * Each request is checked first, synchronously and without I/O: the body
 * must be a JSON object with the fields the endpoint wants, names must be
 * Docker's (name_valid), so nothing malformed ever reaches the catalogue or
 * a mount. Then its work runs as a job on its own thread while the caller
 * waits at most plugin.timeout; past that the caller answers with an Err
 * naming what timed out (job->phase) and the job goes on alone. A Mount
 * that completes after its caller gave up is undone, since Docker will never
 * Unmount it; an Unmount always completes, since Docker never retries one.
 *
 * Requests for one volume are serialised by a name lock (struct namelock,
 * one per name while in use); requests for different volumes run in
 * parallel. The RADOS connection is made on first need and kept.
 *
 * Locking order: name lock, then job.lock or mounts' own lock (never both
 * of the latter at once, except mounts_ref inside job.lock on commit).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "store/catalog.h"
#include "store/conn.h"
#include "store/lease.h"
#include "store/secretstore.h"
#include "volplugin/api.h"
#include "host/attach.h"
#include "volplugin/metrics.h"
#include "volplugin/mounts.h"

/* One volume name in use by some request; found by name in api.names. */
struct namelock {
	struct namelock	*next;
	char		 name[NAME_MAX_LEN + 1];
	unsigned	 users;		/* guarded by api.names_lock */
	bool		 busy;		/* guarded by api.names_lock */
	const char	*holder;	/* endpoint of the busy request */
};

struct api {
	const struct config	*cfg;		/* borrowed */
	const struct attach_ctx	*actx;		/* borrowed */
	struct mounts		*mt;		/* borrowed */

	pthread_mutex_t		 store_lock;
	struct store		*store;		/* guarded by store_lock */

	pthread_mutex_t		 names_lock;
	pthread_cond_t		 names_cond;
	struct namelock		*names;		/* guarded by names_lock */

	atomic_uint		 jobs;		/* running job threads */
	atomic_bool		 stopping;	/* waiters give up at once */
};

struct job {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	unsigned		 refs;		/* guarded by lock: waiter + worker */
	bool			 done;		/* guarded by lock */
	bool			 abandoned;	/* guarded by lock: waiter gave up */
	bool			 committed;	/* guarded by lock: past the point
						 * of no return, waiter waits on */
	const char		*phase;		/* guarded by lock: what it waits for */

	struct api		*api;
	enum metrics_endpoint	 ep;
	char			 name[NAME_MAX_LEN + 1];
	char			 id[API_MAX_ID + 1];
	json_t			*opts;		/* owned, Create only, may be NULL */

	struct mounts_owner	 owner;		/* the caller (dockerd), Mount */

	unsigned		 status;	/* reply, set by the worker */
	json_t			*reply;
	enum metrics_result	 result;
};

json_t *
api_error(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "Err", msg);
}

/* What a client sent as it may appear in an Err or a log line: escaped
 * (str_escape), at most 83 bytes. */
static const char *
shown(const char *s, char *buf, size_t len)
{
	return str_escape(buf, len < 84 ? len : 84, s, strlen(s));
}

/* --- name locks ------------------------------------------------------ */

static struct namelock *
name_lock(struct api *api, struct job *job)
{
	struct namelock *nl;

	pthread_mutex_lock(&api->names_lock);
	for (nl = api->names; nl; nl = nl->next)
		if (strcmp(nl->name, job->name) == 0)
			break;
	if (nl == NULL) {
		nl = calloc(1, sizeof(*nl));
		if (nl == NULL) {
			pthread_mutex_unlock(&api->names_lock);
			return NULL;
		}
		snprintf(nl->name, sizeof(nl->name), "%s", job->name);
		nl->next = api->names;
		api->names = nl;
	}
	nl->users++;
	while (nl->busy)
		pthread_cond_wait(&api->names_cond, &api->names_lock);
	nl->busy = true;
	nl->holder = metrics_endpoint_name(job->ep);
	pthread_mutex_unlock(&api->names_lock);
	return nl;
}

static void
name_unlock(struct api *api, struct namelock *nl)
{
	pthread_mutex_lock(&api->names_lock);
	nl->busy = false;
	nl->holder = NULL;
	if (--nl->users == 0) {
		for (struct namelock **p = &api->names; *p; p = &(*p)->next)
			if (*p == nl) {
				*p = nl->next;
				break;
			}
		free(nl);
	}
	pthread_cond_broadcast(&api->names_cond);
	pthread_mutex_unlock(&api->names_lock);
}

/* --- jobs ------------------------------------------------------------- */

static void
job_phase(struct job *job, const char *phase)
{
	pthread_mutex_lock(&job->lock);
	job->phase = phase;
	pthread_mutex_unlock(&job->lock);
}

static bool
job_abandoned(struct job *job)
{
	bool a;

	pthread_mutex_lock(&job->lock);
	a = job->abandoned;
	pthread_mutex_unlock(&job->lock);
	return a;
}

static void
job_put(struct job *job)
{
	bool last;

	pthread_mutex_lock(&job->lock);
	last = --job->refs == 0;
	pthread_mutex_unlock(&job->lock);
	if (!last)
		return;
	json_decref(job->opts);
	json_decref(job->reply);
	pthread_mutex_destroy(&job->lock);
	pthread_cond_destroy(&job->cond);
	free(job);
}

static void
job_reply(struct job *job, enum metrics_result res, unsigned status, json_t *reply)
{
	json_decref(job->reply);
	job->reply = reply;
	job->status = status;
	job->result = res;
}

__attribute__((format(printf, 2, 3))) static void
job_err(struct job *job, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s volume=%s: %s", metrics_endpoint_name(job->ep), job->name, msg);
	job_reply(job, RESULT_ERROR, 200, json_pack("{s:s}", "Err", msg));
}

/* --- the cluster ------------------------------------------------------ */

static struct store *
api_store(struct api *api, struct job *job, char *err, size_t errlen)
{
	struct store *st;
	int r;

	if (job)
		job_phase(job, "connecting to the Ceph cluster");
	pthread_mutex_lock(&api->store_lock);
	if (api->store == NULL) {
		r = store_connect(api->cfg, STORE_OSD_TIMEOUT | STORE_CREATE_POOL,
		    &api->store, err, errlen);
		if (r < 0)
			api->store = NULL;
		else
			log_info("connected to the cluster as %s, pool %s",
			    store_client(api->store), store_pool(api->store));
	}
	st = api->store;
	pthread_mutex_unlock(&api->store_lock);
	return st;
}

int
api_connect(struct api *api)
{
	char err[1024];

	if (api_store(api, NULL, err, sizeof(err)) == NULL) {
		log_warn("cannot connect to the cluster yet: %s (retried on the "
		    "next request)", err);
		return -EIO;
	}
	return 0;
}

/* --- replies ------------------------------------------------------------ */

static void
mountpoint_of(struct api *api, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", api->cfg->plugin_mount_root, name);
}

/*
 * Is name mounted here and served, right now (its mount is there and its
 * cephvol-mount alive; both quick local checks)? Fills mp. A reference
 * count alone is not enough: the helper may have died since.
 */
static bool
mounted_here(struct api *api, const char *name, char *mp, size_t len,
    pid_t *dead_helper)
{
	struct volume_meta m;
	struct attach_state as;
	bool ok;

	*dead_helper = 0;
	if (mounts_refs(api->mt, name) == 0 ||
	    mounts_get(api->mt, name, &m, mp, len) < 0)
		return false;
	memset(&as, 0, sizeof(as));
	ok = attach_status(api->actx, &m, mp, &as) == 0 && as.mounted &&
	    as.helper_alive;
	if (!ok)
		*dead_helper = as.helper_pid ? as.helper_pid : -1;
	volume_meta_free(&m);
	return ok;
}

/* Docker's Volume object for m, with Status; mountpoint only while mounted. */
static json_t *
volume_json(struct api *api, struct store *st, const struct volume_meta *m)
{
	json_t *v = json_object(), *status = json_object();
	struct lease_holder h;
	char buf[512], mp[4096], created[32];
	unsigned refs = mounts_refs(api->mt, m->name);
	time_t t = (time_t)m->created;
	pid_t dead = 0;
	bool here;
	struct tm tm;
	int r;

	if (v == NULL || status == NULL) {
		json_decref(v);
		json_decref(status);
		return NULL;
	}
	json_object_set_new(v, "Name", json_string(m->name));
	here = mounted_here(api, m->name, mp, sizeof(mp), &dead);
	if (here)
		json_object_set_new(v, "Mountpoint", json_string(mp));
	else if (refs > 0)
		json_object_set_new(status, "mount_broken", json_string(
		    "its mount on this host is gone (cephvol-mount exited); "
		    "the containers using it see errors; the next Mount repairs it"));
	if (gmtime_r(&t, &tm) && strftime(created, sizeof(created),
	    "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		json_object_set_new(v, "CreatedAt", json_string(created));
	json_object_set_new(status, "type", json_string(volume_type_name(m->type)));
	json_object_set_new(status, "id", json_string(m->id));
	if (m->type == VOLUME_BLOCK) {
		json_object_set_new(status, "size",
		    json_string(size_format(m->size, buf, sizeof(buf))));
		json_object_set_new(status, "size_bytes", json_integer((json_int_t)m->size));
		json_object_set_new(status, "fs", json_string(m->fs));
		json_object_set_new(status, "object_size",
		    json_string(size_format(m->object_size, buf, sizeof(buf))));
	} else if (m->secrets)
		json_object_set(status, "secrets", m->secrets);
	if (m->labels && json_object_size(m->labels) > 0)
		json_object_set(status, "labels", m->labels);
	r = lease_holder(st, m->id, &h);
	if (r == 0) {
		lease_holder_describe(&h, buf, sizeof(buf));
		json_object_set_new(status, "lease", json_string(buf));
		if (h.expired)
			json_object_set_new(status, "lease_expired", json_true());
	} else if (r == -ENOENT)
		json_object_set_new(status, "lease", json_string("none"));
	else
		json_object_set_new(status, "lease",
		    json_sprintf("unknown (%s)", strerror(-r)));
	json_object_set_new(status, "mounts_here", json_integer(here ? refs : 0));
	json_object_set_new(v, "Status", status);
	return v;
}

/* --- handlers (run on the job's thread) ------------------------------------ */

static void
op_create(struct api *api, struct job *job)
{
	struct volume_meta want, have;
	struct store *st;
	char err[1024];
	int r;

	memset(&want, 0, sizeof(want));
	r = volume_opts_parse(api->cfg, job->name, job->opts, &want, err, sizeof(err));
	if (r < 0) {
		log_warn("Create volume=%s: %s", job->name, err);
		job_reply(job, RESULT_BAD_REQUEST, 400, json_pack("{s:s}", "Err", err));
		return;
	}
	if ((st = api_store(api, job, err, sizeof(err))) == NULL) {
		job_err(job, "cannot create volume %s: %s", job->name, err);
		goto out_free_want;
	}
	if (job_abandoned(job))
		goto out_free_want;
	if (want.type == VOLUME_SECRETS) {
		job_phase(job, "checking the secrets the volume grants");
		r = secret_grants_check(st, want.secrets, err, sizeof(err));
		if (r < 0) {
			job_err(job, "cannot create volume %s: %s", job->name, err);
			goto out_free_want;
		}
	}
	job_phase(job, "creating the volume in the catalogue");
	r = catalog_create(st, &want, &have, err, sizeof(err));
	if (r < 0) {
		job_err(job, "cannot create volume %s: %s", job->name,
		    err[0] ? err : strerror(-r));
		goto out_free_want;
	}
	log_info("created volume=%s id=%s", have.name, have.id);
	volume_meta_free(&have);
	job_reply(job, RESULT_OK, 200, json_pack("{s:s}", "Err", ""));
out_free_want:
	volume_meta_free(&want);
}

static void
op_get(struct api *api, struct job *job)
{
	struct volume_meta m;
	struct store *st;
	char err[1024];
	json_t *v;
	int r;

	if ((st = api_store(api, job, err, sizeof(err))) == NULL) {
		job_err(job, "cannot look up volume %s: %s", job->name, err);
		return;
	}
	job_phase(job, "reading the catalogue");
	r = catalog_get(st, job->name, &m);
	if (r == -ENOENT) {
		job_reply(job, RESULT_ERROR, 200,
		    api_error("no such volume: %s", job->name));
		return;
	}
	if (r < 0) {
		job_err(job, "cannot read volume %s from the catalogue: %s",
		    job->name, strerror(-r));
		return;
	}
	job_phase(job, "reading the volume's lease");
	v = volume_json(api, st, &m);
	volume_meta_free(&m);
	job_reply(job, RESULT_OK, 200, json_pack("{s:o, s:s}", "Volume", v, "Err", ""));
}

static void
op_list(struct api *api, struct job *job)
{
	struct volume_meta *vols;
	struct store *st;
	char err[1024];
	json_t *arr;
	size_t n;
	int r;

	if ((st = api_store(api, job, err, sizeof(err))) == NULL) {
		job_err(job, "cannot list volumes: %s", err);
		return;
	}
	job_phase(job, "reading the catalogue");
	r = catalog_list(st, &vols, &n);
	if (r < 0) {
		job_err(job, "cannot list volumes: %s", strerror(-r));
		return;
	}
	job_phase(job, "reading the volumes' leases");
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, volume_json(api, st, &vols[i]));
		volume_meta_free(&vols[i]);
	}
	free(vols);
	job_reply(job, RESULT_OK, 200, json_pack("{s:o, s:s}", "Volumes", arr, "Err", ""));
}

static void
op_path(struct api *api, struct job *job)
{
	struct volume_meta m;
	struct store *st;
	char mp[4096], err[1024];
	int r;

	pid_t dead;

	if (mounted_here(api, job->name, mp, sizeof(mp), &dead)) {
		job_reply(job, RESULT_OK, 200,
		    json_pack("{s:s, s:s}", "Mountpoint", mp, "Err", ""));
		return;
	}
	if ((st = api_store(api, job, err, sizeof(err))) == NULL) {
		job_err(job, "cannot look up volume %s: %s", job->name, err);
		return;
	}
	job_phase(job, "reading the catalogue");
	r = catalog_get(st, job->name, &m);
	if (r < 0) {
		job_reply(job, RESULT_ERROR, 200, r == -ENOENT ?
		    api_error("no such volume: %s", job->name) :
		    api_error("cannot read volume %s: %s", job->name, strerror(-r)));
		return;
	}
	volume_meta_free(&m);
	/* not mounted on this host: no mountpoint */
	job_reply(job, RESULT_OK, 200, json_pack("{s:s, s:s}", "Mountpoint", "", "Err", ""));
}

/* Detach what is left of name on this host (a failed or stale attach). */
static int
detach(struct api *api, struct job *job, const struct volume_meta *m,
    const char *mp, char *err, size_t errlen)
{
	int r;

	job_phase(job, "unmounting (filesystem, loop device, cephvol-mount)");
	r = attach_unmount(api->actx, m, mp, err, errlen);
	if (r < 0) {
		metrics_event(EV_UNMOUNT_FAILED);
		return r;
	}
	metrics_event(EV_UNMOUNT_DETACHED);
	log_info("detached volume=%s from %s", m->name, mp);
	return mounts_forget(api->mt, m->name);
}

static void
op_remove(struct api *api, struct job *job)
{
	struct store *st;
	char err[1024];
	unsigned refs;
	int r;

	refs = mounts_refs(api->mt, job->name);
	if (refs > 0) {
		job_err(job, "cannot remove volume %s: it is mounted on this host "
		    "(%u reference%s); stop the containers using it first",
		    job->name, refs, refs == 1 ? "" : "s");
		return;
	}
	if (mounts_has(api->mt, job->name)) {
		/* an entry without references: a detach that failed earlier */
		struct volume_meta m;
		char mp[4096];
		if (mounts_get(api->mt, job->name, &m, mp, sizeof(mp)) == 0) {
			r = detach(api, job, &m, mp, err, sizeof(err));
			volume_meta_free(&m);
			if (r < 0) {
				job_err(job, "cannot remove volume %s: it is still "
				    "attached on this host and cannot be detached: %s",
				    job->name, err);
				return;
			}
		}
	}
	if ((st = api_store(api, job, err, sizeof(err))) == NULL) {
		job_err(job, "cannot remove volume %s: %s", job->name, err);
		return;
	}
	if (job_abandoned(job))
		return;
	job_phase(job, "removing the volume's objects");
	err[0] = '\0';
	r = catalog_remove(st, job->name, err, sizeof(err));
	if (r < 0) {
		job_err(job, "%s", err[0] ? err : strerror(-r));
		return;
	}
	{
		char mp[4096];
		mountpoint_of(api, job->name, mp, sizeof(mp));
		rmdir(mp);
	}
	log_info("removed volume=%s", job->name);
	job_reply(job, RESULT_OK, 200, json_pack("{s:s}", "Err", ""));
}

/* Take the reference unless the caller gave up; true if taken. */
static bool
commit_ref(struct api *api, struct job *job, const char *mp, char *err, size_t errlen)
{
	int r;

	pthread_mutex_lock(&job->lock);
	if (job->abandoned) {
		pthread_mutex_unlock(&job->lock);
		snprintf(err, errlen, "the request timed out meanwhile");
		return false;
	}
	r = mounts_ref(api->mt, job->name, job->id, &job->owner);
	if (r >= 0)
		job->committed = true;
	pthread_mutex_unlock(&job->lock);
	if (r == 1)
		log_info("Mount volume=%s id=%.16s: its reference was taken by a "
		    "dockerd that is gone; taken over by pid %d (a restarted dockerd "
		    "mounting a running container again)", job->name, job->id,
		    (int)job->owner.pid);
	if (r < 0) {
		snprintf(err, errlen, "cannot record the mount in the state "
		    "directory %s: %s", api->cfg->plugin_state_dir, strerror(-r));
		return false;
	}
	job_reply(job, RESULT_OK, 200,
	    json_pack("{s:s, s:s}", "Mountpoint", mp, "Err", ""));
	return true;
}

/*
 * Is the mount this host has of m (served by a live helper whose lease or
 * registration cookie is `cookie`) still what the cluster says the volume
 * is? 0 when it may be handed out again; -ESTALE with a sentence in why
 * when the volume was removed or created again under the same name, or
 * when the helper no longer holds the lease (another host took it, or it
 * was broken); another -errno when the cluster cannot tell now.
 */
static int
mount_still_valid(struct job *job, struct store *st,
    const struct volume_meta *m, const char *cookie, char *why, size_t len)
{
	struct lease_holder h[16];
	struct volume_meta cur;
	char who[512];
	int r, n;

	job_phase(job, "checking the existing mount against the catalogue");
	r = catalog_get(st, m->name, &cur);
	if (r == -ENOENT) {
		snprintf(why, len, "the volume no longer exists in the cluster");
		return -ESTALE;
	}
	if (r < 0) {
		snprintf(why, len, "cannot read it from the catalogue: %s", strerror(-r));
		return r;
	}
	r = strcmp(cur.id, m->id) == 0 ? 0 : -ESTALE;
	if (r < 0)
		snprintf(why, len, "it was removed and created again (id %s, this "
		    "host has id %s mounted)", cur.id, m->id);
	volume_meta_free(&cur);
	if (r < 0 || cookie[0] == '\0')
		return r;	/* no cookie: an older helper; nothing to compare */
	job_phase(job, "checking the existing mount's lease");
	n = lease_holders(st, m->id, h, 16);
	if (n < 0) {
		snprintf(why, len, "cannot read its lease: %s", strerror(-n));
		return n;
	}
	for (int i = 0; i < n; i++)
		if (strcmp(h[i].cookie, cookie) == 0)
			return 0;	/* ours (an expired one: a stall, not a loss) */
	for (int i = 0; i < n; i++)
		if (!h[i].expired) {
			snprintf(why, len, "this host's mount lost the volume's lease, "
			    "which is now held by %s; the containers using it here see "
			    "I/O errors", lease_holder_describe(&h[i], who, sizeof(who)));
			return -ESTALE;
		}
	snprintf(why, len, "this host's mount lost the volume's lease (it was "
	    "broken or taken over); the containers using it here see I/O errors");
	return -ESTALE;
}

static void
op_mount(struct api *api, struct job *job)
{
	struct volume_meta m;
	struct store *st;
	char mp[4096], err[1024];
	pid_t pid = 0;
	int r;

	if (mounts_has(api->mt, job->name)) {
		struct attach_state as;
		unsigned refs = mounts_refs(api->mt, job->name);

		if (mounts_get(api->mt, job->name, &m, mp, sizeof(mp)) < 0) {
			job_err(job, "cannot mount volume %s: out of memory", job->name);
			return;
		}
		job_phase(job, "checking the existing mount");
		memset(&as, 0, sizeof(as));
		r = attach_status(api->actx, &m, mp, &as);
		if (r == 0 && as.mounted && as.helper_alive) {
			/* Reuse only what the cluster still agrees with. */
			if ((st = api_store(api, job, err, sizeof(err))) == NULL) {
				job_err(job, "cannot mount volume %s: %s", job->name, err);
				volume_meta_free(&m);
				return;
			}
			r = mount_still_valid(job, st, &m, as.helper_cookie, err,
			    sizeof(err));
			if (r < 0 && (r != -ESTALE || refs > 0)) {
				if (r == -ESTALE)
					metrics_event(EV_MOUNT_FAILED);
				job_err(job, "cannot mount volume %s: %s%s", job->name, err,
				    r == -ESTALE ? "; stop the containers using it here "
				    "and its mount is cleaned up with the last one" : "");
				volume_meta_free(&m);
				return;
			}
			if (r == 0) {
				if (!commit_ref(api, job, mp, err, sizeof(err)))
					job_err(job, "cannot mount volume %s: %s", job->name,
					    err);
				else
					log_info("Mount volume=%s id=%.16s: already mounted "
					    "at %s, %u reference(s)", job->name, job->id, mp,
					    mounts_refs(api->mt, job->name));
				volume_meta_free(&m);
				return;
			}
			/* stale and nobody uses it: detach, mount afresh */
			log_warn("repair: volume=%s: the idle mount at %s is stale (%s); "
			    "detaching and mounting again", job->name, mp, err);
		} else
		/* stale: its mount or its helper is gone; start over */
		log_warn("repair: volume=%s: entry at %s is stale (mounted=%s, "
		    "helper=%s, %u reference(s) dropped); detaching and mounting "
		    "again", job->name, mp, as.mounted ? "yes" : "no",
		    as.helper_alive ? "alive" : "gone", mounts_refs(api->mt, job->name));
		metrics_event(EV_REPAIR);
		if (as.mounted && !as.helper_alive)
			metrics_event(EV_HELPER_LOST);
		r = detach(api, job, &m, mp, err, sizeof(err));
		volume_meta_free(&m);
		if (r < 0) {
			job_err(job, "cannot mount volume %s: a stale mount at %s "
			    "cannot be detached: %s", job->name, mp, err);
			return;
		}
	}
	if ((st = api_store(api, job, err, sizeof(err))) == NULL) {
		job_err(job, "cannot mount volume %s: %s", job->name, err);
		return;
	}
	job_phase(job, "reading the catalogue");
	r = catalog_get(st, job->name, &m);
	if (r < 0) {
		job_reply(job, RESULT_ERROR, 200, r == -ENOENT ?
		    api_error("cannot mount volume %s: no such volume", job->name) :
		    api_error("cannot mount volume %s: cannot read it: %s",
		    job->name, strerror(-r)));
		return;
	}
	if (job_abandoned(job))
		goto out_free_meta;
	mountpoint_of(api, job->name, mp, sizeof(mp));
	if ((r = mounts_begin(api->mt, &m, mp)) < 0) {
		job_err(job, "cannot mount volume %s: cannot record it in the state "
		    "directory %s: %s", job->name, api->cfg->plugin_state_dir,
		    strerror(-r));
		goto out_free_meta;
	}
	job_phase(job, "attaching (cephvol-mount, lease, loop device, filesystem)");
	err[0] = '\0';
	r = attach_mount(api->actx, &m, mp, &pid, err, sizeof(err));
	if (r < 0) {
		metrics_event(r == -EBUSY ? EV_MOUNT_BUSY : EV_MOUNT_FAILED);
		if (r == -EBUSY)
			metrics_event(EV_MOUNT_FAILED);
		mounts_forget(api->mt, job->name);
		job_err(job, "%s", err[0] ? err : strerror(-r));
		goto out_free_meta;
	}
	metrics_event(EV_MOUNT_ATTACHED);
	mounts_set_helper(api->mt, job->name, pid);
	log_info("attached volume=%s at %s (cephvol-mount pid %d)", job->name, mp,
	    (int)pid);
	if (!commit_ref(api, job, mp, err, sizeof(err))) {
		char err2[1024];
		log_warn("Mount volume=%s: %s: detaching again", job->name, err);
		if (detach(api, job, &m, mp, err2, sizeof(err2)) < 0)
			log_err("Mount volume=%s: cannot detach: %s", job->name, err2);
		job_err(job, "cannot mount volume %s: %s", job->name, err);
	}
out_free_meta:
	volume_meta_free(&m);
}

static void
op_unmount(struct api *api, struct job *job)
{
	struct volume_meta m;
	char mp[4096], err[1024];
	unsigned left;
	int r;

	r = mounts_unref(api->mt, job->name, job->id, &left);
	if (r == -ENOENT) {
		log_info("Unmount volume=%s id=%.16s: no such reference on this "
		    "host, nothing to do", job->name, job->id);
		job_reply(job, RESULT_OK, 200, json_pack("{s:s}", "Err", ""));
		return;
	}
	if (left > 0) {
		log_info("Unmount volume=%s id=%.16s: %u reference(s) left",
		    job->name, job->id, left);
		job_reply(job, RESULT_OK, 200, json_pack("{s:s}", "Err", ""));
		return;
	}
	if (mounts_get(api->mt, job->name, &m, mp, sizeof(mp)) < 0) {
		job_err(job, "cannot unmount volume %s: out of memory", job->name);
		return;
	}
	r = detach(api, job, &m, mp, err, sizeof(err));
	volume_meta_free(&m);
	if (r < 0) {
		job_err(job, "cannot unmount volume %s: %s (the entry is kept; "
		    "the next Mount or restart retries)", job->name, err);
		return;
	}
	job_reply(job, RESULT_OK, 200, json_pack("{s:s}", "Err", ""));
}

static void *
job_main(void *arg)
{
	struct job *job = arg;
	struct api *api = job->api;
	struct namelock *nl;

	job_phase(job, "waiting for an earlier request on the same volume");
	nl = name_lock(api, job);
	if (nl == NULL)
		job_err(job, "out of memory");
	else if (job->ep != EP_UNMOUNT && job_abandoned(job))
		;	/* the caller gave up while we waited: do nothing */
	else {
		job_phase(job, "working");
		switch (job->ep) {
		case EP_CREATE:		op_create(api, job); break;
		case EP_REMOVE:		op_remove(api, job); break;
		case EP_MOUNT:		op_mount(api, job); break;
		case EP_UNMOUNT:	op_unmount(api, job); break;
		case EP_PATH:		op_path(api, job); break;
		case EP_GET:		op_get(api, job); break;
		default:		job_err(job, "internal error: no handler"); break;
		}
	}
	if (nl)
		name_unlock(api, nl);
	pthread_mutex_lock(&job->lock);
	job->done = true;
	if (job->abandoned)
		log_info("%s volume=%s finished after its caller timed out",
		    metrics_endpoint_name(job->ep), job->name);
	pthread_cond_signal(&job->cond);
	pthread_mutex_unlock(&job->lock);
	job_put(job);
	atomic_fetch_sub(&api->jobs, 1);
	return NULL;
}

/* A background detach of an idle entry: no caller waits. */
static void *
idle_main(void *arg)
{
	struct job *job = arg;
	struct api *api = job->api;
	struct namelock *nl = name_lock(api, job);
	struct volume_meta m;
	char mp[4096], err[1024];

	if (mounts_refs(api->mt, job->name) == 0 &&
	    mounts_get(api->mt, job->name, &m, mp, sizeof(mp)) == 0) {
		if (detach(api, job, &m, mp, err, sizeof(err)) < 0)
			log_err("repair: volume=%s: cannot detach from %s: %s; the "
			    "entry is kept, the next Mount or restart retries",
			    job->name, mp, err);
		else
			log_info("repair: volume=%s detached", job->name);
		volume_meta_free(&m);
	}
	if (nl)
		name_unlock(api, nl);
	job_put(job);
	atomic_fetch_sub(&api->jobs, 1);
	return NULL;
}

void
api_detach_idle(struct api *api)
{
	char **names;
	size_t n;

	if (mounts_idle(api->mt, &names, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct job *job = calloc(1, sizeof(*job));
		pthread_attr_t attr;
		pthread_t t;

		if (job != NULL) {
			pthread_mutex_init(&job->lock, NULL);
			pthread_cond_init(&job->cond, NULL);
			job->refs = 1;
			job->api = api;
			job->ep = EP_OTHER;
			job->phase = "detaching";
			snprintf(job->name, sizeof(job->name), "%s", names[i]);
			atomic_fetch_add(&api->jobs, 1);
			pthread_attr_init(&attr);
			pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
			if (pthread_create(&t, &attr, idle_main, job) != 0) {
				log_err("repair: volume=%s: cannot start a thread", names[i]);
				atomic_fetch_sub(&api->jobs, 1);
				job_put(job);
			}
			pthread_attr_destroy(&attr);
		}
		free(names[i]);
	}
	free(names);
}

/* List has no name: no name lock. */
static void *
list_main(void *arg)
{
	struct job *job = arg;
	struct api *api = job->api;

	op_list(api, job);
	pthread_mutex_lock(&job->lock);
	job->done = true;
	pthread_cond_signal(&job->cond);
	pthread_mutex_unlock(&job->lock);
	job_put(job);
	atomic_fetch_sub(&api->jobs, 1);
	return NULL;
}

/*
 * How long a caller waits for ep: plugin.timeout, but always DOCKER_MARGIN_S
 * under Docker's own limit for that call (moby volume/drivers/proxy.go:
 * 120 s for Create and Mount, 60 s for the rest), so Docker gets our
 * answer, never its own timeout, and a Mount it gave up on cannot commit.
 */
#define DOCKER_MARGIN_S	10
unsigned
api_deadline_s(const struct config *cfg, enum metrics_endpoint ep)
{
	unsigned docker = ep == EP_CREATE || ep == EP_MOUNT ? 120 : 60;
	unsigned t = (unsigned)cfg->plugin_timeout;

	return t < docker - DOCKER_MARGIN_S ? t : docker - DOCKER_MARGIN_S;
}

/* Run job on its own thread; wait at most api_deadline_s(), or until the
 * caller hangs up. */
static unsigned
job_run(struct api *api, struct job *job, const struct api_caller *caller,
    json_t **reply, enum metrics_result *res)
{
	bool hung_up = false;
	unsigned limit = api_deadline_s(api->cfg, job->ep);
	struct timespec deadline;
	pthread_attr_t attr;
	pthread_t t;
	unsigned status;
	int r;

	if (atomic_fetch_add(&api->jobs, 1) >= API_MAX_JOBS) {
		atomic_fetch_sub(&api->jobs, 1);
		*reply = api_error("%s of volume %s refused: %d requests are already "
		    "in flight (is the cluster or a mount hung?)",
		    metrics_endpoint_name(job->ep), job->name, API_MAX_JOBS);
		*res = RESULT_ERROR;
		job_put(job);
		job_put(job);
		return 200;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, job->ep == EP_LIST ? list_main : job_main, job);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		atomic_fetch_sub(&api->jobs, 1);
		*reply = api_error("cannot start a thread for %s: %s",
		    metrics_endpoint_name(job->ep), strerror(r));
		*res = RESULT_ERROR;
		job_put(job);
		job_put(job);
		return 200;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)limit;
	pthread_mutex_lock(&job->lock);
	while (!job->done) {
		/* wake every second to notice a stopping daemon */
		struct timespec now, until;
		clock_gettime(CLOCK_MONOTONIC, &now);
		until = now;
		until.tv_sec += 1;
		if (until.tv_sec > deadline.tv_sec ||
		    (until.tv_sec == deadline.tv_sec && until.tv_nsec > deadline.tv_nsec))
			until = deadline;
		r = pthread_cond_timedwait(&job->cond, &job->lock, &until);
		if (job->done)
			break;
		if (atomic_load(&api->stopping) && !job->committed)
			break;
		if (r != ETIMEDOUT)
			continue;
		if (caller && caller->gone && !job->committed) {
			/* not under job.lock: the transport's check may block
			 * briefly, and the worker needs the lock to commit */
			pthread_mutex_unlock(&job->lock);
			hung_up = caller->gone(caller->arg);
			pthread_mutex_lock(&job->lock);
			if (hung_up && !job->done && !job->committed)
				break;
			hung_up = false;
			if (job->done)
				break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec < deadline.tv_sec || (now.tv_sec == deadline.tv_sec &&
		    now.tv_nsec < deadline.tv_nsec))
			continue;
		if (!job->committed)
			break;
		/* only in-memory work is left: wait it out */
		deadline.tv_sec += 5;
	}
	if (!job->done && hung_up) {
		job->abandoned = true;
		*reply = api_error("the caller of %s of volume %s hung up; it goes on in "
		    "the background%s", metrics_endpoint_name(job->ep), job->name,
		    job->ep == EP_MOUNT ? " and is undone if it completes" : "");
		log_warn("%s volume=%s: the caller hung up while %s",
		    metrics_endpoint_name(job->ep), job->name, job->phase);
		*res = RESULT_ERROR;
		status = 200;
	} else if (!job->done && atomic_load(&api->stopping)) {
		job->abandoned = true;
		*reply = api_error("cephvold is stopping: %s of volume %s was not "
		    "answered; it goes on in the background",
		    metrics_endpoint_name(job->ep), job->name);
		*res = RESULT_ERROR;
		status = 200;
	} else if (!job->done) {
		job->abandoned = true;
		*reply = api_error("%s of volume %s timed out after %us while %s; it goes "
		    "on in the background%s", metrics_endpoint_name(job->ep),
		    job->ep == EP_LIST ? "(all)" : job->name, limit, job->phase,
		    job->ep == EP_MOUNT ? " and is undone if it completes" : "");
		log_err("%s volume=%s: timed out after %us while %s",
		    metrics_endpoint_name(job->ep), job->name, limit, job->phase);
		*res = RESULT_TIMEOUT;
		status = 200;
	} else {
		*reply = job->reply ? job->reply : api_error("internal error: no reply");
		job->reply = NULL;
		*res = job->result;
		status = job->status ? job->status : 200;
	}
	pthread_mutex_unlock(&job->lock);
	job_put(job);
	return status;
}

/* --- request checking ------------------------------------------------------ */

struct endpoint {
	const char		*path;
	enum metrics_endpoint	 ep;
	bool			 name;		/* wants "Name" */
	bool			 id;		/* wants "ID" */
	const char		*shape;		/* for error messages */
};

static const struct endpoint endpoints[] = {
	{ "/Plugin.Activate",		EP_ACTIVATE,	false, false, "an empty body" },
	{ "/VolumeDriver.Capabilities",	EP_CAPABILITIES, false, false, "an empty body or {}" },
	{ "/VolumeDriver.Create",	EP_CREATE,	true, false, "{\"Name\": NAME, \"Opts\": {KEY: VALUE...} or null}" },
	{ "/VolumeDriver.Remove",	EP_REMOVE,	true, false, "{\"Name\": NAME}" },
	{ "/VolumeDriver.Mount",	EP_MOUNT,	true, true, "{\"Name\": NAME, \"ID\": ID}" },
	{ "/VolumeDriver.Unmount",	EP_UNMOUNT,	true, true, "{\"Name\": NAME, \"ID\": ID}" },
	{ "/VolumeDriver.Path",		EP_PATH,	true, false, "{\"Name\": NAME}" },
	{ "/VolumeDriver.Get",		EP_GET,		true, false, "{\"Name\": NAME}" },
	{ "/VolumeDriver.List",		EP_LIST,	false, false, "an empty body or {}" },
};

/*
 * Refuse the request with 400 and an Err; log it. Whatever the client sent
 * goes into the message through shown() (escaped once), so the Err is
 * logged as it is: escaping it again would show such parts twice.
 */
#define BAD(...) do {						\
	*reply = api_error(__VA_ARGS__);			\
	*res = RESULT_BAD_REQUEST;				\
	log_info("bad request to %s: %s", shown(path, pb, sizeof(pb)), \
	    json_string_value(json_object_get(*reply, "Err")));	\
	json_decref(j);						\
	return 400;						\
} while (0)

static bool
blank(const char *body, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (body[i] != ' ' && body[i] != '\n' && body[i] != '\r' && body[i] != '\t')
			return false;
	return true;
}

unsigned
api_handle(struct api *api, const char *path, const char *body, size_t len,
    const struct api_caller *caller, json_t **reply, enum metrics_result *res)
{
	const struct endpoint *e = NULL;
	json_error_t je;
	json_t *j = NULL, *f;
	struct job *job;
	char sb[128], pb[128];

	*res = RESULT_OK;
	for (size_t i = 0; i < ARRAY_SIZE(endpoints); i++)
		if (strcmp(path, endpoints[i].path) == 0)
			e = &endpoints[i];
	if (e == NULL) {
		*reply = api_error("unknown endpoint %s; this plugin serves "
		    "/Plugin.Activate and /VolumeDriver.{Create,Remove,Mount,Unmount,"
		    "Path,Get,List,Capabilities}", shown(path, pb, sizeof(pb)));
		*res = RESULT_BAD_REQUEST;
		log_info("bad request to %s: %s", pb,
		    json_string_value(json_object_get(*reply, "Err")));
		return 404;
	}
	if (body && len > 0 && !blank(body, len)) {
		j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
		/* jansson's text quotes the input near the error */
		if (j == NULL)
			BAD("malformed JSON in the request body: %s (line %d, column %d); "
			    "%s wants %s", str_escape(sb, sizeof(sb), je.text,
			    strlen(je.text)), je.line, je.column, path + 1, e->shape);
		if (!json_is_object(j))
			BAD("the request body must be a JSON object; %s wants %s",
			    path + 1, e->shape);
	}
	switch (e->ep) {
	case EP_ACTIVATE:
		json_decref(j);
		*reply = json_pack("{s:[s]}", "Implements", "VolumeDriver");
		return 200;
	case EP_CAPABILITIES:
		json_decref(j);
		*reply = json_pack("{s:{s:s}}", "Capabilities", "Scope", "global");
		return 200;
	default:
		break;
	}
	if (e->name) {
		const char *name;
		if (j == NULL)
			BAD("empty request body; %s wants %s", path + 1, e->shape);
		f = json_object_get(j, "Name");
		if (f == NULL)
			BAD("missing field \"Name\"; %s wants %s", path + 1, e->shape);
		if (!json_is_string(f))
			BAD("field \"Name\" must be a string; %s wants %s", path + 1, e->shape);
		name = json_string_value(f);
		if (strlen(name) != json_string_length(f))
			BAD("invalid volume name (it contains a NUL byte): %s", NAME_RULE);
		if (!name_valid(name))
			BAD("invalid volume name \"%s\": %s", shown(name, sb, sizeof(sb)),
			    NAME_RULE);
	}
	if (e->id) {
		f = json_object_get(j, "ID");
		if (f == NULL)
			BAD("missing field \"ID\"; %s wants %s", path + 1, e->shape);
		if (!json_is_string(f) || json_string_length(f) == 0)
			BAD("field \"ID\" must be a non-empty string; %s wants %s",
			    path + 1, e->shape);
		if (json_string_length(f) > API_MAX_ID ||
		    strlen(json_string_value(f)) != json_string_length(f))
			BAD("field \"ID\" must be at most %d bytes without NUL",
			    API_MAX_ID);
	}
	if (e->ep == EP_CREATE) {
		const char *k;
		json_t *v;
		f = json_object_get(j, "Opts");
		if (f && !json_is_null(f) && !json_is_object(f))
			BAD("field \"Opts\" must be an object of strings or null");
		if (json_is_object(f))
			json_object_foreach(f, k, v)
				if (!json_is_string(v))
					BAD("option \"%s\" must be a string value",
					    shown(k, sb, sizeof(sb)));
	}

	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		json_decref(j);
		*reply = api_error("out of memory");
		*res = RESULT_ERROR;
		return 500;
	}
	pthread_mutex_init(&job->lock, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&job->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	job->refs = 2;
	job->api = api;
	job->ep = e->ep;
	job->phase = "starting";
	if (e->name)
		snprintf(job->name, sizeof(job->name), "%s",
		    json_string_value(json_object_get(j, "Name")));
	if (e->id)
		snprintf(job->id, sizeof(job->id), "%s",
		    json_string_value(json_object_get(j, "ID")));
	if (e->ep == EP_CREATE) {
		f = json_object_get(j, "Opts");
		job->opts = json_is_object(f) ? json_incref(f) : NULL;
	}
	json_decref(j);
	if (caller)
		job->owner = mounts_owner_of(caller->pid);
	return job_run(api, job, caller, reply, res);
}

/* --- life cycle --------------------------------------------------------- */

int
api_new(const struct config *cfg, const struct attach_ctx *ctx, struct mounts *mt,
    struct api **out)
{
	struct api *api = calloc(1, sizeof(*api));

	if (api == NULL)
		return -ENOMEM;
	api->cfg = cfg;
	api->actx = ctx;
	api->mt = mt;
	pthread_mutex_init(&api->store_lock, NULL);
	pthread_mutex_init(&api->names_lock, NULL);
	pthread_cond_init(&api->names_cond, NULL);
	atomic_init(&api->jobs, 0);
	atomic_init(&api->stopping, false);
	*out = api;
	return 0;
}

void
api_stop(struct api *api)
{
	atomic_store(&api->stopping, true);
}

unsigned
api_jobs_running(struct api *api)
{
	return atomic_load(&api->jobs);
}

void
api_free(struct api *api)
{
	if (api == NULL)
		return;
	store_close(api->store);
	pthread_mutex_destroy(&api->store_lock);
	pthread_mutex_destroy(&api->names_lock);
	pthread_cond_destroy(&api->names_cond);
	free(api);
}
