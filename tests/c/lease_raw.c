/*
 * lease_raw.c - lease_holder.c without the image layer: the same options
 * and output, but each write goes straight to the volume's data objects
 * with rados_write(), after checking lease_valid() (unless --no-guard).
 * The fencing tests use it when lease_holder is not built, and it shows
 * the lease and the blocklist fence any RADOS writer, not only image.c.
 *
 *	lease_raw [-c CONF] [-i MS] [-n WRITES] [--no-guard] VOLUME CHAR
 *
 * Acquires VOLUME's lease (store/lease.h) for volume.lease_seconds, then
 * every MS milliseconds (default 200) writes 64 KiB of CHAR at offset 0 and
 * at the start of the second object, each refused with EIO once the lease
 * is not valid. Stops after WRITES writes (0: until SIGTERM/SIGINT), then
 * releases. --no-guard leaves the check out, so only the OSDs' blocklist
 * can refuse its writes.
 *
 * One line per event on stdout (line buffered), each starting with
 * milliseconds since start:
 *	T acquired cookie=C client=client.N addr=A
 *	T took-over client=client.N addr=A host=H pid=P
 *	T busy: <sentence>            (exit 3)
 *	T write N ok | T write N refused: <error>
 *	T lost: <error>
 *	T released
 * Exit 0 normally, 3 when the lease is held by someone else, 1 on error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
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
#include "store/lease.h"

#define WRITE_LEN	(64 * 1024)

static volatile sig_atomic_t stopping;
static uint64_t t_start;
static bool guarded = true;
static struct store *st;
static struct lease *ls;
static atomic_bool fenced;
static char data_prefix[64];

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
on_lost(void *arg, int err)
{
	(void)arg;
	say("lost: %s", strerror(-err));
	if (guarded)
		atomic_store(&fenced, true);
}

/* Write len bytes at image offset off (within one object). */
static int
write_sync(uint64_t off, uint64_t object_size, void *buf, size_t len)
{
	char oid[96];

	if (guarded && (atomic_load(&fenced) || !lease_valid(ls)))
		return -EIO;
	snprintf(oid, sizeof(oid), "%s%016" PRIx64, data_prefix, off / object_size);
	return rados_write(store_ioctx(st), oid, buf, len, off % object_size);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-guard", no_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	unsigned long interval = 200, writes = 0;
	struct config cfg;
	struct volume_meta m;
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
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || strlen(argv[optind + 1]) != 1)
		goto usage;
	log_init("lease_raw", getenv("LEASE_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, LOG_TARGET_STDERR);
	if (config_init(&cfg, conf, NULL, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "lease_raw: %s\n", err);
		return 1;
	}
	if (store_connect(&cfg, 0, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "lease_raw: %s\n", err);
		return 1;
	}
	r = catalog_get(st, argv[optind], &m);
	if (r < 0) {
		fprintf(stderr, "lease_raw: volume %s: %s\n", argv[optind],
		    strerror(-r));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	/* A blocklisted client's sockets are reset under it. */
	signal(SIGPIPE, SIG_IGN);

	r = lease_acquire(st, m.name, m.id, (unsigned)cfg.volume_lease_seconds,
	    on_lost, NULL, &ls, err, sizeof(err));
	if (r < 0) {
		say("%s: %s", r == -EBUSY ? "busy" : "error", err);
		volume_meta_free(&m);
		store_close(st);
		config_free(&cfg);
		return r == -EBUSY ? 3 : 1;
	}
	say("acquired cookie=%s client=client.%" PRIu64 " addr=%s",
	    lease_cookie(ls), store_instance_id(st), store_addr(st));
	if (lease_taken_from(ls, &h))
		say("took-over client=%s addr=%s host=%s pid=%d", h.client, h.addr,
		    h.host, h.pid);

	snprintf(data_prefix, sizeof(data_prefix), "cephvol.data.%s.", m.id);

	char *buf = malloc(WRITE_LEN);
	memset(buf, argv[optind + 1][0], WRITE_LEN);
	for (unsigned long n = 1; !stopping && (writes == 0 || n <= writes); n++) {
		r = write_sync(0, m.object_size, buf, WRITE_LEN);
		if (r == 0 && m.size > m.object_size + WRITE_LEN)
			r = write_sync(m.object_size, m.object_size, buf, WRITE_LEN);
		if (r == 0)
			say("write %lu ok", n);
		else
			say("write %lu refused: %s", n, strerror(-r));
		struct timespec ts = { (time_t)(interval / 1000),
		    (long)(interval % 1000) * 1000000 };
		while (!stopping && nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	lease_release(ls);
	say("released");
	free(buf);
	volume_meta_free(&m);
	store_close(st);
	config_free(&cfg);
	return 0;

usage:
	fprintf(stderr, "usage: lease_raw [-c CONF] [-i MS] [-n WRITES] "
	    "[--no-guard] VOLUME CHAR\n");
	return 2;
}
