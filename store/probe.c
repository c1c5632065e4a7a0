/*
 * probe.c - try each kind of operation cephvol needs on a probe object of
 * our own, and read the OSD's clock from a lock's expiry (store/probe.h).
 *
 * The object is "cephvol.probe.<host>.<pid>.<random>": the pid and 64
 * random bits make it ours alone, so two doctors (or a doctor and a
 * `cephvol status`) on one host never meet on it. It is removed at the
 * end whatever failed in between; if even that fails, the report says so
 * and the name is in it.
 *
 * The clock. cls_lock stamps a lock's expiry as the OSD's own now plus
 * the duration asked for, so the OSD's clock at the moment it ran the op
 * is the expiry less the duration; our request was between t0 and t1 by
 * our clock. The skew is taken against their middle, give or take half
 * the round trip. This is the clock that matters for leases: an OSD
 * decides when a lease's lock has expired, and every host reads that
 * expiry against its own clock (store/lease_holder.h).
 *
 * No state, no locking.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <rados/librados.h>

#include "store/conn.h"
#include "store/lockop.h"
#include "store/probe.h"

#define PROBE_LOCK_NAME	"cephvol.probe"
#define PROBE_LOCK_SECS	60

static const char *const op_names[PROBE_N] = {
	[PROBE_WRITE] = "write",
	[PROBE_READ] = "read",
	[PROBE_OMAP] = "omap",
	[PROBE_LOCK] = "lock",
	[PROBE_WATCH] = "watch",
	[PROBE_NOTIFY] = "notify",
	[PROBE_REMOVE] = "remove",
};

const char *
probe_op_name(enum probe_op op)
{
	return op < PROBE_N ? op_names[op] : "?";
}

static double
wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
probe_omap(rados_ioctx_t io, const char *oid)
{
	const char *keys[] = { "probe" }, *vals[] = { "1" };
	const size_t lens[] = { 1 };
	rados_write_op_t w = rados_create_write_op();
	rados_read_op_t rd;
	rados_omap_iter_t it = NULL;
	int r, prval = 0;

	rados_write_op_omap_set(w, keys, vals, lens, 1);
	r = rados_write_op_operate(w, io, oid, NULL, 0);
	rados_release_write_op(w);
	if (r < 0)
		return r;
	rd = rados_create_read_op();
	rados_read_op_omap_get_vals_by_keys(rd, keys, 1, &it, &prval);
	r = rados_read_op_operate(rd, io, oid, 0);
	if (r == 0 && prval < 0)
		r = prval;
	if (r == 0) {
		char *k = NULL, *v = NULL;
		size_t vlen = 0;
		if (rados_omap_get_next(it, &k, &v, &vlen) < 0 || k == NULL ||
		    vlen != 1 || v[0] != '1')
			r = -EIO;
	}
	if (it)
		rados_omap_get_end(it);
	rados_release_read_op(rd);
	return r;
}

static int
probe_lock(rados_ioctx_t io, const char *oid, struct probe_report *out)
{
	struct timeval dur = { .tv_sec = PROBE_LOCK_SECS };
	struct lockop_locker l;
	char cookie[32];
	double t0, t1;
	int r, n;

	snprintf(cookie, sizeof(cookie), "probe-%d", (int)getpid());
	t0 = wall_s();
	r = rados_lock_exclusive(io, oid, PROBE_LOCK_NAME, cookie, "cephvol doctor",
	    &dur, 0);
	t1 = wall_s();
	if (r < 0)
		return r;
	n = lockop_lockers(io, oid, PROBE_LOCK_NAME, &l, 1, NULL);
	if (n == 1 && l.expires > 0) {
		double osd_now = (double)l.expires + (double)l.expires_nsec / 1e9 -
		    PROBE_LOCK_SECS;
		out->clock_known = true;
		out->skew_s = osd_now - (t0 + t1) / 2;
		out->uncertainty_s = (t1 - t0) / 2;
	}
	r = rados_unlock(io, oid, PROBE_LOCK_NAME, cookie);
	return n < 0 ? n : r;
}

static void
probe_watch_cb(void *arg, uint64_t notify_id, uint64_t handle,
    uint64_t notifier_id, void *data, size_t len)
{
	(void)arg; (void)notify_id; (void)handle; (void)notifier_id;
	(void)data; (void)len;
}

static void
probe_watch_err(void *arg, uint64_t cookie, int err)
{
	(void)arg; (void)cookie; (void)err;
}

static int
probe_watch(rados_ioctx_t io, const char *oid)
{
	uint64_t handle = 0;
	int r;

	r = rados_watch2(io, oid, &handle, probe_watch_cb, probe_watch_err, NULL);
	if (r < 0)
		return r;
	return rados_unwatch2(io, handle);
}

static int
probe_notify(rados_ioctx_t io, const char *oid)
{
	char *reply = NULL;
	size_t len = 0;
	int r;

	/* nobody watches any more: the notify completes at once */
	r = rados_notify2(io, oid, "probe", 5, 2000, &reply, &len);
	if (reply)
		rados_buffer_free(reply);
	return r;
}

int
probe_run(struct store *st, struct probe_report *out)
{
	const char data[] = "cephvol doctor probe";
	rados_ioctx_t io = store_ioctx(st);
	char host[64] = "", back[sizeof(data)];
	unsigned long long rnd = 0;
	FILE *f;
	int r;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < PROBE_N; i++)
		out->result[i] = PROBE_SKIPPED;
	if (io == NULL)
		return -ENOENT;
	gethostname(host, sizeof(host) - 1);
	f = fopen("/dev/urandom", "re");
	if (f == NULL || fread(&rnd, sizeof(rnd), 1, f) != 1)
		rnd = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
	if (f)
		fclose(f);
	snprintf(out->oid, sizeof(out->oid), "cephvol.probe.%s.%d.%016llx", host,
	    (int)getpid(), rnd);

	out->result[PROBE_WRITE] = rados_write_full(io, out->oid, data, sizeof(data));
	if (out->result[PROBE_WRITE] < 0) {
		/* a write refused may still have made nothing; a timed out one
		 * may have made the object: try to remove it either way */
		r = rados_remove(io, out->oid);
		out->result[PROBE_REMOVE] = r == -ENOENT ? PROBE_SKIPPED : r;
		return 0;
	}
	r = rados_read(io, out->oid, back, sizeof(back), 0);
	out->result[PROBE_READ] = r < 0 ? r : (size_t)r != sizeof(data) ||
	    memcmp(back, data, sizeof(data)) != 0 ? -EIO : 0;
	out->result[PROBE_OMAP] = probe_omap(io, out->oid);
	out->result[PROBE_LOCK] = probe_lock(io, out->oid, out);
	out->result[PROBE_WATCH] = probe_watch(io, out->oid);
	out->result[PROBE_NOTIFY] = probe_notify(io, out->oid);
	out->result[PROBE_REMOVE] = rados_remove(io, out->oid);
	return 0;
}
