/*
 * image_bench.c - the image layer's throughput at a fixed queue depth
 * (tests/bench/image.sh runs it beside rados bench and fio's rbd engine).
 *
 *	image_bench -c CONF --id ID --mode seqwrite|seqread|randwrite|randread
 *	    [--bs S] [--depth N] [--size S] [--object-size S] [--seconds T]
 *	    [--remove]
 *
 * Keeps DEPTH requests of BS bytes in flight on image ID (SIZE bytes) for
 * T seconds: sequential modes walk the image and wrap, random modes pick
 * BS-aligned offsets. Each completion submits the next request from the
 * librados callback thread, as the FUSE layer does. Prints one line:
 * "mode bs depth MiB/s IOPS p50_us p99_us maxrss_kib". --remove removes the
 * image's objects afterwards. Buffers: DEPTH x BS, allocated once.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "store/conn.h"
#include "store/image.h"

#define MAX_DEPTH	256
#define MAX_LAT		(1u << 20)

enum { SEQW, SEQR, RANDW, RANDR };

struct breq {
	struct image_io	 io;		/* first */
	struct timespec	 t0;
};

static struct image *img;
static int mode;
static uint64_t bs = 1 << 20, vsize = 1ull << 30;
static atomic_uint_fast64_t next_seq, done_ops;
static atomic_int stop, failed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned inflight;			/* lock */
static uint32_t *lat;				/* microseconds */
static atomic_uint nlat;
static _Thread_local uint64_t trng;

static uint64_t
rnd(void)
{
	if (trng == 0)
		trng = (uint64_t)(uintptr_t)&trng ^ 0x9E3779B97F4A7C15ULL;
	trng ^= trng << 13;
	trng ^= trng >> 7;
	trng ^= trng << 17;
	return trng;
}

static int submit(struct breq *b);

static void
bdone(struct image_io *io, int r)
{
	struct breq *b = (struct breq *)io;
	struct timespec t1;
	unsigned i;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	i = atomic_fetch_add(&nlat, 1);
	if (i < MAX_LAT)
		lat[i] = (uint32_t)((t1.tv_sec - b->t0.tv_sec) * 1000000 +
		    (t1.tv_nsec - b->t0.tv_nsec) / 1000);
	if (r < 0) {
		fprintf(stderr, "image_bench: request failed: %s\n",
		    strerror(-r));
		atomic_store(&failed, 1);
	}
	atomic_fetch_add(&done_ops, 1);
	if (!atomic_load(&stop) && !atomic_load(&failed) && submit(b) == 0)
		return;
	pthread_mutex_lock(&lock);
	inflight--;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

static int
submit(struct breq *b)
{
	uint64_t nblk = vsize / bs;
	int r;

	if (mode == SEQW || mode == SEQR)
		b->io.off = (atomic_fetch_add(&next_seq, 1) % nblk) * bs;
	else
		b->io.off = (rnd() % nblk) * bs;
	b->io.len = bs;
	b->io.done = bdone;
	clock_gettime(CLOCK_MONOTONIC, &b->t0);
	r = mode == SEQW || mode == RANDW ? image_submit_write(img, &b->io) :
	    image_submit_read(img, &b->io);
	if (r < 0) {
		fprintf(stderr, "image_bench: submit: %s\n", strerror(-r));
		atomic_store(&failed, 1);
	}
	return r;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	fprintf(stderr, "usage: image_bench -c CONF --id ID --mode "
	    "seqwrite|seqread|randwrite|randread [--bs S] [--depth N] "
	    "[--size S] [--object-size S] [--seconds T] [--remove]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "mode", required_argument, NULL, 'm' },
		{ "bs", required_argument, NULL, 'b' },
		{ "depth", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 'S' },
		{ "object-size", required_argument, NULL, 'o' },
		{ "seconds", required_argument, NULL, 'T' },
		{ "remove", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *id = NULL, *modes[] = { "seqwrite",
	    "seqread", "randwrite", "randread" };
	uint64_t osz = 4 << 20;
	unsigned depth = 16, i, n;
	double seconds = 10, el;
	bool do_remove = false;
	struct image_geometry geom = { 0 };
	struct config cfg;
	struct store *st;
	struct breq *reqs;
	struct timespec t0, t1, ts;
	struct rusage ru;
	char err[512];
	int c, r, status = 1;

	mode = -1;
	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'i': id = optarg; break;
		case 'm':
			for (i = 0; i < 4; i++)
				if (strcmp(optarg, modes[i]) == 0)
					mode = (int)i;
			break;
		case 'b':
			if (size_parse(optarg, &bs) < 0)
				usage();
			break;
		case 'S':
			if (size_parse(optarg, &vsize) < 0)
				usage();
			break;
		case 'o':
			if (size_parse(optarg, &osz) < 0)
				usage();
			break;
		case 'd': depth = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'T': seconds = strtod(optarg, NULL); break;
		case 'R': do_remove = true; break;
		default: usage();
		}
	}
	if (optind != argc || !id || mode < 0 || depth == 0 ||
	    depth > MAX_DEPTH || bs == 0 || vsize < bs)
		usage();
	log_init("image_bench", LOG_LEVEL_WARN, LOG_TARGET_STDERR);
	if (config_init(&cfg, conf, NULL, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "image_bench: %s\n", err);
		return 1;
	}
	if (store_connect(&cfg, STORE_CREATE_POOL, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "image_bench: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	geom.id = id;
	geom.size = vsize;
	geom.object_size = osz;
	if ((r = image_open(st, &geom, &img)) < 0) {
		fprintf(stderr, "image_bench: image_open: %s\n", strerror(-r));
		goto out_close_store;
	}
	lat = calloc(MAX_LAT, sizeof(*lat));
	reqs = calloc(depth, sizeof(*reqs));
	for (i = 0; i < depth; i++) {
		reqs[i].io.buf = aligned_alloc(4096, bs);
		memset(reqs[i].io.buf, 0xa5 ^ i, bs);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&lock);
	for (i = 0; i < depth; i++) {
		inflight++;
		if (submit(&reqs[i]) < 0) {
			inflight--;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	pthread_mutex_lock(&lock);
	while (inflight > 0)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	if (mode == SEQW || mode == RANDW)
		image_flush(img);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	n = atomic_load(&nlat);
	if (n > MAX_LAT)
		n = MAX_LAT;
	qsort(lat, n, sizeof(*lat), cmp_u32);
	getrusage(RUSAGE_SELF, &ru);
	printf("%s bs=%" PRIu64 " depth=%u MiB/s=%.1f IOPS=%.0f p50_us=%u "
	    "p99_us=%u maxrss_kib=%ld\n", modes[mode], bs, depth,
	    (double)atomic_load(&done_ops) * bs / 1048576.0 / el,
	    (double)atomic_load(&done_ops) / el, n ? lat[n / 2] : 0,
	    n ? lat[n * 99 / 100] : 0, ru.ru_maxrss);
	status = atomic_load(&failed) ? 1 : 0;
	image_close(img);
	for (i = 0; i < depth; i++)
		free(reqs[i].io.buf);
	free(reqs);
	free(lat);
	if (do_remove && (r = image_remove_all(st, id)) < 0) {
		fprintf(stderr, "image_bench: remove: %s\n", strerror(-r));
		status = 1;
	}
out_close_store:
	store_close(st);
	config_free(&cfg);
	return status;
}
