/*
 * secretsfs_refresh.c - keeping a secrets tree current while it is served:
 * the watches, the refresher thread, and revoking the whole volume. See
 * fuse/secretsfs.h for the files around it and the lock.
 *
 * Live rotation. Each followed secret is watched (secret_watch, RADOS
 * watch/notify): the callback only marks the entry dirty and wakes the
 * refresher thread, which re-reads the secret's metadata and, when the
 * version moved, fetches and opens the new record outside any lock, then
 * swaps it in (secretsfs_install) and invalidates what the kernel caches
 * of it (secretsfs_fuse_invalidate: only from this thread, never on a
 * request's path). Bound: a `cephvol secret update` is visible within a
 * few milliseconds of the notify (measured in
 * tests/integ/secretsfs_rotate.sh); if a notify is lost (watch broken,
 * client reconnect) the periodic re-check (--recheck, default 30 s), which
 * also renews every watch, catches up, so the worst case is the re-check
 * interval. Pinned secrets never move to another version.
 * Owner and mode are authenticated with the record (the store binds them
 * into its associated data), so a change of them is applied only after the
 * value opened again under the new metadata; metadata that changes while
 * it is read is read again.
 *
 * Failures. Every refresh (notify, re-check) opens the record it should
 * serve again, also when the version did not move, so the rule is simple:
 * the tree serves only what authenticates in the store now, the same as a
 * fresh mount would.
 *  - the record we should now serve fails authentication (-EBADMSG:
 *    tampered, swapped, rolled back, wrong key), whether a new version or
 *    the one we serve: our copy is wiped and the file stays listed but
 *    every open fails with EIO, logged as an error on every attempt. We do
 *    not keep serving the last good value: after a rotation the operator
 *    replaced it, possibly because it leaked, and a stale credential
 *    served silently is worse than a loud failure; a damaged current
 *    record would make every new mount fail, and a tree that keeps working
 *    hides that. A record that opens again (repaired, or a new version) is
 *    served again.
 *  - the secret (or the pinned version) was removed: the file disappears.
 *  - anything else (cluster unreachable, timeout): transient, the last
 *    value (authenticated, and still the newest we know) stays, and the
 *    refresh is retried every RETRY_S seconds.
 *  - a followed secret whose latest version goes backwards: refused, the
 *    newer value we hold stays (rollback of the metadata).
 *
 * The volume itself. The tree serves the grants of the volume it was
 * mounted for, and only while that volume exists: if its registration is
 * lost (fuse/secretsfs_server.c calls secretsfs_refresh_revoke), or the
 * periodic re-check finds the volume gone, created again under the same
 * name (another id) or granting something else, every file is withdrawn at
 * once and nothing is served again until it is mounted anew; loudly in the
 * log. A cluster that does not answer changes nothing (the values held
 * stay, as for a rotation).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "fuse/secretsfs.h"
#include "fuse/secretsfs_fuse.h"
#include "fuse/secretsfs_refresh.h"
#include "store/catalog.h"
#include "store/secretstore.h"

#define RETRY_S		2

/* An entry's value changed: the tree, then the kernel's cache of it. */
static void
entry_install(struct secretsfs *fs, struct secretsfs_entry *e,
    const struct secret_meta *m, struct secret_value *v)
{
	if (secretsfs_install(fs, e, m, v) == 0)
		secretsfs_fuse_invalidate(fs, e, false);
}

static void
entry_withdraw(struct secretsfs *fs, struct secretsfs_entry *e,
    enum secretsfs_state state, uint32_t version)
{
	secretsfs_withdraw(fs, e, state, version);
	secretsfs_fuse_invalidate(fs, e, state == SECRETSFS_GONE);
}

/*
 * Bring e up to date. Returns 0, or -errno for a transient failure that
 * should be retried (the current value stays). See the top of the file
 * for what each failure does.
 */
static int
entry_refresh(struct secretsfs *fs, struct secretsfs_entry *e)
{
	struct secret_meta m;
	struct secret_value v;
	char err[512];
	uint32_t want, have;
	enum secretsfs_state state;
	int r;

	memset(&m, 0, sizeof(m));
	r = secret_meta_get(fs->st, e->name, &m);
	pthread_mutex_lock(&fs->lock);
	have = e->cur ? e->cur->v.version : 0;
	state = e->state;
	pthread_mutex_unlock(&fs->lock);
	if (r == -ENOENT) {
		if (state != SECRETSFS_GONE) {
			log_err("volume=%s secret=%s was removed: its file is withdrawn",
			    fs->volume, e->name);
			entry_withdraw(fs, e, SECRETSFS_GONE, 0);
		}
		return 0;
	}
	if (r < 0) {
		log_warn("volume=%s secret=%s: cannot read its metadata: %s; still serving "
		    "version %u, retrying", fs->volume, e->name, strerror(-r), have);
		return r;
	}
	want = e->pin ? e->pin : m.latest;
	pthread_mutex_lock(&fs->lock);
	bool same_owner = e->uid == m.uid && e->gid == m.gid && e->mode == m.mode;
	pthread_mutex_unlock(&fs->lock);
	bool same = state == SECRETSFS_OK && have == want && same_owner;
	if (state == SECRETSFS_OK && !e->pin && want < have) {
		log_err("volume=%s secret=%s: its latest version went back from %u to %u "
		    "(rolled back metadata?); refused, still serving version %u",
		    fs->volume, e->name, have, want, have);
		secret_meta_free(&m);
		return 0;
	}
	memset(&v, 0, sizeof(v));
	err[0] = '\0';
	r = secret_value_get(fs->st, fs->mk, e->name, want, &v, err, sizeof(err));
	if (r == 0 && v.version != want) {
		secret_value_free(&v);
		r = -EBADMSG;
		snprintf(err, sizeof(err), "asked for version %u, got another", want);
	}
	if (r == 0) {
		/* The owner and mode are authenticated with the record (they
		 * are in its associated data), against the metadata the store
		 * read itself: make sure that was the metadata we hold. */
		struct secret_meta m2;
		memset(&m2, 0, sizeof(m2));
		int r2 = secret_meta_get(fs->st, e->name, &m2);
		bool unchanged = r2 == 0 && m2.uid == m.uid && m2.gid == m.gid &&
		    m2.mode == m.mode && m2.latest == m.latest;
		if (r2 == 0)
			secret_meta_free(&m2);
		if (!unchanged) {
			secret_value_free(&v);
			secret_meta_free(&m);
			log_debug("volume=%s secret=%s changed while being read, again",
			    fs->volume, e->name);
			return -EAGAIN;
		}
	}
	if (r == 0 && same) {
		/* The record we serve still opens: keep our copy. */
		secret_value_free(&v);
		secret_meta_free(&m);
		return 0;
	}
	if (r == 0) {
		entry_install(fs, e, &m, &v);
		if (state == SECRETSFS_OK && have == want)
			log_info("volume=%s secret=%s version %u: owner %u:%u mode %04o "
			    "(authenticated)", fs->volume, e->name, want, (unsigned)m.uid,
			    (unsigned)m.gid, (unsigned)m.mode);
		else if (state == SECRETSFS_OK) {
			atomic_fetch_add(&fs->n_rotations, 1);
			log_info("volume=%s secret=%s rotated: version %u -> %u", fs->volume,
			    e->name, have, want);
		} else
			log_info("volume=%s secret=%s served again: version %u", fs->volume,
			    e->name, want);
	} else if (r == -EBADMSG) {
		atomic_fetch_add(&fs->n_failures, 1);
		log_err("!!! volume=%s secret=%s version %u FAILED AUTHENTICATION (tampered, "
		    "swapped, rolled back or wrong key): %s; nothing is served for it, its "
		    "file fails with EIO !!!", fs->volume, e->name, want,
		    err[0] ? err : strerror(-r));
		entry_withdraw(fs, e, SECRETSFS_BAD, want);
		r = 0;
	} else if (r == -ENOENT) {
		log_err("volume=%s secret=%s version %u no longer exists: its file is "
		    "withdrawn", fs->volume, e->name, want);
		entry_withdraw(fs, e, SECRETSFS_GONE, want);
		r = 0;
	} else {
		log_warn("volume=%s secret=%s: cannot read version %u: %s; still serving "
		    "version %u, retrying", fs->volume, e->name, want,
		    err[0] ? err : strerror(-r), have);
	}
	secret_meta_free(&m);
	return r;
}

/* librados watch callback: note it and wake the refresher, nothing more. */
static void
on_notify(void *arg, const char *name)
{
	struct secretsfs_entry *e = arg;
	struct secretsfs *fs = e->fs;

	(void)name;
	atomic_store(&e->dirty, true);
	pthread_mutex_lock(&fs->lock);
	fs->kick = true;
	pthread_cond_signal(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
}

void
secretsfs_refresh_watch(struct secretsfs *fs)
{
	int r;

	/* Watch before serving, so no update between load and watch is
	 * missed for longer than one re-check: mark all dirty once after. */
	for (size_t i = 0; i < fs->n; i++) {
		struct secretsfs_entry *e = &fs->e[i];
		r = secret_watch(fs->st, e->name, on_notify, e, &e->watch);
		if (r < 0)
			log_warn("volume=%s secret=%s: cannot watch for updates: %s; they "
			    "arrive with the %u s re-check only", fs->volume, e->name,
			    strerror(-r), fs->recheck_s);
		else
			e->watching = true;
		atomic_store(&e->dirty, !e->pin);
	}
	pthread_mutex_lock(&fs->lock);
	fs->kick = true;
	pthread_mutex_unlock(&fs->lock);
}

void
secretsfs_refresh_unwatch(struct secretsfs *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		if (fs->e[i].watching)
			secret_unwatch(fs->st, fs->e[i].watch);
}

/*
 * Renew e's watch: a new one first, then drop the old, so there is no gap.
 * A watch that lapsed (OSD restart, client reconnect, blocklist) stops
 * notifications silently; renewing at every periodic re-check puts the
 * millisecond path back within one interval.
 */
static void
entry_rewatch(struct secretsfs *fs, struct secretsfs_entry *e)
{
	uint64_t h;
	int r = secret_watch(fs->st, e->name, on_notify, e, &h);

	if (r < 0) {
		log_warn("volume=%s secret=%s: cannot renew its watch: %s", fs->volume,
		    e->name, strerror(-r));
		return;
	}
	if (e->watching)
		secret_unwatch(fs->st, e->watch);
	e->watch = h;
	e->watching = true;
}

void
secretsfs_refresh_revoke(struct secretsfs *fs, const char *why)
{
	pthread_mutex_lock(&fs->lock);
	if (!atomic_exchange(&fs->revoked, true))
		snprintf(fs->revoked_why, sizeof(fs->revoked_why), "%s", why);
	fs->kick = true;
	pthread_cond_signal(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
}

/* Is the volume still the one we serve? Revoke if not; a cluster that does
 * not answer changes nothing. */
static void
volume_recheck(struct secretsfs *fs)
{
	struct volume_meta vm;
	int r;

	memset(&vm, 0, sizeof(vm));
	r = catalog_get(fs->st, fs->volume, &vm);
	if (r == -ENOENT)
		secretsfs_refresh_revoke(fs, "the volume no longer exists");
	else if (r == 0 && strcmp(vm.id, fs->id) != 0)
		secretsfs_refresh_revoke(fs, "the volume was removed and created again "
		    "(another id)");
	else if (r == 0 && !json_equal(vm.secrets, fs->grants))
		secretsfs_refresh_revoke(fs, "the volume's grants changed");
	else if (r < 0)
		log_warn("volume=%s: cannot re-read the volume: %s; still serving",
		    fs->volume, strerror(-r));
	if (r == 0)
		volume_meta_free(&vm);
}

/* Withdraw every file, once. */
static void
withdraw_all(struct secretsfs *fs)
{
	char why[256];

	if (fs->withdrawn)
		return;
	fs->withdrawn = true;
	pthread_mutex_lock(&fs->lock);
	snprintf(why, sizeof(why), "%s", fs->revoked_why);
	pthread_mutex_unlock(&fs->lock);
	log_err("!!! secrets volume=%s (id %s): %s; every secret is withdrawn and "
	    "nothing is served until it is mounted again !!!", fs->volume, fs->id,
	    why);
	for (size_t i = 0; i < fs->n; i++)
		entry_withdraw(fs, &fs->e[i], SECRETSFS_GONE, 0);
}

static void
ts_after(struct timespec *ts, unsigned s)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += s;
}

static bool
ts_passed(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec ||
	    (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

static void *
refresher_main(void *arg)
{
	struct secretsfs *fs = arg;
	struct timespec next_check, retry_at;
	bool all = false, retrying = false;

	ts_after(&next_check, fs->recheck_s);
	pthread_mutex_lock(&fs->lock);
	for (;;) {
		while (!fs->stop && !fs->kick) {
			const struct timespec *until = retrying &&
			    retry_at.tv_sec < next_check.tv_sec ? &retry_at : &next_check;
			if (ts_passed(until))
				break;
			pthread_cond_timedwait(&fs->cond, &fs->lock, until);
		}
		if (fs->stop)
			break;
		fs->kick = false;
		if (ts_passed(&next_check)) {
			all = true;
			ts_after(&next_check, fs->recheck_s);
		}
		pthread_mutex_unlock(&fs->lock);

		if (all && !atomic_load(&fs->revoked))
			volume_recheck(fs);
		if (atomic_load(&fs->revoked)) {
			withdraw_all(fs);
			all = false;
			retrying = false;
			pthread_mutex_lock(&fs->lock);
			continue;
		}

		if (all)
			for (size_t i = 0; i < fs->n; i++)
				entry_rewatch(fs, &fs->e[i]);
		bool failed = false;
		for (size_t i = 0; i < fs->n; i++) {
			struct secretsfs_entry *e = &fs->e[i];
			bool dirty = atomic_exchange(&e->dirty, false);
			if (!all && !dirty && !retrying)
				continue;
			if (entry_refresh(fs, e) < 0) {
				atomic_store(&e->dirty, true);
				failed = true;
			}
		}
		all = false;
		retrying = failed;
		if (failed)
			ts_after(&retry_at, RETRY_S);

		pthread_mutex_lock(&fs->lock);
	}
	pthread_mutex_unlock(&fs->lock);
	return NULL;
}

int
secretsfs_refresh_start(struct secretsfs *fs)
{
	int r = pthread_create(&fs->refresher, NULL, refresher_main, fs);

	return -r;
}

void
secretsfs_refresh_stop(struct secretsfs *fs)
{
	pthread_mutex_lock(&fs->lock);
	fs->stop = true;
	pthread_cond_signal(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
	pthread_join(fs->refresher, NULL);
}
