/*
 * imagefs_server.c - cephvol-mount's block volume server (struct server,
 * fuse/server.h), the default one:
 *
 *	cephvol-mount [common options] [--threads N] [--max-background N]
 *	    [--inflight-mb N] VOLUME FUSEDIR
 *
 * Takes VOLUME's lease, opens its image and serves it as
 * FUSEDIR/HELPER_IMAGE_FILE (fuse/imagefs.c) until FUSEDIR is unmounted or
 * stop(); then it waits for every request in flight, flushes, unmounts and
 * releases the lease. A clone's image reads through to its ancestors
 * (store/clone.h); a read-only snapshot volume takes no lease but
 * registers its mount (any number of hosts serve it) and refuses writes.
 * While it serves, it answers requests through the cluster (snapshots:
 * fuse/imagefs_control.h).
 *
 * Memory: PR_SET_IO_FLUSHER (its allocations never wait on the writeback
 * it serves; set before the cluster connection, whose threads inherit it)
 * and mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT): every page it
 * touches stays in RAM. Idle IDLE_TRIM_S seconds (a few requests at most), it
 * gives back what load left resident: the request region's free pages and
 * the heap's free tail (malloc_trim) and the main thread's stack below
 * the FUSE loop, unlocking for that moment (the kernel keeps locked
 * pages); the next request faults in what it needs. MCL_ONFAULT, not plain MCL_FUTURE, because
 * librados starts dozens of threads with 8 MiB stacks that would otherwise
 * all be faulted in (hundreds of MiB). Memory stays flat because imagefs
 * bounds the requests in flight.
 *
 * The lease (store/lease.h). While it is unconfirmed (its deadline passed
 * unrenewed: the cluster is stalled, or this process was stopped) the image
 * holds every request and takes back what librados has in flight; when a
 * renewal succeeds it sends them again: the application sees a pause, not
 * an error. Lost (another host took the volume, or it was broken or
 * removed): the image and the file server fail everything with EIO at once,
 * for good, loudly in the log; the process keeps serving errors until
 * unmounted. The generation check makes "lost" certain even when the
 * blocklist entry that fenced us has been removed.
 *
 * Locking: the lease thread's hold, resume and lost reach the image and
 * the file server through h->img and h->fs, under h->lock, which is never
 * held long (those events must not wait). Only the main thread writes the
 * two, under the lock, and clears them before it frees what they point to;
 * it reads them without the lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "fuse/imagefs.h"
#include "fuse/imagefs_control.h"
#include "fuse/server.h"
#include "host/helperproto.h"
#include "store/catalog.h"
#include "store/catalog_header.h"
#include "store/clone.h"
#include "store/conn.h"
#include "store/image.h"
#include "store/lease.h"
#include "store/snapshot_record.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

/* The options; 0 is imagefs's default. */
static unsigned opt_threads, opt_max_background, opt_inflight_mb;

static const struct server_option options[] = {
	{ "threads", "N", "FUSE worker threads (default 4)", "a number", 1, 256,
	    &opt_threads },
	{ "max-background", "N", "kernel cap on requests in flight (default 64)",
	    "a number", 1, 65535, &opt_max_background },
	{ "inflight-mb", "N", "bytes in flight to RADOS, MiB (default 12)",
	    "a number", 1, 1024, &opt_inflight_mb },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

struct handle {
	const char		*volume;	/* borrowed */
	struct store		*st;
	struct volume_meta	 m;
	struct lease		*ls;
	pthread_mutex_t		 lock;
	struct image		*img;		/* lock (see the top) */
	struct imagefs		*fs;		/* lock (see the top) */
	struct imagefs_control	*control;	/* main thread only */
	pthread_t		 idle;		/* trims memory when idle */
	bool			 idle_started;
	bool			 idle_stop;	/* lock */
	pthread_cond_t		 idle_cond;	/* CLOCK_MONOTONIC */
	uintptr_t		 main_sp;	/* the main thread's stack pointer
						 * as it entered the FUSE loop */
};

/* Idle this long, the volume gives its memory back (see the top). */
#define IDLE_TRIM_S	30
#define IDLE_CHECK_S	5
#define IDLE_MAX_REQUESTS 16

static bool
guard(void *arg)
{
	return lease_valid(arg);
}

/* The lease is unconfirmed (image_hold), or confirmed again (image_resume). */
static void
image_event(struct handle *h, void (*fn)(struct image *))
{
	pthread_mutex_lock(&h->lock);
	if (h->img)
		fn(h->img);
	pthread_mutex_unlock(&h->lock);
}

static void
on_lease_hold(void *arg)
{
	image_event(arg, image_hold);
}

static void
on_lease_resume(void *arg)
{
	image_event(arg, image_resume);
}

static void
on_lease_lost(void *arg, int err)
{
	struct handle *h = arg;

	log_err("!!! LEASE LOST on volume=%s: %s; every read, write and flush now "
	    "fails with EIO; unmount and mount again to recover !!!", h->volume,
	    strerror(-err));
	pthread_mutex_lock(&h->lock);
	if (h->fs)
		imagefs_fence(h->fs, -EIO);
	if (h->img)
		image_fence(h->img, -EIO);
	pthread_mutex_unlock(&h->lock);
}

static void
memory_setup(void)
{
	/* Our allocations must never wait for the writeback we serve. */
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) < 0)
		log_warn("prctl(PR_SET_IO_FLUSHER): %s (needs CAP_SYS_RESOURCE)",
		    strerror(errno));
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
		log_warn("mlockall: %s; memory may be swapped", strerror(errno));
	/* One malloc arena, and buffers up to an object's 4 MiB from the
	 * heap, which keeps them: librados copies every write into a fresh
	 * page-aligned buffer, and while those came from mmap (the old
	 * threshold of 256 KiB) each 1 MiB write cost 256 page faults (zeroed,
	 * charged, locked) and a munmap: 92% of a core at ~500 MiB/s, against
	 * 50-60% now (perf, docs/benchmarks.md). The heap stays bounded by
	 * the bytes in flight (imagefs budget): peak RSS 54-55 MiB under the
	 * sequential fio jobs, against 59-82 MiB with two arenas or a
	 * 16 MiB trim threshold. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, (4 << 20) + (64 << 10));
	mallopt(M_TRIM_THRESHOLD, 4 << 20);
}

/* Publish the image and the file server to the lease thread (or withdraw
 * them, with NULL). */
static void
publish(struct handle *h, struct image *img, struct imagefs *fs)
{
	pthread_mutex_lock(&h->lock);
	h->img = img;
	h->fs = fs;
	pthread_mutex_unlock(&h->lock);
}

static uint64_t
activity(struct imagefs *fs)
{
	struct imagefs_stats s;

	imagefs_get_stats(fs, &s);
	return s.reads + s.writes + s.discards + s.flushes;
}

/*
 * The main thread's stack below where it waits in the FUSE loop: start-up
 * (the cluster connection, config parsing) ran deeper and left about a
 * MiB resident, which nothing uses again until a deeper call. Pages more
 * than STACK_MARGIN below the pointer recorded when the loop began (the
 * loop itself, and a signal handler on top of it, need a few KiB) are
 * dropped; a later call that goes that deep faults in zeroed pages, as a
 * new stack would. The [stack] mapping is found in /proc/self/maps.
 */
#define STACK_MARGIN	(256u << 10)

static size_t
trim_main_stack(uintptr_t sp)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	uintptr_t lo = 0, hi = 0, end;
	long page = sysconf(_SC_PAGESIZE);

	if (f == NULL || sp == 0)
		goto out;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "[stack]") != NULL &&
		    sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) == 2)
			break;
		lo = hi = 0;
	}
out:
	if (f != NULL)
		fclose(f);
	if (sp <= lo + STACK_MARGIN || sp > hi || page <= 0)
		return 0;
	end = (sp - STACK_MARGIN) & ~((uintptr_t)page - 1);
	if (end <= lo || madvise((void *)lo, end - lo, MADV_DONTNEED) < 0)
		return 0;
	return end - lo;
}

/* Give memory back: the request region's free pages, the heap's and the
 * main thread's unused stack. The lock (mlockall) has to go for a moment:
 * the kernel does not drop locked pages; it is taken again at once, for
 * what stays and what comes. */
static void
trim(struct handle *h)
{
	size_t region;

	munlockall();
	region = imagefs_release_idle(h->fs);
	malloc_trim(0);
	(void)trim_main_stack(__atomic_load_n(&h->main_sp, __ATOMIC_ACQUIRE));
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
		log_warn("mlockall after trimming: %s", strerror(errno));
	log_info("volume=%s idle %ds: memory given back (%zu bytes of the request "
	    "region, and the heap's free tail)", h->volume, IDLE_TRIM_S, region);
}

/*
 * Idle: at most IDLE_MAX_REQUESTS requests in the last IDLE_TRIM_S seconds
 * (a mounted filesystem writes a little now and then by itself: ext4's
 * journal, atime). Checked every IDLE_CHECK_S; trimmed once per idle
 * spell.
 */
static void *
idle_main(void *arg)
{
	struct handle *h = arg;
	enum { N = IDLE_TRIM_S / IDLE_CHECK_S };
	uint64_t seen[N] = { 0 };
	unsigned checks = 0;
	bool trimmed = false;

	pthread_mutex_lock(&h->lock);
	while (!h->idle_stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += IDLE_CHECK_S;
		pthread_cond_timedwait(&h->idle_cond, &h->lock, &until);
		if (h->idle_stop || h->fs == NULL)
			continue;
		uint64_t a = activity(h->fs);
		pthread_mutex_unlock(&h->lock);
		/* seen[] holds the last N counts, oldest at checks % N */
		uint64_t oldest = seen[checks % N];
		seen[checks % N] = a;
		checks++;
		if (checks > N && a - oldest <= IDLE_MAX_REQUESTS) {
			if (!trimmed)
				trim(h);
			trimmed = true;
		} else if (checks > N)
			trimmed = false;	/* busy again: trim at the next spell */
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static void
idle_start(struct handle *h)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->idle_cond, &ca);
	pthread_condattr_destroy(&ca);
	h->idle_started = pthread_create(&h->idle, NULL, idle_main, h) == 0;
	if (!h->idle_started)
		log_warn("volume=%s: no idle trimming (no thread)", h->volume);
}

static void
idle_stop(struct handle *h)
{
	if (!h->idle_started)
		return;
	pthread_mutex_lock(&h->lock);
	h->idle_stop = true;
	pthread_cond_signal(&h->idle_cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->idle, NULL);
	pthread_cond_destroy(&h->idle_cond);
	h->idle_started = false;
}

static int
reread_header(struct handle *h, char *err, size_t errlen)
{
	struct volume_meta fresh;
	int r = catalog_header_read(h->st, h->m.id, &fresh);

	if (r < 0) {
		snprintf(err, errlen, "cannot read the header of volume %s: %s",
		    h->volume, strerror(-r));
		return r;
	}
	volume_meta_free(&h->m);
	h->m = fresh;
	return 0;
}

static int
snap_context(struct handle *h, struct image *img)
{
	uint64_t seq, *ids;
	size_t n;
	int r;

	if ((r = snapshot_context(&h->m, &seq, &ids, &n)) < 0)
		return r;
	r = image_set_snap_context(img, seq, ids, n);
	free(ids);
	return r;
}

/* Answer requests through the cluster (snapshots) while we serve. */
static int
start_control(struct handle *h, const char *dir, struct image *img,
    struct imagefs *fs)
{
	struct imagefs_control_target t = { .st = h->st, .ls = h->ls,
	    .img = img, .fs = fs, .volume = h->volume, .id = h->m.id };
	char real[PATH_MAX];

	if (realpath(dir, real) == NULL)
		return -errno;
	snprintf(t.image_file, sizeof(t.image_file), "%s/%s", real,
	    HELPER_IMAGE_FILE);
	return imagefs_control_start(&t, &h->control);
}

static int
setup(const struct server_args *a, void **hp, const char **cookie, char *err,
    size_t errlen)
{
	struct imagefs_params ip = { .max_threads = opt_threads,
	    .max_background = opt_max_background,
	    .inflight_bytes = (size_t)opt_inflight_mb << 20 };
	struct lease_events events = { .hold = on_lease_hold,
	    .resume = on_lease_resume, .lost = on_lease_lost };
	const char *volume = a->volume;
	struct image_geometry geom;
	struct image_layer *layers;
	unsigned n_layers;
	struct lease_holder prev;
	struct image *img;
	struct imagefs *fs;
	struct handle *h;
	char why[1024];
	int r;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->volume = volume;
	events.arg = h;
	pthread_mutex_init(&h->lock, NULL);
	memory_setup();

	r = store_connect(a->cfg, 0, &h->st, err, errlen);
	if (r < 0)
		goto out_free;
	r = catalog_get(h->st, volume, &h->m);
	if (r < 0) {
		if (r == -ENOENT)
			snprintf(err, errlen, "volume %s does not exist", volume);
		else
			snprintf(err, errlen, "cannot read volume %s: %s", volume,
			    strerror(-r));
		goto out_close_store;
	}
	if (h->m.type != VOLUME_BLOCK) {
		snprintf(err, errlen, "volume %s is a %s volume, not a block volume",
		    volume, volume_type_name(h->m.type));
		r = -EINVAL;
		goto out_free_meta;
	}

	/* A read-only snapshot volume is served on any number of hosts: it
	 * registers, so that it cannot be removed while mounted. */
	if (h->m.readonly)
		r = lease_register(h->st, volume, h->m.id,
		    (unsigned)a->cfg->volume_lease_seconds, &events, &h->ls, err,
		    errlen);
	else
		r = lease_acquire(h->st, volume, h->m.id,
		    (unsigned)a->cfg->volume_lease_seconds, &events, &h->ls, err,
		    errlen);
	if (r < 0)
		goto out_free_meta;
	if (lease_taken_from(h->ls, &prev)) {
		char who[512];
		log_warn("volume=%s taken over from %s (blocklisted)", volume,
		    lease_holder_describe(&prev, who, sizeof(who)));
	}

	/* Read again under the lease: a snapshot or a resize made before we
	 * held it must be in what we write with. */
	if ((r = reread_header(h, err, errlen)) < 0)
		goto out_release;
	if ((r = clone_layers(h->st, &h->m, &layers, &n_layers, why,
	    sizeof(why))) < 0) {
		snprintf(err, errlen, "cannot open volume %s: %s", volume, why);
		goto out_release;
	}
	geom = (struct image_geometry){ .id = h->m.id, .size = h->m.size,
	    .object_size = h->m.object_size, .layers = layers,
	    .n_layers = n_layers, .readonly = h->m.readonly };
	r = image_open(h->st, &geom, &img);
	clone_layers_free(layers, n_layers);
	if (r < 0) {
		snprintf(err, errlen, "cannot open the image of volume %s: %s", volume,
		    strerror(-r));
		goto out_release;
	}
	if ((r = snap_context(h, img)) < 0) {
		snprintf(err, errlen, "volume %s: its snapshot records are damaged "
		    "(%s)", volume, strerror(-r));
		goto out_close_image;
	}
	image_set_guard(img, guard, h->ls);
	publish(h, img, NULL);
	if (lease_lost(h->ls))
		image_fence(img, -EIO);

	if ((r = mkdir_p(a->dir, 0700)) < 0 && r != -EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", a->dir, strerror(-r));
		goto out_close_image;
	}
	ip.img = img;
	ip.size = h->m.size;
	ip.qos = &h->m.qos;
	ip.volume = volume;
	ip.fusedir = a->dir;
	r = imagefs_create(&ip, &fs, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "volume %s: %s", volume, why);
		goto out_close_image;
	}
	publish(h, img, fs);
	if (lease_lost(h->ls))
		imagefs_fence(fs, -EIO);
	if (!h->m.readonly && (r = start_control(h, a->dir, img, fs)) < 0) {
		snprintf(err, errlen, "volume %s: cannot watch its header for "
		    "requests: %s", volume, strerror(-r));
		publish(h, img, NULL);
		imagefs_destroy(fs);
		goto out_close_image;
	}

	idle_start(h);
	log_info("serving volume=%s id=%s size=%" PRIu64 " at %s/%s (lease %us, "
	    "client %s)", volume, h->m.id, h->m.size, a->dir, HELPER_IMAGE_FILE,
	    (unsigned)a->cfg->volume_lease_seconds, store_addr(h->st));
	*hp = h;
	*cookie = lease_cookie(h->ls);
	return 0;

out_close_image:
	publish(h, NULL, NULL);
	image_close(img);
out_release:
	/* At once, or a retry waits for the lease to expire. */
	lease_release(h->ls);
out_free_meta:
	volume_meta_free(&h->m);
out_close_store:
	store_close(h->st);
out_free:
	pthread_mutex_destroy(&h->lock);
	free(h);
	return r;
}

static int
serve(void *hp)
{
	struct handle *h = hp;

	__atomic_store_n(&h->main_sp, (uintptr_t)__builtin_frame_address(0),
	    __ATOMIC_RELEASE);
	return imagefs_run(h->fs);
}

static void
stop(void *hp)
{
	struct handle *h = hp;

	imagefs_stop(h->fs);
}

static int
teardown(void *hp)
{
	struct handle *h = hp;
	struct image *img = h->img;
	struct imagefs *fs = h->fs;
	struct imagefs_stats s;
	int r, status = 0;
	bool lost;

	idle_stop(h);
	imagefs_control_stop(h->control);
	r = imagefs_drain(fs);
	if (r < 0 && !lease_lost(h->ls)) {
		log_err("volume=%s final flush failed: %s", h->volume, strerror(-r));
		status = r;
	}
	imagefs_get_stats(fs, &s);
	log_info("volume=%s stopping: %" PRIu64 " reads (%" PRIu64 " bytes), %" PRIu64
	    " writes (%" PRIu64 " bytes), %" PRIu64 " discards, %" PRIu64 " flushes, %"
	    PRIu64 " errors, at most %u in flight", h->volume, s.reads, s.bytes_read,
	    s.writes, s.bytes_written, s.discards, s.flushes, s.errors,
	    s.max_inflight_seen);
	publish(h, NULL, NULL);
	imagefs_destroy(fs);
	image_close(img);
	lost = lease_lost(h->ls);
	lease_release(h->ls);
	volume_meta_free(&h->m);
	store_close(h->st);
	log_info("volume=%s stopped%s", h->volume,
	    lost ? " (the lease had been lost)" : "");
	pthread_mutex_destroy(&h->lock);
	free(h);
	return status;
}

const struct server imagefs_server = {
	.setup		= setup,
	.serve		= serve,
	.stop		= stop,
	.teardown	= teardown,
	.about		=
	    "Serve block volume VOLUME as the file FUSEDIR/" HELPER_IMAGE_FILE
	    " until FUSEDIR is\n"
	    "unmounted or SIGTERM; see " HELPER_PROGRAM "(8).\n",
	.args		= "VOLUME FUSEDIR",
	.options	= options,
};
