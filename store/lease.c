/*
 * lease.c - a volume's lease: RADOS lock "cephvol.lease" on its header,
 * a generation every acquirer bumps, renewal that survives stalls,
 * takeover with blocklisting; and mount registrations (shared locks).
 *
 * The generation. The header's xattr "cephvol.lease_gen" (16 hex digits)
 * is bumped in the same atomic operation that takes the lock, and by
 * lease_break(). Every renewal carries "generation is still mine" as a
 * guard (cmpxattr) in the same operation as the lock method, so a holder
 * that was away (stopped, partitioned, stalled) while someone else held
 * the volume, even briefly, learns it at its first renewal and never
 * writes again: what decides is the cluster's record, not the blocklist,
 * whose entries expire and can be removed by hand.
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
 * the lock's record (store/lockop.h) to learn who held it last; if our
 * lock then succeeds where another client was listed, that client's lock
 * expired, and we blocklist its address and wait for the new osdmap
 * before returning: no byte of ours is written until the OSDs refuse the
 * old holder's.
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
#include <signal.h>
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
#include "store/lockop.h"

#define LEASE_LOCK	"cephvol.lease"
#define GEN_XATTR	"cephvol.lease_gen"
#define REG_TAG		"cephvol.mounted"
/* "client.N COOKIE" of the last holder that let go cleanly */
#define RELEASED_XATTR	"cephvol.lease_released"
#define GEN_LEN		16
#define NSEC		1000000000ull
#define MAX_LOCKERS	16

#ifndef EBLOCKLISTED
#define EBLOCKLISTED	ESHUTDOWN
#endif

struct lease {
	struct store	*st;			/* borrowed */
	char		 oid[64];
	char		 volume[NAME_MAX_LEN + 1];
	char		 cookie[64];
	char		 desc[512];
	char		 gen[GEN_LEN + 1];	/* ours; "" = none (old volume) */
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

/* ---- who holds it -------------------------------------------------------- */

static void
parse_desc(const char *desc, struct lease_holder *h)
{
	char copy[512], *save = NULL, *tok;

	snprintf(copy, sizeof(copy), "%s", desc);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (strncmp(tok, "host=", 5) == 0)
			snprintf(h->host, sizeof(h->host), "%s", tok + 5);
		else if (strncmp(tok, "user=", 5) == 0)
			snprintf(h->user, sizeof(h->user), "%s", tok + 5);
		else if (strncmp(tok, "pid=", 4) == 0)
			h->pid = atoi(tok + 4);
		else if (strncmp(tok, "since=", 6) == 0)
			h->since = strtoll(tok + 6, NULL, 10);
	}
}

/* Fallback: the lock listing (live lockers only, no description). */
static int
list_lockers(struct store *st, const char *oid, struct lease_holder *out)
{
	char tag[256], clients[512], cookies[512], addrs[512];
	size_t tl = sizeof(tag), cl = sizeof(clients), kl = sizeof(cookies),
	    al = sizeof(addrs);
	int excl = 0;
	ssize_t n;

	n = rados_list_lockers(store_ioctx(st), oid, LEASE_LOCK, &excl, tag, &tl,
	    clients, &cl, cookies, &kl, addrs, &al);
	if (n == -ENOENT || n == 0)
		return 0;
	if (n < 0)
		return (int)n;
	memset(out, 0, sizeof(*out));
	snprintf(out->client, sizeof(out->client), "%s", clients);
	snprintf(out->cookie, sizeof(out->cookie), "%s", cookies);
	snprintf(out->addr, sizeof(out->addr), "%s", addrs);
	out->shared = !excl;
	return 1;
}

/* Every locker, expired ones included; the number, or -errno. */
static int
holders(struct store *st, const char *oid, struct lease_holder *out, int max)
{
	struct lockop_locker l[MAX_LOCKERS];
	enum lockop_type type = LOCKOP_EXCLUSIVE;
	int n;

	if (max > MAX_LOCKERS)
		max = MAX_LOCKERS;
	n = lockop_lockers(store_ioctx(st), oid, LEASE_LOCK, l, max, &type);
	if (n == -EINVAL)
		return list_lockers(st, oid, out);
	for (int i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].client, sizeof(out[i].client), "%s", l[i].client);
		snprintf(out[i].addr, sizeof(out[i].addr), "%s", l[i].addr);
		snprintf(out[i].cookie, sizeof(out[i].cookie), "%s", l[i].cookie);
		out[i].expires = l[i].expires;
		out[i].expired = l[i].expired;
		out[i].shared = type == LOCKOP_SHARED;
		parse_desc(l[i].desc, &out[i]);
	}
	return n;
}

const char *
lease_holder_describe(const struct lease_holder *h, char *buf, size_t len)
{
	char when[32] = "an unknown time";

	if (h->since)
		time_format(h->since, when, sizeof(when));
	snprintf(buf, len, "%s (%s%s%s) on %s, pid %d, since %s%s",
	    h->user[0] ? h->user : h->client, h->user[0] ? h->client : "",
	    h->user[0] ? ", " : "", h->addr, h->host[0] ? h->host : "an unknown host",
	    h->pid, when, h->expired ? " (lease expired)" : "");
	return buf;
}

int
lease_holders(struct store *st, const char *id, struct lease_holder *out, int max)
{
	char oid[64];

	return holders(st, catalog_header_oid(id, oid, sizeof(oid)), out, max);
}

int
lease_holder(struct store *st, const char *id, struct lease_holder *out)
{
	struct lease_holder h[MAX_LOCKERS];
	int n = lease_holders(st, id, h, MAX_LOCKERS);

	if (n < 0)
		return n;
	if (n == 0)
		return -ENOENT;
	for (int i = 0; i < n; i++) {
		if (!h[i].expired) {
			*out = h[i];
			return 0;
		}
	}
	*out = h[0];
	return 0;
}

/* "volume V is in use by ..." or "... is mounted by ..." into err. */
static void
busy_message(struct store *st, const char *oid, const char *volume, char *err,
    size_t errlen)
{
	struct lease_holder h[MAX_LOCKERS];
	char who[512];
	int n = holders(st, oid, h, MAX_LOCKERS), live = 0, first = -1;

	for (int i = 0; i < n; i++)
		if (!h[i].expired && live++ == 0)
			first = i;
	if (first < 0) {
		snprintf(err, errlen, "volume %s is in use by another client (it "
		    "let go meanwhile; retry)", volume);
		return;
	}
	lease_holder_describe(&h[first], who, sizeof(who));
	if (h[first].shared)
		snprintf(err, errlen, "volume %s is mounted by %s%s", volume, who,
		    live > 1 ? " and other hosts" : "");
	else
		snprintf(err, errlen, "volume %s is in use by %s", volume, who);
	/* A holder on this very host whose process is gone (killed, crashed)
	 * cannot let go: say so, and when its lease runs out by itself. */
	char host[256] = "", until[32] = "soon";
	gethostname(host, sizeof(host) - 1);
	if (h[first].pid > 0 && strcmp(h[first].host, host) == 0 &&
	    kill(h[first].pid, 0) < 0 && errno == ESRCH) {
		size_t o = strlen(err);
		if (h[first].expires)
			time_format(h[first].expires, until, sizeof(until));
		snprintf(err + o, errlen - o, "; that process is gone from this host, "
		    "and its lease expires by itself at %s (then this works)", until);
	}
}

/* ---- the generation ------------------------------------------------------- */

/* Into gen (GEN_LEN + 1 bytes): "" when none; -ENOENT if no header. */
static int
gen_read(struct store *st, const char *oid, char *gen)
{
	char buf[64];
	int r = rados_getxattr(store_ioctx(st), oid, GEN_XATTR, buf, sizeof(buf) - 1);

	gen[0] = '\0';
	if (r == -ENODATA)
		return 0;
	if (r < 0)
		return r;
	buf[r] = '\0';
	snprintf(gen, GEN_LEN + 1, "%s", buf);
	return 0;
}

static void
gen_next(const char *gen, char *next)
{
	uint64_t v = gen[0] ? strtoull(gen, NULL, 16) : 0;

	snprintf(next, GEN_LEN + 1, "%016" PRIx64, v + 1);
}

/* assert_exists, and "generation is gen" unless gen is "" (an old
 * volume: then "there is none yet"). */
static void
guard_generation(rados_write_op_t op, const char *gen)
{
	rados_write_op_assert_exists(op);
	rados_write_op_cmpxattr(op, GEN_XATTR, LIBRADOS_CMPXATTR_OP_EQ, gen,
	    strlen(gen));
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
	guard_generation(op, ls->gen);
	r = lockop_lock(op, LEASE_LOCK, ls->shared ? LOCKOP_SHARED : LOCKOP_EXCLUSIVE,
	    ls->cookie, ls->shared ? REG_TAG : "", ls->desc, ls->seconds, flags,
	    buf, sizeof(buf), NULL);
	if (r == 0 && set_gen)
		rados_write_op_setxattr(op, GEN_XATTR, set_gen, strlen(set_gen));
	if (r == 0)
		r = rados_write_op_operate(op, store_ioctx(ls->st), ls->oid, NULL,
		    LIBRADOS_OPERATION_FULL_FORCE);
	rados_release_write_op(op);
	return r;
}

/* ---- fencing others ------------------------------------------------------- */

/* Blocklist h's address and wait until our osdmap has it. */
static int
blocklist(struct store *st, const struct lease_holder *h, char *err, size_t errlen)
{
	char addr[sizeof(h->addr)];
	int r;

	snprintf(addr, sizeof(addr), "%s", h->addr);
	uint64_t t0 = now_ns();
	r = rados_blocklist_add(store_cluster(st), addr, 0);
	log_debug("blocklist add %s: %d in %.1f ms", addr, r,
	    (double)(now_ns() - t0) / 1e6);
	if (r < 0) {
		snprintf(err, errlen, "cannot blocklist %s (%s): %s", h->addr,
		    h->client, strerror(-r));
		return r;
	}
	t0 = now_ns();
	r = rados_wait_for_latest_osdmap(store_cluster(st));
	log_debug("wait for latest osdmap: %d in %.1f ms", r,
	    (double)(now_ns() - t0) / 1e6);
	if (r < 0) {
		snprintf(err, errlen, "blocklisted %s but cannot get the new osdmap: "
		    "%s", h->addr, strerror(-r));
		return r;
	}
	log_info("blocklisted %s (%s on %s, pid %d)", h->addr, h->client,
	    h->host[0] ? h->host : "?", h->pid);
	return 0;
}

/* Break one locker's lock; -ENOENT (already gone, or its lock expired
 * and is trimmed) counts as done. */
static int
break_one(struct store *st, const char *oid, const struct lease_holder *h)
{
	rados_write_op_t op = rados_create_write_op();
	char buf[LOCKOP_BUF];
	int r = -ENOMEM;

	if (op && (r = lockop_break(op, LEASE_LOCK, h->client, h->cookie, buf,
	    sizeof(buf))) == 0)
		r = rados_write_op_operate(op, store_ioctx(st), oid, NULL,
		    LIBRADOS_OPERATION_FULL_FORCE);
	if (op)
		rados_release_write_op(op);
	return r == -ENOENT ? 0 : r;
}

/* Move the generation on, guarded by the one read: every holder of the
 * old one is lost from its next renewal, whatever its blocklist says. */
static int
bump_generation(struct store *st, const char *oid, char *next)
{
	char gen[GEN_LEN + 1];
	int r = -EAGAIN;

	for (int attempt = 0; attempt < 16 && r == -EAGAIN; attempt++) {
		if ((r = gen_read(st, oid, gen)) < 0)
			return r;
		gen_next(gen, next);
		rados_write_op_t op = rados_create_write_op();
		if (op == NULL)
			return -ENOMEM;
		guard_generation(op, gen);
		rados_write_op_setxattr(op, GEN_XATTR, next, strlen(next));
		r = rados_write_op_operate(op, store_ioctx(st), oid, NULL,
		    LIBRADOS_OPERATION_FULL_FORCE);
		rados_release_write_op(op);
		if (r == -ECANCELED)
			r = -EAGAIN;
	}
	return r;
}

int
lease_break(struct store *st, const char *id, struct lease_holder *broken,
    char *err, size_t errlen)
{
	struct lease_holder h[MAX_LOCKERS];
	char oid[64], next[GEN_LEN + 1], done[64][128];
	unsigned ndone = 0;
	bool any = false;
	int n, r;

	catalog_header_oid(id, oid, sizeof(oid));
	/* Blocklist, then move the generation, then break; again while the
	 * record lists a live locker not yet handled (a registration that
	 * joined meanwhile, or more than one read holds). An expired locker
	 * stays in the record until the next lock write: handled once. */
	for (int round = 0; round < 64; round++) {
		int todo = 0;

		n = holders(st, oid, h, MAX_LOCKERS);
		if (n < 0) {
			snprintf(err, errlen, "cannot read lock %s on %s: %s", LEASE_LOCK,
			    oid, strerror(-n));
			return n;
		}
		for (int i = 0; i < n; i++) {
			char key[128];
			bool seen = false;
			snprintf(key, sizeof(key), "%s %s", h[i].client, h[i].cookie);
			for (unsigned k = 0; k < ndone && !seen; k++)
				seen = strcmp(done[k], key) == 0;
			if (seen || (any && h[i].expired))
				continue;
			h[todo++] = h[i];
			if (ndone < 64)
				snprintf(done[ndone++], sizeof(done[0]), "%s", key);
		}
		n = todo;
		if (n == 0)
			break;
		if (!any && broken)
			*broken = h[0];
		for (int i = 0; i < n; i++)
			if ((r = blocklist(st, &h[i], err, errlen)) < 0)
				return r;
		if ((r = bump_generation(st, oid, next)) < 0) {
			snprintf(err, errlen, "blocklisted %s but cannot move the lease "
			    "generation of %s: %s", h[0].addr, oid, strerror(-r));
			return r;
		}
		for (int i = 0; i < n; i++) {
			if ((r = break_one(st, oid, &h[i])) < 0) {
				snprintf(err, errlen, "blocklisted %s but cannot break its "
				    "lock on %s: %s", h[i].addr, oid, strerror(-r));
				return r;
			}
		}
		any = true;
		log_info("broke the lease on %s (generation %s)", oid, next);
	}
	if (!any) {
		snprintf(err, errlen, "no lease is held");
		return -ENOENT;
	}
	return 0;
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

const char *
lease_generation(struct lease *ls)
{
	return ls->gen;
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
	struct lease_holder prev[MAX_LOCKERS];
	struct lease *ls;
	char next[GEN_LEN + 1];
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
		r = gen_read(st, ls->oid, ls->gen);
		if (r < 0)
			break;
		nprev = holders(st, ls->oid, prev, MAX_LOCKERS);
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
			gen_next(ls->gen, next);
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
		busy_message(st, ls->oid, volume, err, errlen);
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
	for (int i = 0; i < nprev && i < MAX_LOCKERS; i++) {
		char why[512], who[512], name[192];
		if (strcmp(prev[i].client, me) == 0 || prev[i].addr[0] == '\0')
			continue;
		if (prev[i].shared)
			continue;
		snprintf(name, sizeof(name), "%s %s", prev[i].client, prev[i].cookie);
		if (strcmp(name, released) == 0)
			continue;
		r = blocklist(st, &prev[i], why, sizeof(why));
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
