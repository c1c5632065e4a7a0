/*
 * hoststate.c - the volumes this host serves to Docker (volplugin/
 * hoststate.h): the steps of Mount, Unmount and Remove on this host, the
 * repair at start-up, and the background detach of what a crash left.
 *
 * Mount, in order: an entry in the mount table means something of the
 * volume may be attached here. If it is mounted and served, it is handed
 * out again only after the cluster agrees (the catalogue still has this
 * id, the lease or registration still has this helper's cookie); if it is
 * stale and unused, it is detached first. Then the catalogue says what to
 * attach; the entry is recorded (mounts_begin) before the pipeline runs,
 * and forgotten again if the pipeline fails. Last, the reference is taken
 * as the job's commit: a caller that gave up before it gets nothing, and
 * the attach is undone, since Docker never Unmounts a Mount it gave up on.
 * An Unmount always runs to its end, since Docker never sends it again.
 *
 * No state of its own beyond borrowed handles; the mount table has its own
 * lock, and callers run one job per volume at a time (job.h), so no lock
 * is held across the pipeline.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "host/attach.h"
#include "host/mountinfo.h"
#include "store/catalog.h"
#include "store/lease.h"
#include "volplugin/cluster.h"
#include "volplugin/hoststate.h"
#include "volplugin/job.h"
#include "volplugin/metrics.h"
#include "volplugin/mounts.h"

struct hoststate {
	const struct config	*cfg;		/* borrowed */
	struct mounts		*mt;		/* borrowed */
	struct cluster		*cl;		/* borrowed */
	const struct attach_ops	*ops;		/* borrowed */
	const struct attach_ctx	*actx;		/* borrowed */
};

int
hoststate_new(const struct config *cfg, struct mounts *mt, struct cluster *cl,
    const struct attach_ops *ops, const struct attach_ctx *actx,
    struct hoststate **out)
{
	struct hoststate *hs = malloc(sizeof(*hs));

	if (hs == NULL)
		return -ENOMEM;
	*hs = (struct hoststate){ .cfg = cfg, .mt = mt, .cl = cl, .ops = ops,
	    .actx = actx };
	*out = hs;
	return 0;
}

void
hoststate_free(struct hoststate *hs)
{
	free(hs);
}

/* The sentence into err, logged as the job's failure; returns r. */
__attribute__((format(printf, 5, 6))) static int
fail(struct job *job, int r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	job_warn(job, "%s", err);
	return r;
}

static void
mountpoint_of(struct hoststate *hs, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", hs->cfg->plugin_mount_root, name);
}

bool
hoststate_served(struct hoststate *hs, const char *name, char *mp, size_t mplen,
    unsigned *refs)
{
	struct volume_meta m;
	struct attach_state as;
	bool ok;

	*refs = mounts_refs(hs->mt, name);
	if (*refs == 0 || mounts_get(hs->mt, name, &m, mp, mplen) < 0)
		return false;
	memset(&as, 0, sizeof(as));
	ok = hs->ops->status(hs->actx, &m, mp, &as) == 0 && as.mounted && as.helper_alive;
	volume_meta_free(&m);
	return ok;
}

/* Detach what there is of m on this host, and forget its entry. */
static int
detach(struct hoststate *hs, struct job *job, const struct volume_meta *m,
    const char *mp, char *err, size_t errlen)
{
	int r;

	job_phase(job, "unmounting (filesystem, loop device, cephvol-mount)");
	r = hs->ops->unmount(hs->actx, m, mp, err, errlen);
	if (r < 0) {
		metrics_event(EV_UNMOUNT_FAILED);
		return r;
	}
	metrics_event(EV_UNMOUNT_DETACHED);
	log_info("detached volume=%s from %s", m->name, mp);
	if ((r = mounts_forget(hs->mt, m->name)) < 0)
		snprintf(err, errlen, "cannot record it in the state directory %s: %s",
		    hs->cfg->plugin_state_dir, strerror(-r));
	return r;
}

/* Detach name's entry, mounted at mp: 0; -ENOENT if it has none; -errno
 * and why. */
static int
detach_entry(struct hoststate *hs, struct job *job, const char *name, char *mp,
    size_t mplen, char *why, size_t len)
{
	struct volume_meta m;
	int r;

	if ((r = mounts_get(hs->mt, name, &m, mp, mplen)) < 0) {
		snprintf(why, len, "%s", r == -ENOMEM ? "out of memory" : strerror(-r));
		return r;
	}
	r = detach(hs, job, &m, mp, why, len);
	volume_meta_free(&m);
	return r;
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
still_valid(struct job *job, struct store *st, const struct volume_meta *m,
    const char *cookie, char *why, size_t len)
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

/* A reference to take as a job's commit. */
struct ref {
	struct mounts			*mt;
	const char			*name;
	const char			*id;
	const struct mounts_owner	*owner;
};

static int
ref_take(void *arg)
{
	struct ref *rf = arg;

	return mounts_ref(rf->mt, rf->name, rf->id, rf->owner);
}

/* Take the reference (name, id) for owner unless the caller gave up. */
static int
commit_ref(struct hoststate *hs, struct job *job, const char *name, const char *id,
    const struct mounts_owner *owner, char *why, size_t len)
{
	struct ref rf = { hs->mt, name, id, owner };
	int r;

	r = job_commit(job, ref_take, &rf);
	if (r == -ECANCELED) {
		snprintf(why, len, "the request timed out meanwhile");
		return r;
	}
	if (r < 0) {
		snprintf(why, len, "cannot record the mount in the state directory "
		    "%s: %s", hs->cfg->plugin_state_dir, strerror(-r));
		return r;
	}
	if (r == 1)
		log_info("Mount volume=%s id=%.16s: its reference was taken by a "
		    "dockerd that is gone; taken over by pid %d (a restarted dockerd "
		    "mounting a running container again)", name, id, (int)owner->pid);
	return 0;
}

/*
 * name has an entry: reference its mount if it is served and the cluster
 * agrees (0), or fail (-errno), or detach it as stale (-EAGAIN: mount it
 * afresh).
 */
static int
mount_existing(struct hoststate *hs, const char *name, const char *id,
    const struct mounts_owner *owner, struct job *job, char *mp, size_t mplen,
    char *err, size_t errlen)
{
	unsigned refs = mounts_refs(hs->mt, name);
	struct attach_state as;
	struct volume_meta m;
	struct store *st;
	char why[1024];
	int r;

	if (mounts_get(hs->mt, name, &m, mp, mplen) < 0)
		return fail(job, -ENOMEM, err, errlen, "cannot mount volume %s: out of "
		    "memory", name);
	job_phase(job, "checking the existing mount");
	memset(&as, 0, sizeof(as));
	r = hs->ops->status(hs->actx, &m, mp, &as);
	if (r == 0 && as.mounted && as.helper_alive) {
		/* Reuse only what the cluster still agrees with. */
		if ((st = cluster_store(hs->cl, job, why, sizeof(why))) == NULL) {
			volume_meta_free(&m);
			return fail(job, -ENOTCONN, err, errlen, "cannot mount volume "
			    "%s: %s", name, why);
		}
		r = still_valid(job, st, &m, as.helper_cookie, why, sizeof(why));
		if (r < 0 && (r != -ESTALE || refs > 0)) {
			if (r == -ESTALE)
				metrics_event(EV_MOUNT_FAILED);
			volume_meta_free(&m);
			return fail(job, r, err, errlen, "cannot mount volume %s: %s%s",
			    name, why, r == -ESTALE ? "; stop the containers using it "
			    "here and its mount is cleaned up with the last one" : "");
		}
		if (r == 0) {
			volume_meta_free(&m);
			r = commit_ref(hs, job, name, id, owner, why, sizeof(why));
			if (r < 0)
				return fail(job, r, err, errlen, "cannot mount volume %s: "
				    "%s", name, why);
			log_info("Mount volume=%s id=%.16s: already mounted at %s, %u "
			    "reference(s)", name, id, mp, mounts_refs(hs->mt, name));
			return 0;
		}
		/* stale and nobody uses it: detach, mount afresh */
		log_warn("repair: volume=%s: the idle mount at %s is stale (%s); "
		    "detaching and mounting again", name, mp, why);
	} else
		/* stale: its mount or its helper is gone; start over */
		log_warn("repair: volume=%s: entry at %s is stale (mounted=%s, "
		    "helper=%s, %u reference(s) dropped); detaching and mounting "
		    "again", name, mp, as.mounted ? "yes" : "no",
		    as.helper_alive ? "alive" : "gone", mounts_refs(hs->mt, name));
	metrics_event(EV_REPAIR);
	if (as.mounted && !as.helper_alive)
		metrics_event(EV_HELPER_LOST);
	r = detach(hs, job, &m, mp, why, sizeof(why));
	volume_meta_free(&m);
	if (r < 0)
		return fail(job, r, err, errlen, "cannot mount volume %s: a stale mount "
		    "at %s cannot be detached: %s", name, mp, why);
	return -EAGAIN;
}

int
hoststate_mount(struct hoststate *hs, const char *name, const char *id,
    const struct mounts_owner *owner, struct job *job, char *mp, size_t mplen,
    char *err, size_t errlen)
{
	struct volume_meta m;
	struct store *st;
	char why[1024];
	pid_t pid = 0;
	int r;

	if (mounts_has(hs->mt, name)) {
		r = mount_existing(hs, name, id, owner, job, mp, mplen, err, errlen);
		if (r != -EAGAIN)
			return r;
	}
	if ((st = cluster_store(hs->cl, job, why, sizeof(why))) == NULL)
		return fail(job, -ENOTCONN, err, errlen, "cannot mount volume %s: %s",
		    name, why);
	job_phase(job, "reading the catalogue");
	r = catalog_get(st, name, &m);
	if (r < 0) {
		/* not this host's failure: not logged */
		if (r == -ENOENT)
			snprintf(err, errlen, "cannot mount volume %s: no such volume", name);
		else
			snprintf(err, errlen, "cannot mount volume %s: cannot read it: %s",
			    name, strerror(-r));
		return r;
	}
	if (job_abandoned(job)) {
		snprintf(err, errlen, "the request timed out meanwhile");
		r = -ECANCELED;
		goto out_free_meta;
	}
	mountpoint_of(hs, name, mp, mplen);
	if ((r = mounts_begin(hs->mt, &m, mp)) < 0) {
		fail(job, r, err, errlen, "cannot mount volume %s: cannot record it in "
		    "the state directory %s: %s", name, hs->cfg->plugin_state_dir,
		    strerror(-r));
		goto out_free_meta;
	}
	job_phase(job, "attaching (cephvol-mount, lease, loop device, filesystem)");
	why[0] = '\0';
	r = hs->ops->mount(hs->actx, &m, mp, &pid, why, sizeof(why));
	if (r < 0) {
		metrics_event(r == -EBUSY ? EV_MOUNT_BUSY : EV_MOUNT_FAILED);
		if (r == -EBUSY)
			metrics_event(EV_MOUNT_FAILED);
		mounts_forget(hs->mt, name);
		fail(job, r, err, errlen, "%s", why[0] ? why : strerror(-r));
		goto out_free_meta;
	}
	metrics_event(EV_MOUNT_ATTACHED);
	mounts_set_helper(hs->mt, name, pid);
	log_info("attached volume=%s at %s (cephvol-mount pid %d)", name, mp, (int)pid);
	r = commit_ref(hs, job, name, id, owner, why, sizeof(why));
	if (r < 0) {
		char why2[1024];
		log_warn("Mount volume=%s: %s: detaching again", name, why);
		if (detach(hs, job, &m, mp, why2, sizeof(why2)) < 0)
			log_err("Mount volume=%s: cannot detach: %s", name, why2);
		fail(job, r, err, errlen, "cannot mount volume %s: %s", name, why);
	}
out_free_meta:
	volume_meta_free(&m);
	return r;
}

int
hoststate_unmount(struct hoststate *hs, const char *name, const char *id,
    struct job *job, char *err, size_t errlen)
{
	char mp[PATH_MAX], why[1024];
	unsigned left;
	int r;

	r = mounts_unref(hs->mt, name, id, &left);
	if (r == -ENOENT) {
		log_info("Unmount volume=%s id=%.16s: no such reference on this "
		    "host, nothing to do", name, id);
		return 0;
	}
	if (left > 0) {
		log_info("Unmount volume=%s id=%.16s: %u reference(s) left", name, id,
		    left);
		return 0;
	}
	if ((r = detach_entry(hs, job, name, mp, sizeof(mp), why, sizeof(why))) < 0)
		return fail(job, r, err, errlen, "cannot unmount volume %s: %s (the "
		    "entry is kept; the next Mount or restart retries)", name, why);
	return 0;
}

int
hoststate_release(struct hoststate *hs, const char *name, struct job *job,
    char *err, size_t errlen)
{
	unsigned refs = mounts_refs(hs->mt, name);
	char mp[PATH_MAX], why[1024];
	int r;

	if (refs > 0)
		return fail(job, -EBUSY, err, errlen, "cannot remove volume %s: it is "
		    "mounted on this host (%u reference%s); stop the containers using "
		    "it first", name, refs, refs == 1 ? "" : "s");
	/* an entry without references: a detach that failed earlier */
	r = detach_entry(hs, job, name, mp, sizeof(mp), why, sizeof(why));
	if (r < 0 && r != -ENOENT)
		return fail(job, r, err, errlen, "cannot remove volume %s: it is still "
		    "attached on this host and cannot be detached: %s", name, why);
	return 0;
}

void
hoststate_removed(struct hoststate *hs, const char *name)
{
	char mp[PATH_MAX];

	mountpoint_of(hs, name, mp, sizeof(mp));
	rmdir(mp);
}

/* --- start-up ------------------------------------------------------------ */

/* Check one entry at start-up; true if it was repaired. */
static bool
reconcile_one(struct hoststate *hs, const char *name, unsigned *kept)
{
	struct attach_state as;
	struct volume_meta m;
	char mp[PATH_MAX];
	const char *why;
	unsigned n;
	int r;

	if (mounts_get(hs->mt, name, &m, mp, sizeof(mp)) < 0)
		return false;
	n = mounts_refs(hs->mt, name);
	memset(&as, 0, sizeof(as));
	r = hs->ops->status(hs->actx, &m, mp, &as);
	if (r < 0) {
		log_err("volume=%s: cannot check its mount at %s: %s; references kept",
		    name, mp, strerror(-r));
		volume_meta_free(&m);
		return false;
	}
	if (n > 0 && as.mounted && as.helper_alive) {
		if (as.helper_pid > 0)
			mounts_set_helper(hs->mt, name, as.helper_pid);
		log_info("volume=%s: %u reference(s), mounted at %s, cephvol-mount pid "
		    "%d%s%s: kept", name, n, mp, (int)as.helper_pid,
		    as.loop_dev[0] ? ", " : "", as.loop_dev);
		(*kept)++;
		if (m.type == VOLUME_BLOCK && mountinfo_elsewhere(mp) == 0)
			log_warn("volume=%s: %u reference(s) but no container uses it "
			    "now; if its containers stopped while cephvold was down, "
			    "Docker will not Unmount it: it stays mounted (and leased) "
			    "until it is used and released again, or unmounted by hand",
			    name, n);
		volume_meta_free(&m);
		return false;
	}
	volume_meta_free(&m);
	if (n == 0)
		why = "has no reference (cephvold stopped while attaching or detaching)";
	else if (!as.mounted)
		why = "is not mounted any more";
	else {
		why = "lost its cephvol-mount, so its I/O fails";
		metrics_event(EV_HELPER_LOST);
	}
	log_warn("repair: volume=%s %s (%u reference(s), mounted=%s, helper=%s): "
	    "references dropped, detaching in the background", name, why, n,
	    as.mounted ? "yes" : "no", as.helper_alive ? "alive" : "gone");
	metrics_event(EV_REPAIR);
	mounts_drop_refs(hs->mt, name);
	return true;
}

struct strangers {
	struct hoststate	*hs;
	const char		*root;
	size_t			 rl;
};

/* A mount point directly below the mount root that no entry names. */
static void
stranger(const char *mp, void *arg)
{
	struct strangers *s = arg;
	const char *name;

	if (strncmp(mp, s->root, s->rl) != 0 || mp[s->rl] != '/')
		return;
	name = mp + s->rl + 1;
	if (strchr(name, '/') || mounts_has(s->hs->mt, name))
		return;
	log_warn("mount %s is below the mount root but no reference of this host "
	    "names it; left alone (unmount it by hand if no container uses it)", mp);
}

unsigned
hoststate_reconcile(struct hoststate *hs)
{
	const char *root = hs->cfg->plugin_mount_root;
	struct strangers s = { hs, root, strlen(root) };
	unsigned repairs = 0, kept = 0;
	char **names;
	size_t n;

	if (mounts_names(hs->mt, false, &names, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			repairs += reconcile_one(hs, names[i], &kept);
			free(names[i]);
		}
		free(names);
	}
	mountinfo_each(stranger, &s);
	log_info("mount state: %u volume(s) kept, %u to repair", kept, repairs);
	return repairs;
}

/* The background detach of an idle entry, in its volume's turn. */
static void
idle_work(struct job *job, void *arg)
{
	struct hoststate *hs = arg;
	const char *name = job_name(job);
	char mp[PATH_MAX] = "", why[1024];
	int r;

	if (mounts_refs(hs->mt, name) > 0)
		return;
	r = detach_entry(hs, job, name, mp, sizeof(mp), why, sizeof(why));
	if (r == 0)
		log_info("repair: volume=%s detached", name);
	else if (r != -ENOENT)
		log_err("repair: volume=%s: cannot detach from %s: %s; the entry is "
		    "kept, the next Mount or restart retries", name, mp, why);
}

void
hoststate_detach_idle(struct hoststate *hs, struct jobs *jobs)
{
	char **names;
	size_t n;

	if (mounts_names(hs->mt, true, &names, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct job_spec spec = {
			.what = "repair",
			.name = names[i],
			.work = idle_work,
			.arg = hs,
		};
		if (job_start(jobs, &spec) < 0)
			log_err("repair: volume=%s: cannot start a thread", names[i]);
		free(names[i]);
	}
	free(names);
}
