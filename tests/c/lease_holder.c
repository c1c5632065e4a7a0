/*
 * lease_holder.c - hold a volume's lease and write through the image layer,
 * printing what happened, for the fencing tests (tests/integ/lease_*.sh).
 *
 *	lease_holder [-c CONF] [-i MS] [-n WRITES] [--no-guard] [--raw] VOLUME CHAR
 *
 * Acquires VOLUME's lease (store/lease.h) for volume.lease_seconds, opens
 * its image (store/image.h) with lease_valid() as the guard, the lease's
 * hold/resume events wired to the image's gate and image_fence() on loss
 * (a write waits while the lease is unconfirmed, fails once it is lost), then every MS milliseconds (default 200) writes
 * 64 KiB of CHAR at offset 0 and at the start of the second object, waiting
 * for each. Stops after WRITES writes (0: until SIGTERM/SIGINT), then
 * flushes, closes and releases. --no-guard leaves out the guard and the
 * fence, so only the OSDs' blocklist can refuse its writes. --raw writes
 * with rados_write() to the data objects instead of the image layer (with
 * the same lease check unless --no-guard): the fence holds for any RADOS
 * writer.
 *
 * One line per event on stdout (line buffered), each starting with
 * milliseconds since start:
 *	T acquired cookie=C client=client.N addr=A via=image|rados
 *	T took-over client=client.N addr=A host=H pid=P
 *	T busy: <sentence>            (exit 3)
 *	T write N ok | T write N refused: <error>
 *	T held                        (lease unconfirmed: I/O waits)
 *	T lost: <error>
 *	T released
 * Exit 0 normally, 3 when the lease is held by someone else, 1 on error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rados/librados.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "store/catalog.h"
#include "store/conn.h"
#include "store/image.h"
#include "store/lease.h"

#define WRITE_LEN	(64 * 1024)

static volatile sig_atomic_t stopping;
static uint64_t t_start;
static struct image *img;
static bool guarded = true;
static bool raw;
static atomic_bool fenced;		/* raw writes: lease lost */
static struct store *st;
static struct lease *ls;
static struct volume_meta m;

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	va_list ap;

	printf("%" PRIu64 " ", (now_ns() - t_start) / 1000000);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
on_hold(void *arg)
{
	(void)arg;
	say("held");
	if (guarded && img)
		image_hold(img);
}

static void
on_resume(void *arg)
{
	(void)arg;
	if (guarded && img)
		image_resume(img);
}

static void
on_lost(void *arg, int err)
{
	(void)arg;
	say("lost: %s", strerror(-err));
	if (!guarded)
		return;
	atomic_store(&fenced, true);
	if (img)
		image_fence(img, -EIO);
}

static bool
guard(void *arg)
{
	return lease_valid(arg);
}

struct waiter {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	bool		 done;
	int		 r;
};

static void
io_done(struct image_io *io, int r)
{
	struct waiter *w = io->arg;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	w->r = r;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static int
write_sync(uint64_t off, void *buf, size_t len)
{
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	    false, 0 };
	struct image_io io = { .off = off, .len = len, .buf = buf,
	    .done = io_done, .arg = &w };
	int r;

	r = image_submit_write(img, &io);
	if (r < 0)
		return r;
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	return w.r;
}

static int
write_one(uint64_t off, void *buf, size_t len)
{
	if (raw) {
		char oid[96];
		/* an unconfirmed lease: wait, as the image does */
		while (guarded && !atomic_load(&fenced) && !lease_valid(ls) &&
		    !stopping)
			usleep(10 * 1000);
		if (guarded && (atomic_load(&fenced) || !lease_valid(ls)))
			return -EIO;
		snprintf(oid, sizeof(oid), IMAGE_OID_PREFIX "%s.%016" PRIx64, m.id,
		    off / m.object_size);
		return rados_write(store_ioctx(st), oid, buf, len,
		    off % m.object_size);
	}
	return write_sync(off, buf, len);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-guard", no_argument, NULL, 'G' },
		{ "raw",      no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	unsigned long interval = 200, writes = 0;
	struct config cfg;
	struct lease_holder h;
	char err[1024];
	int c, r;

	t_start = now_ns();
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "c:i:n:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'i':
			interval = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			writes = strtoul(optarg, NULL, 10);
			break;
		case 'G':
			guarded = false;
			break;
		case 'R':
			raw = true;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || strlen(argv[optind + 1]) != 1)
		goto usage;
	log_init("lease_holder", getenv("LEASE_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, LOG_TARGET_STDERR);
	if (config_init(&cfg, conf, NULL, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "lease_holder: %s\n", err);
		return 1;
	}
	if (store_connect(&cfg, 0, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "lease_holder: %s\n", err);
		return 1;
	}
	r = catalog_get(st, argv[optind], &m);
	if (r < 0) {
		fprintf(stderr, "lease_holder: volume %s: %s\n", argv[optind],
		    strerror(-r));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	/* A blocklisted client's sockets are reset under it. */
	signal(SIGPIPE, SIG_IGN);

	static const struct lease_events ev = { .hold = on_hold,
	    .resume = on_resume, .lost = on_lost };
	r = lease_acquire(st, m.name, m.id, (unsigned)cfg.volume_lease_seconds,
	    &ev, &ls, err, sizeof(err));
	if (r < 0) {
		say("%s: %s", r == -EBUSY ? "busy" : "error", err);
		volume_meta_free(&m);
		store_close(st);
		config_free(&cfg);
		return r == -EBUSY ? 3 : 1;
	}
	say("acquired cookie=%s client=client.%" PRIu64 " addr=%s via=%s",
	    lease_cookie(ls), store_instance_id(st), store_addr(st),
	    raw ? "rados" : "image");
	if (lease_taken_from(ls, &h))
		say("took-over client=%s addr=%s host=%s pid=%d", h.client, h.addr,
		    h.host, h.pid);

	if (!raw) {
		struct image_geometry geom = { .id = m.id, .size = m.size,
		    .object_size = m.object_size };
		r = image_open(st, &geom, &img);
		if (r < 0) {
			say("error: cannot open image: %s", strerror(-r));
			return 1;
		}
		if (guarded)
			image_set_guard(img, guard, ls);
	}

	char *buf = malloc(WRITE_LEN);
	memset(buf, argv[optind + 1][0], WRITE_LEN);
	for (unsigned long n = 1; !stopping && (writes == 0 || n <= writes); n++) {
		r = write_one(0, buf, WRITE_LEN);
		if (r == 0 && m.size > m.object_size + WRITE_LEN)
			r = write_one(m.object_size, buf, WRITE_LEN);
		if (r == 0)
			say("write %lu ok", n);
		else
			say("write %lu refused: %s", n, strerror(-r));
		struct timespec ts = { (time_t)(interval / 1000),
		    (long)(interval % 1000) * 1000000 };
		while (!stopping && nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	if (img) {
		r = image_flush(img);
		if (r < 0)
			say("flush: %s", strerror(-r));
		image_close(img);
		img = NULL;
	}
	lease_release(ls);
	say("released");
	free(buf);
	volume_meta_free(&m);
	store_close(st);
	config_free(&cfg);
	return 0;

usage:
	fprintf(stderr, "usage: lease_holder [-c CONF] [-i MS] [-n WRITES] "
	    "[--no-guard] [--raw] VOLUME CHAR\n");
	return 2;
}
