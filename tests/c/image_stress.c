/*
 * image_stress.c - many threads on one image, each on its own region.
 *
 *	image_stress -c CONF [--threads N] [--seconds S] [--depth D]
 *	    [--object-size S] [--seed N]
 *
 * The image is cut into one region per thread; regions are not aligned to
 * objects, so neighbouring threads share objects. A thread's region is a
 * row of 512-byte sectors, each holding a generation number (0 = zeros).
 * Each thread keeps up to D requests in flight on disjoint sector runs:
 * writes (the run filled from (sector, generation): no copy of the data is
 * kept), discards (the run becomes zeros) and reads (every sector checked
 * against its generation). Every thread flushes now and then: the flush must
 * return only after the thread's earlier writes completed. At the end the
 * whole image is read back and checked from a fresh open, then removed.
 * Exit 0 on success, 1 on a mismatch or an error.
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
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "store/conn.h"
#include "store/image.h"

#define SECTOR		512
#define MAX_DEPTH	16
#define MAX_RUN		256		/* sectors: 128 KiB */

enum { K_READ, K_WRITE, K_DISCARD };

struct sreq {
	struct image_io	 io;		/* first */
	struct worker	*w;
	int		 kind;
	uint64_t	 first;		/* sector in region */
	unsigned	 n;
	uint32_t	*gens;		/* expected, for reads */
	bool		 busy;		/* worker lock */
	int		 res;
};

struct worker {
	pthread_t	 thr;
	unsigned	 idx;
	uint64_t	 base;		/* byte offset of the region */
	uint64_t	 nsec;
	uint32_t	*gen;		/* per sector, as acknowledged or in flight */
	uint8_t		*busy;		/* per sector: in flight */
	uint64_t	 rng;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	unsigned	 inflight;	/* lock */
	unsigned	 writes_out;	/* lock: writes/discards not completed */
	struct sreq	 req[MAX_DEPTH];
	uint64_t	 ops, bytes, flushes;
};

static struct image *img;
static unsigned depth = 8;
static double seconds = 10;
static atomic_int failed;
static _Thread_local bool in_submit;

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The content of sector `abs` (absolute sector number) at generation g. */
static void
fill(uint8_t *p, uint64_t abs, uint32_t g)
{
	uint64_t x = abs * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)g << 32 | g), v;
	unsigned i;

	if (g == 0) {
		memset(p, 0, SECTOR);
		return;
	}
	for (i = 0; i < SECTOR; i += 8) {
		x += 0x9E3779B97F4A7C15ULL;
		v = x;
		v = (v ^ (v >> 30)) * 0xBF58476D1CE4E5B9ULL;
		v = (v ^ (v >> 27)) * 0x94D049BB133111EBULL;
		v ^= v >> 31;
		memcpy(p + i, &v, 8);
	}
}

static bool
check(const uint8_t *p, uint64_t abs, uint32_t g)
{
	uint8_t want[SECTOR];

	fill(want, abs, g);
	return memcmp(p, want, SECTOR) == 0;
}

static void
sreq_done(struct image_io *io, int r)
{
	struct sreq *q = (struct sreq *)io;
	struct worker *w = q->w;
	uint64_t s, abs0 = w->base / SECTOR + q->first;
	unsigned i;

	if (in_submit) {
		fprintf(stderr, "image_stress: completion inline in submit\n");
		atomic_store(&failed, 1);
	}
	if (r < 0) {
		fprintf(stderr, "image_stress: thread %u: request failed: %s\n",
		    w->idx, strerror(-r));
		atomic_store(&failed, 1);
	} else if (q->kind == K_READ) {
		for (i = 0; i < q->n; i++) {
			s = abs0 + i;
			if (!check((uint8_t *)q->io.buf + (size_t)i * SECTOR, s,
			    q->gens[i])) {
				fprintf(stderr, "image_stress: thread %u: "
				    "sector %" PRIu64 " (byte %" PRIu64 ") does "
				    "not hold generation %u\n", w->idx, s,
				    s * SECTOR, q->gens[i]);
				atomic_store(&failed, 1);
				break;
			}
		}
	}
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < q->n; i++)
		w->busy[q->first + i] = 0;
	if (q->kind != K_READ)
		w->writes_out--;
	q->busy = false;
	w->inflight--;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static struct sreq *
free_slot(struct worker *w)
{
	unsigned i;

	for (i = 0; i < depth; i++)
		if (!w->req[i].busy)
			return &w->req[i];
	return NULL;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct timespec t0, now;
	struct sreq *q;
	uint64_t first, abs0;
	unsigned n, i, k;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (atomic_load(&failed) || (double)(now.tv_sec - t0.tv_sec) +
		    (now.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
			break;
		if (rnd(&w->rng) % 64 == 0) {
			if ((r = image_flush(img)) < 0) {
				fprintf(stderr, "image_stress: flush: %s\n",
				    strerror(-r));
				atomic_store(&failed, 1);
				break;
			}
			/* Every write of this thread in flight was submitted
			 * before the flush: all must have completed. */
			pthread_mutex_lock(&w->lock);
			if (w->writes_out != 0) {
				fprintf(stderr, "image_stress: thread %u: flush "
				    "returned with %u writes in flight\n",
				    w->idx, w->writes_out);
				atomic_store(&failed, 1);
			}
			pthread_mutex_unlock(&w->lock);
			w->flushes++;
			continue;
		}
		pthread_mutex_lock(&w->lock);
		while (w->inflight >= depth)
			pthread_cond_wait(&w->cond, &w->lock);
		q = free_slot(w);
		n = 1 + rnd(&w->rng) % (rnd(&w->rng) % 4 == 0 ? MAX_RUN : 16);
		if (n > w->nsec)
			n = (unsigned)w->nsec;
		first = rnd(&w->rng) % (w->nsec - n + 1);
		for (i = 0; i < n; i++)
			if (w->busy[first + i])
				break;
		if (i < n) {		/* overlaps a request in flight */
			pthread_mutex_unlock(&w->lock);
			continue;
		}
		k = rnd(&w->rng) % 10;
		q->kind = k < 5 ? K_WRITE : k < 6 ? K_DISCARD : K_READ;
		q->first = first;
		q->n = n;
		q->busy = true;
		for (i = 0; i < n; i++)
			w->busy[first + i] = 1;
		w->inflight++;
		if (q->kind != K_READ)
			w->writes_out++;
		pthread_mutex_unlock(&w->lock);

		abs0 = w->base / SECTOR + first;
		for (i = 0; i < n; i++) {
			if (q->kind == K_WRITE)
				w->gen[first + i]++;
			else if (q->kind == K_DISCARD)
				w->gen[first + i] = 0;
			q->gens[i] = w->gen[first + i];
			if (q->kind == K_WRITE)
				fill((uint8_t *)q->io.buf + (size_t)i * SECTOR,
				    abs0 + i, q->gens[i]);
		}
		q->io.off = w->base + first * SECTOR;
		q->io.len = (size_t)n * SECTOR;
		q->io.done = sreq_done;
		in_submit = true;
		r = q->kind == K_READ ? image_submit_read(img, &q->io) :
		    q->kind == K_WRITE ? image_submit_write(img, &q->io) :
		    image_submit_discard(img, &q->io);
		in_submit = false;
		if (r < 0) {
			fprintf(stderr, "image_stress: submit: %s\n",
			    strerror(-r));
			atomic_store(&failed, 1);
			pthread_mutex_lock(&w->lock);
			q->busy = false;
			w->inflight--;
			pthread_mutex_unlock(&w->lock);
			break;
		}
		w->ops++;
		w->bytes += q->io.len;
	}
	pthread_mutex_lock(&w->lock);
	while (w->inflight > 0)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Flush ordering: after image_flush() returns, every write submitted
 * before it has completed. Checked on its own with one thread's writes. */
static int
check_flush(struct worker *w)
{
	unsigned i, n = depth < 4 ? depth : 4;
	int r;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < n; i++) {
		struct sreq *q = &w->req[i];
		q->kind = K_WRITE;
		q->first = (uint64_t)i * 8 % w->nsec;
		q->n = 1;
		q->busy = true;
		w->gen[q->first]++;
		q->gens[0] = w->gen[q->first];
		fill(q->io.buf, w->base / SECTOR + q->first, q->gens[0]);
		q->io.off = w->base + q->first * SECTOR;
		q->io.len = SECTOR;
		q->io.done = sreq_done;
		w->inflight++;
		w->writes_out++;
		w->busy[q->first] = 1;
	}
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < n; i++)
		if ((r = image_submit_write(img, &w->req[i].io)) < 0)
			return r;
	if ((r = image_flush(img)) < 0)
		return r;
	pthread_mutex_lock(&w->lock);
	r = w->writes_out == 0 ? 0 : -EPROTO;
	while (w->inflight > 0)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	if (r < 0)
		fprintf(stderr, "image_stress: flush returned before its "
		    "writes completed\n");
	return r;
}

struct sync_wait {
	struct image_io	 io;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	bool		 done;
	int		 r;
};

static void
sync_done(struct image_io *io, int r)
{
	struct sync_wait *s = (struct sync_wait *)io;

	pthread_mutex_lock(&s->lock);
	s->r = r;
	s->done = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static int
sync_read(struct image *im, uint64_t off, void *buf, size_t len)
{
	struct sync_wait s = { .lock = PTHREAD_MUTEX_INITIALIZER,
	    .cond = PTHREAD_COND_INITIALIZER };
	int r;

	s.io.off = off;
	s.io.len = len;
	s.io.buf = buf;
	s.io.done = sync_done;
	if ((r = image_submit_read(im, &s.io)) < 0)
		return r;
	pthread_mutex_lock(&s.lock);
	while (!s.done)
		pthread_cond_wait(&s.cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
	return s.r;
}

static void
usage(void)
{
	fprintf(stderr, "usage: image_stress -c CONF [--threads N] "
	    "[--seconds S] [--depth D] [--object-size S] [--seed N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 'T' },
		{ "depth", required_argument, NULL, 'd' },
		{ "object-size", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	unsigned nthreads = 8, i, j;
	uint64_t osz = 64 * 1024, seed = 0, region, ops = 0, bytes = 0,
	    flushes = 0, seedrng, bad = 0;
	struct image_geometry geom = { 0 };
	struct worker *w;
	struct config cfg;
	struct store *st;
	struct timespec t0, t1;
	char err[512], id[17];
	uint8_t *buf;
	double el;
	int c, r, status = 1;

	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 't': nthreads = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'T': seconds = strtod(optarg, NULL); break;
		case 'd': depth = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'o':
			if (size_parse(optarg, &osz) < 0)
				usage();
			break;
		default: usage();
		}
	}
	if (optind != argc || nthreads == 0 || nthreads > 256 || depth == 0 ||
	    depth > MAX_DEPTH || osz == 0 || (osz & (osz - 1)))
		usage();
	clock_gettime(CLOCK_REALTIME, &t0);
	if (seed == 0)
		seed = (uint64_t)t0.tv_nsec ^ ((uint64_t)getpid() << 32);
	seedrng = seed;
	/* Regions of an odd number of sectors: they straddle objects. */
	region = (osz * 5 / 2 / SECTOR + 7) * SECTOR;
	printf("image_stress: seed %" PRIu64 " threads %u depth %u seconds %.0f "
	    "object-size %" PRIu64 " region %" PRIu64 "\n", seed, nthreads,
	    depth, seconds, osz, region);
	fflush(stdout);

	log_init("image_stress", LOG_LEVEL_WARN, LOG_TARGET_STDERR);
	if (config_init(&cfg, conf, NULL, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "image_stress: %s\n", err);
		return 1;
	}
	if (store_connect(&cfg, STORE_CREATE_POOL, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "image_stress: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	snprintf(id, sizeof(id), "%016" PRIx64, rnd(&seedrng));
	geom.id = id;
	geom.object_size = osz;
	geom.size = region * nthreads;
	if ((r = image_open(st, &geom, &img)) < 0) {
		fprintf(stderr, "image_stress: image_open: %s\n", strerror(-r));
		goto out_disconnect;
	}
	w = calloc(nthreads, sizeof(*w));
	for (i = 0; i < nthreads; i++) {
		w[i].idx = i;
		w[i].base = region * i;
		w[i].nsec = region / SECTOR;
		w[i].gen = calloc(w[i].nsec, sizeof(uint32_t));
		w[i].busy = calloc(w[i].nsec, 1);
		w[i].rng = rnd(&seedrng) | 1;
		pthread_mutex_init(&w[i].lock, NULL);
		pthread_cond_init(&w[i].cond, NULL);
		for (j = 0; j < MAX_DEPTH; j++) {
			w[i].req[j].w = &w[i];
			w[i].req[j].io.buf = malloc((size_t)MAX_RUN * SECTOR);
			w[i].req[j].gens = calloc(MAX_RUN, sizeof(uint32_t));
		}
	}
	if (check_flush(&w[0]) < 0)
		atomic_store(&failed, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nthreads; i++)
		pthread_create(&w[i].thr, NULL, worker_main, &w[i]);
	for (i = 0; i < nthreads; i++) {
		pthread_join(w[i].thr, NULL);
		ops += w[i].ops;
		bytes += w[i].bytes;
		flushes += w[i].flushes;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	image_close(img);

	/* Read everything back through a fresh open. */
	if ((r = image_open(st, &geom, &img)) < 0) {
		fprintf(stderr, "image_stress: reopen: %s\n", strerror(-r));
		atomic_store(&failed, 1);
	} else {
		buf = malloc(region);
		for (i = 0; i < nthreads && bad == 0; i++) {
			if ((r = sync_read(img, w[i].base, buf, region)) < 0) {
				fprintf(stderr, "image_stress: read back: %s\n",
				    strerror(-r));
				bad++;
				break;
			}
			for (j = 0; j < w[i].nsec; j++)
				if (!check(buf + (size_t)j * SECTOR,
				    w[i].base / SECTOR + j, w[i].gen[j])) {
					fprintf(stderr, "image_stress: read back:"
					    " sector %" PRIu64 " of thread %u "
					    "wrong (generation %u)\n",
					    w[i].base / SECTOR + j, i,
					    w[i].gen[j]);
					bad++;
					break;
				}
		}
		if (bad)
			atomic_store(&failed, 1);
		free(buf);
		image_close(img);
	}
	if ((r = image_remove_all(st, id)) < 0) {
		fprintf(stderr, "image_stress: remove_all: %s\n", strerror(-r));
		atomic_store(&failed, 1);
	}
	printf("image_stress: %s: %" PRIu64 " requests (%.1f MiB) in %.1f s, "
	    "%.0f req/s, %" PRIu64 " flushes\n",
	    atomic_load(&failed) ? "FAILED" : "ok", ops,
	    bytes / 1048576.0, el, ops / el, flushes);
	status = atomic_load(&failed) ? 1 : 0;
	for (i = 0; i < nthreads; i++) {
		for (j = 0; j < MAX_DEPTH; j++) {
			free(w[i].req[j].io.buf);
			free(w[i].req[j].gens);
		}
		free(w[i].gen);
		free(w[i].busy);
	}
	free(w);
out_disconnect:
	store_close(st);
	config_free(&cfg);
	return status;
}
