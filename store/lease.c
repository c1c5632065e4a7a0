/*
 * lease.c - a volume's lease: RADOS lock "cephvol.lease" on its header,
 * renewed in the background, self-fencing, takeover with blocklisting.
 *
 * Holding. lease_acquire() locks with a duration of `seconds`, noting the
 * time t0 just before asking. The OSD's expiry is at least t0 + seconds, so
 * our deadline t0 + seconds (less a 1/32 margin for clock rate) comes first:
 * when it passes, we stop writing before anyone can take over. A renewer
 * thread renews every seconds/3 (LIBRADOS_LOCK_FLAG_MUST_RENEW, so a lock
 * that was broken is never silently re-taken); each success moves the
 * deadline to its own t0 + seconds. A watchdog thread fires lost() at the
 * deadline even while a renewal is stuck in librados. lease_valid() reads
 * the clock itself (CLOCK_BOOTTIME: it keeps counting while the process is
 * SIGSTOPped or the host suspended), so a resumed process sees the loss
 * before any thread had a chance to run.
 *
 * Takeover. cls_lock drops an expired locker by itself when someone else
 * locks, and its lock listing hides expired lockers. So before locking we
 * read the lock's raw xattr ("lock.cephvol.lease", a cls_lock lock_info_t)
 * to learn who held it last; if our lock then succeeds where another client
 * was listed, that client's lease expired and we blocklist its address and
 * wait for the new osdmap before returning: no byte of ours is written
 * until the OSDs refuse the old holder's. lease_break() blocklists first,
 * then breaks. Never break without blocklisting.
 *
 * The holder's host, user (ceph.client), pid and since are in the lock
 * description "host=H user=U pid=P since=S".
 *
 * Locking: struct lease fields below `lock` are guarded by it; `lost` and
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
#include "store/catalog.h"
#include "store/conn.h"
#include "store/lease.h"

#define LEASE_LOCK	"cephvol.lease"
#define LEASE_XATTR	"lock." LEASE_LOCK
#define NSEC		1000000000ull

struct lease {
	struct store	*st;			/* borrowed */
	char		 oid[64];
	char		 volume[NAME_MAX_LEN + 1];
	char		 cookie[64];
	char		 desc[512];
	unsigned	 seconds;
	void		(*lost_cb)(void *, int);
	void		*lost_arg;
	struct lease_holder taken_from;
	bool		 took_over;

	_Atomic uint64_t deadline;		/* boottime ns */
	atomic_bool	 lost;
	atomic_bool	 lost_reported;

	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;			/* CLOCK_MONOTONIC */
	bool		 stop;			/* guarded by lock */
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

/* ---- decoding cls_lock's lock_info_t (Ceph's little-endian encoding) ---- */

struct dec {
	const unsigned char	*p, *end;
	bool			 bad;
};

static bool
dec_need(struct dec *d, size_t n)
{
	if (d->bad || (size_t)(d->end - d->p) < n) {
		d->bad = true;
		return false;
	}
	return true;
}

static uint64_t
dec_le(struct dec *d, unsigned n)
{
	uint64_t v = 0;

	if (!dec_need(d, n))
		return 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)d->p[i] << (8 * i);
	d->p += n;
	return v;
}

static void
dec_string(struct dec *d, char *buf, size_t len)
{
	uint32_t n = (uint32_t)dec_le(d, 4);

	buf[0] = '\0';
	if (!dec_need(d, n))
		return;
	snprintf(buf, len, "%.*s", (int)n, (const char *)d->p);
	d->p += n;
}

/* ENCODE_START: u8 version, u8 compat, u32 length. Returns the end. */
static const unsigned char *
dec_struct(struct dec *d)
{
	uint32_t len;

	dec_le(d, 1);
	dec_le(d, 1);
	len = (uint32_t)dec_le(d, 4);
	if (!dec_need(d, len))
		return d->p;
	return d->p + len;
}

static void
dec_finish(struct dec *d, const unsigned char *end)
{
	if (!d->bad && d->p <= end)
		d->p = end;
	else
		d->bad = true;
}

/* entity_addr_t -> "IP:PORT/NONCE" */
static void
dec_addr(struct dec *d, char *buf, size_t len)
{
	unsigned char fam[2], sa[16];
	uint32_t nonce;
	unsigned port;
	char ip[64] = "?";

	if (!dec_need(d, 1))
		return;
	if (d->p[0] == 1) {		/* msgr2-era encoding */
		d->p++;
		const unsigned char *end = dec_struct(d);
		dec_le(d, 4);		/* type */
		nonce = (uint32_t)dec_le(d, 4);
		uint32_t elen = (uint32_t)dec_le(d, 4);
		if (elen >= 2 && dec_need(d, elen)) {
			unsigned family = d->p[0] | (unsigned)d->p[1] << 8;
			const unsigned char *data = d->p + 2;
			if (family == 2 && elen >= 8) {
				port = (unsigned)data[0] << 8 | data[1];
				snprintf(ip, sizeof(ip), "%u.%u.%u.%u", data[2],
				    data[3], data[4], data[5]);
			} else if (family == 10 && elen >= 24) {
				char tmp[64];
				port = (unsigned)data[0] << 8 | data[1];
				size_t o = 0;
				for (int i = 0; i < 8; i++)
					o += (size_t)snprintf(tmp + o, sizeof(tmp) - o,
					    "%s%x", i ? ":" : "",
					    (unsigned)data[6 + 2 * i] << 8 | data[7 + 2 * i]);
				snprintf(ip, sizeof(ip), "[%s]", tmp);
			} else
				port = 0;
			d->p += elen;
		} else
			port = 0;
		dec_finish(d, end);
	} else {			/* legacy: u32 0, u32 nonce, sockaddr_storage */
		dec_le(d, 4);
		nonce = (uint32_t)dec_le(d, 4);
		if (!dec_need(d, 128))
			return;
		memcpy(fam, d->p, 2);
		memcpy(sa, d->p + 2, sizeof(sa));
		unsigned family = (unsigned)fam[0] << 8 | fam[1];
		port = (unsigned)sa[0] << 8 | sa[1];
		if (family == 2)
			snprintf(ip, sizeof(ip), "%u.%u.%u.%u", sa[2], sa[3], sa[4],
			    sa[5]);
		d->p += 128;
	}
	snprintf(buf, len, "%s:%u/%" PRIu32, ip, port, nonce);
}

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

/*
 * Every locker recorded in the lock's xattr, expired ones included.
 * Returns the number found (0 when there is no lock), or -errno.
 */
static int
read_lockers(struct store *st, const char *oid, struct lease_holder *out,
    int max)
{
	char buf[8192];
	struct dec d;
	int r, n = 0;

	r = rados_getxattr(store_ioctx(st), oid, LEASE_XATTR, buf, sizeof(buf));
	if (r == -ENODATA || r == -ENOENT || r == 0)
		return 0;
	if (r < 0)
		return r;
	d.p = (const unsigned char *)buf;
	d.end = d.p + r;
	d.bad = false;
	const unsigned char *end = dec_struct(&d);
	uint32_t count = (uint32_t)dec_le(&d, 4);
	for (uint32_t i = 0; i < count && !d.bad; i++) {
		struct lease_holder h;
		char desc[512];

		memset(&h, 0, sizeof(h));
		const unsigned char *e1 = dec_struct(&d);
		unsigned type = (unsigned)dec_le(&d, 1);
		int64_t num = (int64_t)dec_le(&d, 8);
		dec_string(&d, h.cookie, sizeof(h.cookie));
		dec_finish(&d, e1);
		const unsigned char *e2 = dec_struct(&d);
		uint32_t sec = (uint32_t)dec_le(&d, 4);
		dec_le(&d, 4);
		dec_addr(&d, h.addr, sizeof(h.addr));
		dec_string(&d, desc, sizeof(desc));
		dec_finish(&d, e2);
		if (d.bad)
			break;
		snprintf(h.client, sizeof(h.client), "%s.%" PRId64,
		    type == 8 ? "client" : type == 4 ? "osd" : "entity", num);
		h.expires = sec;
		h.expired = sec != 0 && (int64_t)sec < (int64_t)time(NULL);
		parse_desc(desc, &h);
		if (n < max)
			out[n] = h;
		n++;
	}
	if (!d.bad)
		dec_finish(&d, end);
	if (d.bad) {
		log_warn("cannot decode lock %s on %s; falling back to the "
		    "lock listing", LEASE_LOCK, oid);
		return -EINVAL;
	}
	return n < max ? n : max;
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
	return 1;
}

static int
holders(struct store *st, const char *oid, struct lease_holder *out, int max)
{
	int n = read_lockers(st, oid, out, max);

	if (n == -EINVAL)
		n = list_lockers(st, oid, out);
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
lease_holder(struct store *st, const char *id, struct lease_holder *out)
{
	struct lease_holder h[4];
	char oid[64];
	int n;

	n = holders(st, catalog_header_oid(id, oid, sizeof(oid)), h, 4);
	if (n < 0)
		return n;
	if (n == 0)
		return -ENOENT;
	/* An exclusive lock has one locker; prefer a live one if not. */
	for (int i = 0; i < n; i++) {
		if (!h[i].expired) {
			*out = h[i];
			return 0;
		}
	}
	*out = h[0];
	return 0;
}

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

int
lease_break(struct store *st, const char *id, struct lease_holder *broken,
    char *err, size_t errlen)
{
	struct lease_holder h;
	char oid[64];
	int r;

	catalog_header_oid(id, oid, sizeof(oid));
	r = lease_holder(st, id, &h);
	if (r == -ENOENT) {
		snprintf(err, errlen, "no lease is held");
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot read lock %s on %s: %s", LEASE_LOCK,
		    oid, strerror(-r));
		return r;
	}
	if (broken)
		*broken = h;
	if ((r = blocklist(st, &h, err, errlen)) < 0)
		return r;
	r = rados_break_lock(store_ioctx(st), oid, LEASE_LOCK, h.client, h.cookie);
	if (r < 0 && r != -ENOENT) {
		snprintf(err, errlen, "blocklisted %s but cannot break its lock on "
		    "%s: %s", h.addr, oid, strerror(-r));
		return r;
	}
	return 0;
}

static void
report_lost(struct lease *ls, int err)
{
	atomic_store(&ls->lost, true);
	if (atomic_exchange(&ls->lost_reported, true))
		return;
	log_err("lease on volume=%s lost: %s; no further writes", ls->volume,
	    strerror(-err));
	if (ls->lost_cb)
		ls->lost_cb(ls->lost_arg, err);
}

bool
lease_valid(struct lease *ls)
{
	return !atomic_load(&ls->lost) && boot_ns() < atomic_load(&ls->deadline);
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

static void *
renewer_main(void *arg)
{
	struct lease *ls = arg;
	uint64_t every = (uint64_t)ls->seconds * NSEC / 3;
	struct timeval tv = { .tv_sec = (time_t)ls->seconds };
	uint64_t next = boot_ns() + every;

	for (;;) {
		uint64_t now = boot_ns();
		if (wait_or_stop(ls, next > now ? next - now : 0))
			return NULL;
		if (atomic_load(&ls->lost))
			return NULL;
		uint64_t t0 = boot_ns();
		if (t0 >= atomic_load(&ls->deadline)) {
			report_lost(ls, -ETIMEDOUT);
			return NULL;
		}
		int r = rados_lock_exclusive(store_ioctx(ls->st), ls->oid, LEASE_LOCK,
		    ls->cookie, ls->desc, &tv, LIBRADOS_LOCK_FLAG_MUST_RENEW);
		if (r == 0) {
			uint64_t dl = t0 + lease_ns(ls);
			/* Only a renewal that began before the deadline counts. */
			if (t0 < atomic_load(&ls->deadline) && !atomic_load(&ls->lost))
				atomic_store(&ls->deadline, dl);
			pthread_mutex_lock(&ls->lock);
			pthread_cond_broadcast(&ls->cond);
			pthread_mutex_unlock(&ls->lock);
			next = t0 + every;
			continue;
		}
		if (r == -ETIMEDOUT || r == -EINTR || r == -EAGAIN) {
			log_warn("renewing lease on volume=%s: %s; retrying", ls->volume,
			    strerror(-r));
			next = boot_ns() + every / 4;
			continue;
		}
		/* -ENOENT: broken; -EBUSY: someone else has it; -ESHUTDOWN /
		 * -EBLOCKLISTED: we are fenced. */
		report_lost(ls, r);
		return NULL;
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
			pthread_mutex_unlock(&ls->lock);
			report_lost(ls, -ETIMEDOUT);
			return NULL;
		}
		struct timespec ts = mono_after(dl - now);
		pthread_cond_timedwait(&ls->cond, &ls->lock, &ts);
	}
	pthread_mutex_unlock(&ls->lock);
	return NULL;
}

/* Drop an empty header our lock attempt created (the volume was gone). */
static void
drop_created_header(struct store *st, const char *oid)
{
	rados_write_op_t op = rados_create_write_op();
	int cmp = 0;

	rados_write_op_assert_exists(op);
	rados_write_op_omap_cmp(op, "meta", LIBRADOS_CMPXATTR_OP_EQ, "", 0, &cmp);
	rados_write_op_remove(op);
	rados_write_op_operate(op, store_ioctx(st), oid, NULL, 0);
	rados_release_write_op(op);
}

int
lease_acquire(struct store *st, const char *volume, const char *id,
    unsigned seconds, void (*lost)(void *arg, int err), void *arg,
    struct lease **out, char *err, size_t errlen)
{
	struct lease_holder prev[4], h;
	struct lease *ls;
	struct timeval tv = { .tv_sec = (time_t)seconds };
	unsigned char rnd[8];
	char host[256] = "";
	uint64_t t0;
	int nprev, r;

	if (seconds < 1) {
		snprintf(err, errlen, "a lease needs at least one second");
		return -EINVAL;
	}
	ls = calloc(1, sizeof(*ls));
	if (ls == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ls->st = st;
	ls->seconds = seconds;
	ls->lost_cb = lost;
	ls->lost_arg = arg;
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

	nprev = holders(st, ls->oid, prev, 4);
	if (nprev < 0) {
		snprintf(err, errlen, "cannot read the lease of volume %s: %s",
		    volume, strerror(-nprev));
		r = nprev;
		goto out_free;
	}
	t0 = boot_ns();
	r = rados_lock_exclusive(store_ioctx(st), ls->oid, LEASE_LOCK, ls->cookie,
	    ls->desc, &tv, 0);
	log_debug("lock %s on %s: %d in %.1f ms (%d earlier holders)", LEASE_LOCK,
	    ls->oid, r, (double)(boot_ns() - t0) / 1e6, nprev);
	if (r == -EBUSY) {
		char who[512];
		if (holders(st, ls->oid, &h, 1) <= 0)
			h = nprev > 0 ? prev[0] : (struct lease_holder){ .client = "?" };
		snprintf(err, errlen, "volume %s is in use by %s", volume,
		    lease_holder_describe(&h, who, sizeof(who)));
		goto out_free;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot lock volume %s (%s): %s", volume,
		    ls->oid, strerror(-r));
		goto out_free;
	}
	atomic_store(&ls->deadline, t0 + lease_ns(ls));

	/* The volume must still exist, ready, with this id: a lock attempt on
	 * a removed header would have recreated it empty. */
	struct catalog_entry e;
	struct volume_meta m;
	r = catalog_entry_get(st, volume, &e);
	if (r == 0) {
		bool ok = !e.bad && e.state == CATALOG_READY && strcmp(e.id, id) == 0;
		free(e.raw);
		r = ok ? 0 : -ENOENT;
	}
	if (r == 0 && (r = catalog_header_read(st, id, &m)) == 0)
		volume_meta_free(&m);
	if (r < 0) {
		rados_unlock(store_ioctx(st), ls->oid, LEASE_LOCK, ls->cookie);
		if (r == -ENOENT) {
			drop_created_header(st, ls->oid);
			snprintf(err, errlen, "volume %s does not exist (or is being "
			    "removed)", volume);
		} else
			snprintf(err, errlen, "cannot read volume %s: %s", volume,
			    strerror(-r));
		goto out_free;
	}

	/* Our lock succeeded where another client was recorded: its lease
	 * expired and cls_lock dropped it. Fence it before we write. */
	for (int i = 0; i < nprev && i < 4; i++) {
		char me[64];
		snprintf(me, sizeof(me), "client.%" PRIu64, store_instance_id(st));
		if (strcmp(prev[i].client, me) == 0 || prev[i].addr[0] == '\0')
			continue;
		char why[512], who[512];
		r = blocklist(st, &prev[i], why, sizeof(why));
		if (r < 0) {
			rados_unlock(store_ioctx(st), ls->oid, LEASE_LOCK, ls->cookie);
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

	pthread_mutex_init(&ls->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ls->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((r = -pthread_create(&ls->renewer, NULL, renewer_main, ls)) < 0 ||
	    (r = -pthread_create(&ls->watchdog, NULL, watchdog_main, ls)) < 0) {
		/* Only the first can have started. */
		if (r < 0 && ls->renewer) {
			pthread_mutex_lock(&ls->lock);
			ls->stop = true;
			pthread_cond_broadcast(&ls->cond);
			pthread_mutex_unlock(&ls->lock);
			pthread_join(ls->renewer, NULL);
		}
		rados_unlock(store_ioctx(st), ls->oid, LEASE_LOCK, ls->cookie);
		snprintf(err, errlen, "cannot start the lease thread: %s", strerror(-r));
		goto out_free;
	}
	*out = ls;
	return 0;

out_free:
	free(ls);
	return r;
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
	if (!atomic_load(&ls->lost)) {
		int r = rados_unlock(store_ioctx(ls->st), ls->oid, LEASE_LOCK,
		    ls->cookie);
		if (r < 0 && r != -ENOENT)
			log_warn("cannot unlock lease on volume=%s: %s", ls->volume,
			    strerror(-r));
	}
	pthread_cond_destroy(&ls->cond);
	pthread_mutex_destroy(&ls->lock);
	free(ls);
}
