/*
 * lease.c - holding a volume's lease: RADOS lock "cephvol.lease" on its
 * header, taken with a new generation, renewed in a way that survives
 * stalls, taken over from an expired holder with blocklisting; and mount
 * registrations (shared locks). Who holds a lease is lease_holder.c,
 * the generation lease_gen.c (every lock operation here is guarded by
 * it), breaking one lease_break.c.
 *
 * Holding. lease_acquire() locks with a duration of `seconds`, noting the
 * time t0 just before asking; the OSD's expiry is at least t0 + seconds,
 * so our deadline t0 + seconds (less 1/32 for clock rate) comes first. A
 * renewer thread renews every seconds/3 (MUST_RENEW, guarded by the
 * generation); each success moves the deadline to its own t0 + seconds
 * and calls resume(). A watchdog thread calls hold() when the deadline
 * passes unrenewed: from then on another host may take the volume, so the
 * holder must not send anything and must take back what librados still
 * queues (it would resend it by itself once the cluster is back). The
 * renewer goes on trying with no time limit: when the OSDs answer again,
 * a renewal whose lock expired meanwhile gets -ENOENT, and a fresh lock
 * guarded by the same generation takes it back if nobody else had it
 * (resume()), or fails (lost()). Lost, for good, on: -ECANCELED
 * (generation moved), -EBUSY (someone else's lock), -ENOENT twice (header
 * gone: the volume was removed), -EBLOCKLISTED. lease_valid() reads the
 * clock itself (CLOCK_BOOTTIME: it counts while the process is stopped),
 * so a resumed process sees that its lease is unconfirmed before any of
 * our threads ran.
 *
 * Full pool. Every lock operation is sent with LIBRADOS_OPERATION_FULL_FORCE:
 * it changes an xattr, no data, and must not wait for free space.
 *
 * Takeover. cls_lock drops an expired locker by itself when someone else
 * locks, and its listing hides expired lockers. So before locking we read
 * the lock's record (lease_holder_list) to learn who held it last; if our
 * lock then succeeds where another client was listed, that client's lock
 * expired, and we blocklist its address and wait for the new osdmap
 * before returning (lease_holder_blocklist): no byte of ours is written
 * until the OSDs refuse the old holder's. A holder that let go cleanly
 * said so in "cephvol.lease_released" and is not fenced.
 *
 * Registrations (lease_register) are shared locks with tag
 * "cephvol.mounted" on the same lock name: any number coexist, and an
 * exclusive lock (a lease, volume rm) is refused while one lives. They are
 * renewed the same way; they have no generation of their own and do not
 * bump it, but are guarded by it: an exclusive acquirer in between means
 * the volume is being removed or was taken, and the registration is lost.
 *
 * The holder's host, user (ceph.client), pid and since are in the lock
 * description "host=H user=U pid=P since=S".
 *
 * Locking: `lock` guards `stop`, `held` and the callbacks, which run only
 * with it held (so hold, resume and lost never interleave); `lost` and
 * `deadline` are atomics read lock-free by lease_valid().
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <rados/librados.h>

#include "common/log.h"
#include "common/util.h"
#include "store/catalog_entry.h"
#include "store/catalog_header.h"
#include "store/conn.h"
#include "store/lease.h"
#include "store/lease_gen.h"
#include "store/lease_holder.h"
#include "store/lockop.h"

#define REG_TAG		"cephvol.mounted"
/* "client.N COOKIE" of the last holder that let go cleanly */
#define RELEASED_XATTR	"cephvol.lease_released"
#define NSEC		1000000000ull

#ifndef EBLOCKLISTED
#define EBLOCKLISTED	ESHUTDOWN
#endif

struct lease {
	struct store	*st;			/* borrowed */
	char		 oid[64];
	char		 volume[NAME_MAX_LEN + 1];
	char		 cookie[64];
	char		 desc[512];
	char		 gen[LEASE_GEN_LEN + 1];	/* ours; "" = none (old volume) */
	unsigned	 seconds;
	uint64_t	 t_locked;		/* boottime ns, when the lock was asked */
	bool		 shared;
	struct lease_events ev;
	struct lease_holder taken_from;
	bool		 took_over;

	_Atomic uint64_t deadline;		/* boottime ns */
	atomic_bool	 lost;

	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;			/* CLOCK_MONOTONIC */
	bool		 stop;			/* lock */
	bool		 held;			/* lock: hold() told, no resume yet */
	bool		 lost_told;		/* lock */
	uint64_t	 held_since;		/* lock: boottime ns */
	pthread_t	 renewer, watchdog;
};

static uint64_t
boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static struct timespec
mono_after(uint64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns += (uint64_t)ts.tv_nsec;
	ts.tv_sec += (time_t)(ns / NSEC);
	ts.tv_nsec = (long)(ns % NSEC);
	return ts;
}

/* One guarded lock operation of ours on the header. */
static int
lock_op(struct lease *ls, uint8_t flags, const char *set_gen)
{
	rados_write_op_t op = rados_create_write_op();
	char buf[LOCKOP_BUF];
	int r;

	if (op == NULL)
		return -ENOMEM;
	lease_gen_guard(op, ls->gen);
	r = lockop_lock(op, LEASE_LOCK, ls->shared ? LOCKOP_SHARED : LOCKOP_EXCLUSIVE,
	    ls->cookie, ls->shared ? REG_TAG : "", ls->desc, ls->seconds, flags,
	    buf, sizeof(buf), NULL);
	if (r == 0 && set_gen)
		rados_write_op_setxattr(op, LEASE_GEN_XATTR, set_gen, strlen(set_gen));
	if (r == 0)
		r = rados_write_op_operate(op, store_ioctx(ls->st), ls->oid, NULL,
		    LIBRADOS_OPERATION_FULL_FORCE);
	rados_release_write_op(op);
	return r;
}

/* ---- our own lease: events -------------------------------------------------- */

/* Callers hold ls->lock. */
static void
tell_lost(struct lease *ls, int err)
{
	atomic_store(&ls->lost, true);
	if (ls->lost_told)
		return;
	ls->lost_told = true;
	log_err("lease on volume=%s lost: %s; no further I/O", ls->volume,
	    err == -ECANCELED ? "another client acquired it meanwhile (its "
	    "generation moved)" : err == -ENOENT ? "the volume's header is gone "
	    "(removed)" : err == -EBUSY ? "another client holds it" :
	    err == -EBLOCKLISTED ? "this client was blocklisted" : strerror(-err));
	if (ls->ev.lost)
		ls->ev.lost(ls->ev.arg, err);
}

/* Told on every watchdog tick while the deadline is past (holding is
 * idempotent, and a hold skipped because a renewal landed meanwhile must
 * be asked again if that renewal's own deadline passes too). */
static void
tell_hold(struct lease *ls)
{
	if (ls->lost_told)
		return;
	if (!ls->held) {
		ls->held = true;
		ls->held_since = boot_ns();
		log_warn("lease on volume=%s not renewed in %u s (cluster stalled or "
		    "this process stopped): I/O is held until it is renewed",
		    ls->volume, ls->seconds);
	}
	if (ls->ev.hold)
		ls->ev.hold(ls->ev.arg);
}

static void
tell_resume(struct lease *ls)
{
	if (ls->lost_told)
		return;
	if (ls->held) {
		ls->held = false;
		log_warn("lease on volume=%s renewed after %.1f s unconfirmed: I/O "
		    "resumes", ls->volume, (double)(boot_ns() - ls->held_since) / 1e9);
	}
	if (ls->ev.resume)
		ls->ev.resume(ls->ev.arg);
}

bool
lease_valid(struct lease *ls)
{
	return !atomic_load(&ls->lost) && boot_ns() < atomic_load(&ls->deadline);
}

bool
lease_lost(struct lease *ls)
{
	return atomic_load(&ls->lost);
}

bool
lease_taken_from(struct lease *ls, struct lease_holder *out)
{
	if (ls->took_over && out)
		*out = ls->taken_from;
	return ls->took_over;
}

const char *
lease_cookie(struct lease *ls)
{
	return ls->cookie;
}

static uint64_t
lease_ns(const struct lease *ls)
{
	uint64_t ns = (uint64_t)ls->seconds * NSEC;

	return ns - ns / 32;
}

/* Wait up to ns or until stop; returns true when stopping. */
static bool
wait_or_stop(struct lease *ls, uint64_t ns)
{
	struct timespec ts = mono_after(ns);
	bool stop;

	pthread_mutex_lock(&ls->lock);
	while (!ls->stop) {
		if (pthread_cond_timedwait(&ls->cond, &ls->lock, &ts) == ETIMEDOUT)
			break;
	}
	stop = ls->stop;
	pthread_mutex_unlock(&ls->lock);
	return stop;
}

/* One renewal: 0 renewed, 1 retry later, <0 lost for good. */
static int
renew_once(struct lease *ls, uint64_t t0)
{
	int r = lock_op(ls, LOCKOP_MUST_RENEW, NULL);

	if (r == -ENOENT) {
		/* Our lock expired (or the header is gone). Nobody else can
		 * have had it: any acquirer moves the generation, and the
		 * guard would have said so. Take it back, same guard. */
		r = lock_op(ls, LOCKOP_MAY_RENEW, NULL);
		if (r == 0)
			log_warn("lease on volume=%s: its lock had expired; taken back "
			    "(the generation shows nobody held it meanwhile)", ls->volume);
	}
	if (r == 0) {
		uint64_t dl = t0 + lease_ns(ls), cur = atomic_load(&ls->deadline);
		if (dl > cur)
			atomic_store(&ls->deadline, dl);
		return 0;
	}
	if (r == -ECANCELED || r == -ENOENT || r == -EBUSY || r == -EBLOCKLISTED ||
	    r == -EEXIST)
		return r == -EEXIST ? -EBUSY : r;
	log_warn("renewing lease on volume=%s: %s; retrying", ls->volume, strerror(-r));
	return 1;
}

static void *
renewer_main(void *arg)
{
	struct lease *ls = arg;
	uint64_t every = (uint64_t)ls->seconds * NSEC / 3;
	uint64_t next = ls->t_locked + every;	/* from the lock, not from now */

	for (;;) {
		uint64_t now = boot_ns();
		if (wait_or_stop(ls, next > now ? next - now : 0))
			return NULL;
		uint64_t t0 = boot_ns();
		/* No time limit: a stalled cluster makes this wait, and the
		 * watchdog holds I/O meanwhile. */
		int r = renew_once(ls, t0);
		pthread_mutex_lock(&ls->lock);
		if (ls->stop) {
			pthread_mutex_unlock(&ls->lock);
			return NULL;
		}
		if (r < 0) {
			tell_lost(ls, r);
			pthread_cond_broadcast(&ls->cond);
			pthread_mutex_unlock(&ls->lock);
			return NULL;
		}
		if (r == 0 && boot_ns() < atomic_load(&ls->deadline))
			tell_resume(ls);
		pthread_cond_broadcast(&ls->cond);
		pthread_mutex_unlock(&ls->lock);
		if (r == 0 && boot_ns() < atomic_load(&ls->deadline))
			next = t0 + every;
		else
			next = boot_ns() + (every / 4 < NSEC ? every / 4 : NSEC);
	}
}

static void *
watchdog_main(void *arg)
{
	struct lease *ls = arg;

	pthread_mutex_lock(&ls->lock);
	while (!ls->stop && !atomic_load(&ls->lost)) {
		uint64_t now = boot_ns(), dl = atomic_load(&ls->deadline);
		if (now >= dl) {
			tell_hold(ls);
			/* until a renewal moves the deadline (it broadcasts) */
			struct timespec ts = mono_after(NSEC);
			pthread_cond_timedwait(&ls->cond, &ls->lock, &ts);
			continue;
		}
		struct timespec ts = mono_after(dl - now);
		pthread_cond_timedwait(&ls->cond, &ls->lock, &ts);
	}
	pthread_mutex_unlock(&ls->lock);
	return NULL;
}

/* ---- acquiring -------------------------------------------------------------- */

static struct lease *
lease_new(struct store *st, const char *volume, const char *id, unsigned seconds,
    bool shared, const struct lease_events *ev)
{
	struct lease *ls = calloc(1, sizeof(*ls));
	unsigned char rnd[8];
	char host[256] = "";

	if (ls == NULL)
		return NULL;
	ls->st = st;
	ls->seconds = seconds;
	ls->shared = shared;
	if (ev)
		ls->ev = *ev;
	snprintf(ls->volume, sizeof(ls->volume), "%s", volume);
	catalog_header_oid(id, ls->oid, sizeof(ls->oid));
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	snprintf(ls->cookie, sizeof(ls->cookie), "cephvol-%02x%02x%02x%02x%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	gethostname(host, sizeof(host) - 1);
	snprintf(ls->desc, sizeof(ls->desc), "host=%s user=%s pid=%d since=%" PRId64,
	    host[0] ? host : "unknown", store_client(st), (int)getpid(),
	    (int64_t)time(NULL));
	return ls;
}

/* Let go, and say so in the same step (RELEASED_XATTR): the next
 * acquirer then knows it need not fence us. */
static void
unlock_quietly(struct lease *ls)
{
	rados_write_op_t op = rados_create_write_op();
	char buf[LOCKOP_BUF], name[192];
	int r = -ENOMEM;

	snprintf(name, sizeof(name), "client.%" PRIu64 " %s",
	    store_instance_id(ls->st), ls->cookie);
	if (op && lockop_unlock(op, LEASE_LOCK, ls->cookie, buf, sizeof(buf)) == 0) {
		if (!ls->shared)
			rados_write_op_setxattr(op, RELEASED_XATTR, name, strlen(name));
		r = rados_write_op_operate(op, store_ioctx(ls->st), ls->oid, NULL,
		    LIBRADOS_OPERATION_FULL_FORCE);
	}
	if (op)
		rados_release_write_op(op);
	if (r < 0 && r != -ENOENT)
		log_warn("cannot unlock lease on volume=%s: %s", ls->volume,
		    strerror(-r));
}

/* The volume must still exist, ready, with this id. */
static int
check_catalogue(struct lease *ls, const char *id, char *err, size_t errlen)
{
	struct catalog_entry e;
	struct volume_meta m;
	int r;

	r = catalog_entry_get(ls->st, ls->volume, &e);
	if (r == 0) {
		bool ok = !e.bad && e.state == CATALOG_READY && strcmp(e.id, id) == 0;
		free(e.raw);
		r = ok ? 0 : -ENOENT;
	}
	if (r == 0 && (r = catalog_header_read(ls->st, id, &m)) == 0)
		volume_meta_free(&m);
	if (r == -ENOENT)
		snprintf(err, errlen, "volume %s does not exist (or is being removed)",
		    ls->volume);
	else if (r < 0)
		snprintf(err, errlen, "cannot read volume %s: %s", ls->volume,
		    strerror(-r));
	return r;
}

static int
start_threads(struct lease *ls, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	int r;

	pthread_mutex_init(&ls->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ls->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((r = -pthread_create(&ls->renewer, NULL, renewer_main, ls)) < 0) {
		snprintf(err, errlen, "cannot start the lease thread: %s", strerror(-r));
		return r;
	}
	if ((r = -pthread_create(&ls->watchdog, NULL, watchdog_main, ls)) < 0) {
		pthread_mutex_lock(&ls->lock);
		ls->stop = true;
		pthread_cond_broadcast(&ls->cond);
		pthread_mutex_unlock(&ls->lock);
		pthread_join(ls->renewer, NULL);
		snprintf(err, errlen, "cannot start the lease thread: %s", strerror(-r));
		return r;
	}
	return 0;
}

static int
acquire(struct store *st, const char *volume, const char *id, unsigned seconds,
    bool shared, const struct lease_events *ev, struct lease **out, char *err,
    size_t errlen)
{
	struct lease_holder prev[LEASE_MAX_LOCKERS];
	struct lease *ls;
	char next[LEASE_GEN_LEN + 1];
	uint64_t t0 = 0;
	int nprev = 0, r = -EAGAIN;

	if (seconds < 1) {
		snprintf(err, errlen, "a lease needs at least one second");
		return -EINVAL;
	}
	if ((ls = lease_new(st, volume, id, seconds, shared, ev)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int attempt = 0; attempt < 16; attempt++) {
		/* generation, then lockers, then the lock guarded by that
		 * generation: whoever took the lock after we read it moved the
		 * generation (-ECANCELED, look again), whoever took it before
		 * is in the record we read */
		r = lease_gen_read(st, ls->oid, ls->gen);
		if (r < 0)
			break;
		nprev = lease_holder_list(st, ls->oid, prev, LEASE_MAX_LOCKERS);
		if (nprev < 0) {
			snprintf(err, errlen, "cannot read the lease of volume %s: %s",
			    volume, strerror(-nprev));
			r = nprev;
			goto out_free;
		}
		t0 = boot_ns();
		if (shared)
			r = lock_op(ls, 0, NULL);
		else {
			lease_gen_next(ls->gen, next);
			r = lock_op(ls, 0, next);
		}
		log_debug("%s %s on %s: %d in %.1f ms (%d earlier lockers)",
		    shared ? "register" : "lock", LEASE_LOCK, ls->oid, r,
		    (double)(boot_ns() - t0) / 1e6, nprev);
		if (r != -ECANCELED)
			break;
	}
	if (r == 0 && !shared)
		snprintf(ls->gen, sizeof(ls->gen), "%s", next);
	if (r == -EBUSY || r == -EEXIST) {
		lease_holder_busy(st, ls->oid, volume, err, errlen);
		r = -EBUSY;
		goto out_free;
	}
	if (r == -ENOENT) {
		snprintf(err, errlen, "volume %s does not exist (or is being removed)",
		    volume);
		goto out_free;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot lock volume %s (%s): %s", volume,
		    ls->oid, r == -ECANCELED ? "its lease kept changing" : strerror(-r));
		goto out_free;
	}
	atomic_store(&ls->deadline, t0 + lease_ns(ls));
	ls->t_locked = t0;

	if ((r = check_catalogue(ls, id, err, errlen)) < 0) {
		unlock_quietly(ls);
		goto out_free;
	}

	/* Our lock succeeded where another holder was recorded: its lock
	 * expired and cls_lock dropped it, or it let go meanwhile. Fence it
	 * before we write, unless it let go: a clean release leaves its
	 * name in RELEASED_XATTR in the same operation (a process that lets
	 * go of a lease may live on with the same RADOS client, as cephvold
	 * does after a volume rm). Registrations are readers: never fenced. */
	char me[64], released[192] = "";
	snprintf(me, sizeof(me), "client.%" PRIu64, store_instance_id(st));
	int rl = rados_getxattr(store_ioctx(st), ls->oid, RELEASED_XATTR, released,
	    sizeof(released) - 1);
	released[rl > 0 ? rl : 0] = '\0';
	for (int i = 0; i < nprev && i < LEASE_MAX_LOCKERS; i++) {
		char why[512], who[512], name[192];
		if (strcmp(prev[i].client, me) == 0 || prev[i].addr[0] == '\0')
			continue;
		if (prev[i].shared)
			continue;
		snprintf(name, sizeof(name), "%s %s", prev[i].client, prev[i].cookie);
		if (strcmp(name, released) == 0)
			continue;
		r = lease_holder_blocklist(st, &prev[i], why, sizeof(why));
		if (r < 0) {
			unlock_quietly(ls);
			snprintf(err, errlen, "cannot take over volume %s from %s: %s",
			    volume, lease_holder_describe(&prev[i], who, sizeof(who)),
			    why);
			goto out_free;
		}
		log_warn("took over volume=%s from %s", volume,
		    lease_holder_describe(&prev[i], who, sizeof(who)));
		ls->taken_from = prev[i];
		ls->took_over = true;
	}

	if ((r = start_threads(ls, err, errlen)) < 0) {
		unlock_quietly(ls);
		goto out_free;
	}
	*out = ls;
	return 0;

out_free:
	free(ls);
	return r;
}

int
lease_acquire(struct store *st, const char *volume, const char *id,
    unsigned seconds, const struct lease_events *ev, struct lease **out,
    char *err, size_t errlen)
{
	return acquire(st, volume, id, seconds, false, ev, out, err, errlen);
}

int
lease_register(struct store *st, const char *volume, const char *id,
    unsigned seconds, const struct lease_events *ev, struct lease **out,
    char *err, size_t errlen)
{
	return acquire(st, volume, id, seconds, true, ev, out, err, errlen);
}

void
lease_release(struct lease *ls)
{
	if (ls == NULL)
		return;
	pthread_mutex_lock(&ls->lock);
	ls->stop = true;
	pthread_cond_broadcast(&ls->cond);
	pthread_mutex_unlock(&ls->lock);
	pthread_join(ls->renewer, NULL);
	pthread_join(ls->watchdog, NULL);
	if (!atomic_load(&ls->lost))
		unlock_quietly(ls);
	pthread_cond_destroy(&ls->cond);
	pthread_mutex_destroy(&ls->lock);
	free(ls);
}

