/*
 * image_model.c - random I/O on an image, every read checked against an
 * in-memory copy (tests/integ/image_model.sh).
 *
 *	image_model -c CONF [--seed N] [--ops N] [--object-size S] [--size S]
 *
 * Creates a fresh image id (its data objects only: the image layer needs no
 * catalogue entry) in the configured pool, then runs OPS operations in
 * batches: each batch submits 1..8 requests at once on non-overlapping
 * ranges (reads, writes, discards at random unaligned offsets and lengths,
 * biased to object boundaries and to the end of the image), sometimes a
 * flush while they are in flight, and waits for them. Requests past the end
 * must fail with -EINVAL at submit without a completion. Every read is
 * compared with the model. Completions are checked to run exactly once and
 * never inline in the submit call; a flush must return only after every
 * earlier write's completion.
 *
 * At the end: the whole image is read back and compared, closed, reopened
 * and compared again; image_allocated() is checked against the model's
 * non-zero objects; the gate is checked (a refusing guard holds, resume
 * sends in order, the fence fails what is held and refuses the rest); a
 * sixth of the batches are held half way and resumed;
 * image_remove_all() must leave no object. The seed is printed first so a
 * failure can be replayed. Exit 0 on success, 1 on a mismatch or error.
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

#define MAX_BATCH	8

#ifndef EBLOCKLISTED
#define EBLOCKLISTED	ESHUTDOWN
#endif

enum { M_READ, M_WRITE, M_DISCARD, M_EMPTY };

struct mreq {
	struct image_io	 io;		/* first */
	int		 kind;
	atomic_int	 ndone;
	int		 res;
};

static uint64_t rng;
static uint8_t *model;
static uint64_t vol_size, obj_size;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned outstanding;			/* lock */
static _Thread_local bool in_submit;
static atomic_int inline_done, double_done;
static uint64_t st_ops[4], st_bytes[4], st_einval, st_flush, st_holds, st_held;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t
rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void
io_done(struct image_io *io, int r)
{
	struct mreq *m = (struct mreq *)io;

	if (in_submit)
		atomic_fetch_add(&inline_done, 1);
	if (atomic_fetch_add(&m->ndone, 1) != 0)
		atomic_fetch_add(&double_done, 1);
	m->res = r;
	pthread_mutex_lock(&lock);
	outstanding--;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void
wait_all(void)
{
	pthread_mutex_lock(&lock);
	while (outstanding > 0)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static int
do_submit(struct image *img, struct mreq *m)
{
	int r;

	m->io.done = io_done;
	m->io.arg = m;
	atomic_store(&m->ndone, 0);
	m->res = 1;
	pthread_mutex_lock(&lock);
	outstanding++;
	pthread_mutex_unlock(&lock);
	in_submit = true;
	if (m->kind == M_READ || m->kind == M_EMPTY)
		r = image_submit_read(img, &m->io);
	else if (m->kind == M_WRITE)
		r = image_submit_write(img, &m->io);
	else
		r = image_submit_discard(img, &m->io);
	in_submit = false;
	if (r < 0) {
		pthread_mutex_lock(&lock);
		outstanding--;
		pthread_mutex_unlock(&lock);
	}
	return r;
}

/* A random offset: anywhere, or near an object boundary, or near the end. */
static uint64_t
pick_off(void)
{
	uint64_t nobj = (vol_size + obj_size - 1) / obj_size, b;

	switch (rnd_below(4)) {
	case 0:
		b = rnd_below(nobj + 1) * obj_size;
		if (b > vol_size)
			b = vol_size;
		b = b + rnd_below(1024) - 512;
		if ((int64_t)b < 0)
			b = 0;
		return b > vol_size ? vol_size : b;
	case 1:
		return vol_size - rnd_below(obj_size * 2 < vol_size ?
		    obj_size * 2 : vol_size);
	default:
		return rnd_below(vol_size);
	}
}

static size_t
pick_len(void)
{
	switch (rnd_below(6)) {
	case 0:
		return 1 + rnd_below(16);
	case 1:
	case 2:
		return 1 + rnd_below(8192);
	case 3:
		return 1 + rnd_below(obj_size);
	case 4:
		return obj_size;
	default:
		return 1 + rnd_below(3 * obj_size);
	}
}

static bool
overlaps(const struct mreq *ms, int n, uint64_t off, size_t len)
{
	for (int i = 0; i < n; i++)
		if (off < ms[i].io.off + ms[i].io.len && ms[i].io.off < off + len)
			return true;
	return false;
}

static int
check_read(const struct mreq *m, const char *what)
{
	const uint8_t *got = m->io.buf, *want = model + m->io.off;

	if (memcmp(got, want, m->io.len) == 0)
		return 0;
	for (size_t i = 0; i < m->io.len; i++)
		if (got[i] != want[i]) {
			fprintf(stderr, "image_model: %s off=%" PRIu64 " len=%zu: "
			    "byte %" PRIu64 " is 0x%02x, model says 0x%02x\n",
			    what, m->io.off, m->io.len, m->io.off + i, got[i],
			    want[i]);
			break;
		}
	return -1;
}

/* Read the whole image (in one request) and compare it with the model. */
static int
verify_all(struct image *img, const char *what)
{
	struct mreq m = { .kind = M_READ };
	int r;

	m.io.off = 0;
	m.io.len = vol_size;
	m.io.buf = malloc(vol_size);
	memset(m.io.buf, 0xee, vol_size);
	if ((r = do_submit(img, &m)) < 0) {
		fprintf(stderr, "image_model: %s: submit: %s\n", what, strerror(-r));
		free(m.io.buf);
		return -1;
	}
	wait_all();
	if (m.res != 0) {
		fprintf(stderr, "image_model: %s: %s\n", what, strerror(-m.res));
		free(m.io.buf);
		return -1;
	}
	r = check_read(&m, what);
	free(m.io.buf);
	return r;
}

static bool
refuse(void *arg)
{
	(void)arg;
	return false;
}

static int
run_batch(struct image *img)
{
	struct mreq ms[MAX_BATCH];
	int n = 1 + (int)rnd_below(MAX_BATCH), k = 0, i, r, fail = 0, held_at = -1;
	bool flush_mid = rnd_below(10) == 0;
	/* the gate: hold half way (what is in flight is cancelled and comes
	 * back to be sent again), submit the rest (held), then resume */
	bool hold_mid = !flush_mid && rnd_below(6) == 0;

	memset(ms, 0, sizeof(ms));
	for (i = 0; i < n; i++) {
		struct mreq *m = &ms[k];

		if (hold_mid && i == n / 2 && held_at < 0) {
			image_hold(img);
			held_at = k;
			st_holds++;
		}
		uint64_t off = pick_off();
		size_t len = pick_len();
		unsigned p = (unsigned)rnd_below(100);

		m->kind = p < 45 ? M_WRITE : p < 80 ? M_READ : p < 97 ?
		    M_DISCARD : M_EMPTY;
		if (m->kind == M_EMPTY)
			len = 0;
		if (off + len > vol_size && rnd_below(4) != 0)
			len = vol_size - off;	/* mostly clip, else past the end */
		if (off + len > vol_size) {
			/* past the end: refused at once, nothing changes */
			m->io.off = off;
			m->io.len = len;
			m->io.buf = malloc(len ? len : 1);
			r = do_submit(img, m);
			free(m->io.buf);
			if (r != -EINVAL) {
				fprintf(stderr, "image_model: off=%" PRIu64 " len=%zu "
				    "past the end returned %d, want -EINVAL\n",
				    off, len, r);
				return -1;
			}
			st_einval++;
			continue;
		}
		if (overlaps(ms, k, off, len))
			continue;
		m->io.off = off;
		m->io.len = len;
		if (m->kind != M_DISCARD) {
			m->io.buf = malloc(len ? len : 1);
			if (m->kind == M_WRITE) {
				uint8_t pat = (uint8_t)rnd();
				for (size_t j = 0; j < len; j++)
					((uint8_t *)m->io.buf)[j] =
					    (uint8_t)(pat + j * 7 + (j >> 9));
				memcpy(model + off, m->io.buf, len);
			} else
				memset(m->io.buf, 0xee, len);
		} else if (rnd_below(2))
			m->io.buf = NULL;	/* discard needs no buffer */
		else
			m->io.buf = model;	/* nor reads one it is given */
		if (m->kind == M_DISCARD)
			memset(model + off, 0, len);
		st_ops[m->kind]++;
		st_bytes[m->kind] += len;
		if ((r = do_submit(img, m)) < 0) {
			fprintf(stderr, "image_model: submit off=%" PRIu64 " len=%zu: "
			    "%s\n", off, len, strerror(-r));
			return -1;
		}
		k++;
	}
	if (held_at >= 0) {
		struct timespec ts = { 0, 5 * 1000000 };
		nanosleep(&ts, NULL);
		for (i = held_at; i < k; i++)
			if (ms[i].io.len > 0 && atomic_load(&ms[i].ndone) != 0) {
				fprintf(stderr, "image_model: off=%" PRIu64 " len=%zu "
				    "completed while the image was held\n",
				    ms[i].io.off, ms[i].io.len);
				fail = -1;
			}
		st_held += image_held(img);
		image_resume(img);
	}
	if (flush_mid) {
		/* every write and discard submitted so far must be done */
		st_flush++;
		if ((r = image_flush(img)) < 0) {
			fprintf(stderr, "image_model: flush: %s\n", strerror(-r));
			return -1;
		}
		for (i = 0; i < k; i++)
			if (ms[i].kind != M_READ && ms[i].kind != M_EMPTY &&
			    atomic_load(&ms[i].ndone) == 0) {
				fprintf(stderr, "image_model: flush returned before "
				    "off=%" PRIu64 " len=%zu completed\n",
				    ms[i].io.off, ms[i].io.len);
				fail = -1;
			}
	}
	wait_all();
	for (i = 0; i < k; i++) {
		struct mreq *m = &ms[i];

		if (m->res != 0) {
			fprintf(stderr, "image_model: op %d off=%" PRIu64 " len=%zu "
			    "failed: %s\n", m->kind, m->io.off, m->io.len,
			    strerror(-m->res));
			fail = -1;
		} else if (m->kind == M_READ && check_read(m, "read") < 0)
			fail = -1;
		if (m->kind != M_DISCARD)
			free(m->io.buf);
	}
	if (rnd_below(20) == 0) {
		st_flush++;
		if ((r = image_flush(img)) < 0) {
			fprintf(stderr, "image_model: flush: %s\n", strerror(-r));
			return -1;
		}
	}
	return fail;
}

static void
usage(void)
{
	fprintf(stderr, "usage: image_model -c CONF [--seed N] [--ops N] "
	    "[--object-size S] [--size S]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "object-size", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	uint64_t seed = 0, ops = 3000, done_ops = 0, bytes, objects, want_obj = 0,
	    want_bytes = 0;
	struct image_geometry geom = { 0 };
	struct config cfg;
	struct store *st;
	struct image *img;
	struct timespec t0, t1;
	char err[512], id[17];
	int c, r, status = 1;

	obj_size = 64 * 1024;
	vol_size = 3 * 1024 * 1024 + 12 * 1024 + 100;
	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			ops = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			if (size_parse(optarg, &obj_size) < 0)
				usage();
			break;
		case 'S':
			if (size_parse(optarg, &vol_size) < 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || obj_size == 0 || (obj_size & (obj_size - 1)))
		usage();
	clock_gettime(CLOCK_REALTIME, &t0);
	if (seed == 0)
		seed = (uint64_t)t0.tv_nsec ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)t0.tv_sec;
	rng = seed ? seed : 1;
	printf("image_model: seed %" PRIu64 " ops %" PRIu64 " object-size %" PRIu64
	    " size %" PRIu64 "\n", seed, ops, obj_size, vol_size);
	fflush(stdout);

	log_init("image_model", LOG_LEVEL_WARN, LOG_TARGET_STDERR);
	if (config_init(&cfg, conf, NULL, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "image_model: %s\n", err);
		return 1;
	}
	if (store_connect(&cfg, STORE_CREATE_POOL, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "image_model: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	snprintf(id, sizeof(id), "%016" PRIx64, rnd());
	geom.id = id;
	geom.size = vol_size;
	geom.object_size = obj_size;
	if ((model = calloc(1, vol_size)) == NULL ||
	    (r = image_open(st, &geom, &img)) < 0) {
		fprintf(stderr, "image_model: cannot open image %s\n", id);
		goto out_close_store;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done_ops < ops) {
		uint64_t before = st_ops[0] + st_ops[1] + st_ops[2] + st_ops[3] +
		    st_einval;
		if (run_batch(img) < 0) {
			fprintf(stderr, "image_model: FAILED (seed %" PRIu64 ")\n", seed);
			image_close(img);
			goto out_remove;
		}
		done_ops += st_ops[0] + st_ops[1] + st_ops[2] + st_ops[3] +
		    st_einval - before;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if ((r = image_flush(img)) < 0 || verify_all(img, "final read") < 0) {
		fprintf(stderr, "image_model: FAILED at the end (seed %" PRIu64 ")\n",
		    seed);
		image_close(img);
		goto out_remove;
	}
	image_close(img);
	if ((r = image_open(st, &geom, &img)) < 0 ||
	    verify_all(img, "read after reopen") < 0) {
		fprintf(stderr, "image_model: FAILED after reopen (seed %" PRIu64 ")\n",
		    seed);
		if (r == 0)
			image_close(img);
		goto out_remove;
	}

	/* allocation: objects with non-zero bytes must exist; no object may
	 * be larger than its part of the image */
	for (uint64_t o = 0; o * obj_size < vol_size; o++) {
		uint64_t end = (o + 1) * obj_size > vol_size ? vol_size :
		    (o + 1) * obj_size, last = 0;
		for (uint64_t b = o * obj_size; b < end; b++)
			if (model[b])
				last = b - o * obj_size + 1;
		if (last) {
			want_obj++;
			want_bytes += last;
		}
	}
	if ((r = image_allocated(st, id, &bytes, &objects)) < 0 ||
	    objects < want_obj || bytes < want_bytes || bytes > vol_size ||
	    objects > (vol_size + obj_size - 1) / obj_size) {
		fprintf(stderr, "image_model: image_allocated %d: %" PRIu64 " bytes "
		    "in %" PRIu64 " objects, model has at least %" PRIu64 " in %"
		    PRIu64 "\n", r, bytes, objects, want_bytes, want_obj);
		image_close(img);
		goto out_remove;
	}

	/* The gate at the end. 1: a refusing guard holds a write (no
	 * completion, counted as held); resume with the guard satisfied sends
	 * it. 2: two writes to the same bytes while held land in the order
	 * submitted. 3: the fence fails what is held at once, and every later
	 * request and flush at submit. */
	{
		uint8_t *a = malloc(4096), *b = malloc(4096), *back = malloc(4096);
		struct mreq w1, w2, rd;
		const char *why = NULL;

		memset(a, 0xa1, 4096);
		memset(b, 0xb2, 4096);
		memset(&w1, 0, sizeof(w1));
		memset(&w2, 0, sizeof(w2));
		memset(&rd, 0, sizeof(rd));
		w1.kind = w2.kind = M_WRITE;
		rd.kind = M_READ;
		w1.io.len = w2.io.len = rd.io.len = 4096;
		w1.io.buf = a;
		w2.io.buf = b;
		rd.io.buf = back;
		image_set_guard(img, refuse, NULL);
		if ((r = do_submit(img, &w1)) != 0)
			why = "submit with a refusing guard failed";
		else {
			struct timespec ts = { 0, 50 * 1000000 };
			nanosleep(&ts, NULL);
			if (atomic_load(&w1.ndone) != 0 || image_held(img) != 1)
				why = "a write with a refusing guard was not held";
		}
		if (why == NULL && (r = do_submit(img, &w2)) != 0)
			why = "second held submit failed";
		image_set_guard(img, NULL, NULL);
		image_resume(img);
		wait_all();
		if (why == NULL && (w1.res != 0 || w2.res != 0))
			why = "held writes failed after resume";
		if (why == NULL && (do_submit(img, &rd) != 0 || (wait_all(), rd.res != 0)))
			why = "read back failed";
		if (why == NULL && memcmp(back, b, 4096) != 0)
			why = "held writes to the same bytes landed out of order";
		if (why == NULL) {
			memcpy(model, b, 4096);
			image_hold(img);
			memset(&w1, 0, sizeof(w1));
			w1.kind = M_WRITE;
			w1.io.len = 4096;
			w1.io.buf = a;
			if (do_submit(img, &w1) != 0)
				why = "submit while held failed";
			image_fence(img, -EBLOCKLISTED);
			wait_all();
			if (why == NULL && w1.res != -EBLOCKLISTED)
				why = "the fence did not fail a held write with its error";
		}
		if (why == NULL) {
			memset(&w1, 0, sizeof(w1));
			w1.kind = M_WRITE;
			w1.io.len = 10;
			w1.io.buf = a;
			if ((r = do_submit(img, &w1)) != -EBLOCKLISTED ||
			    image_flush(img) != -EBLOCKLISTED)
				why = "a write or flush after the fence was not refused";
		}
		free(a);
		free(b);
		free(back);
		if (why) {
			fprintf(stderr, "image_model: gate: %s\n", why);
			wait_all();
			image_close(img);
			goto out_remove;
		}
	}
	image_close(img);

	if (atomic_load(&inline_done) || atomic_load(&double_done)) {
		fprintf(stderr, "image_model: %d completions inline in submit, %d "
		    "completions more than once\n", atomic_load(&inline_done),
		    atomic_load(&double_done));
		goto out_remove;
	}
	printf("image_model: ok %" PRIu64 " ops in %.2f s: %" PRIu64 " writes "
	    "(%" PRIu64 " KiB), %" PRIu64 " reads (%" PRIu64 " KiB), %" PRIu64
	    " discards, %" PRIu64 " empty, %" PRIu64 " past the end, %" PRIu64
	    " flushes, %" PRIu64 " holds (%" PRIu64 " pieces held); %" PRIu64
	    " objects %" PRIu64 " bytes allocated\n",
	    done_ops, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	    st_ops[M_WRITE], st_bytes[M_WRITE] >> 10, st_ops[M_READ],
	    st_bytes[M_READ] >> 10, st_ops[M_DISCARD], st_ops[M_EMPTY],
	    st_einval, st_flush, st_holds, st_held, objects, bytes);
	status = 0;

out_remove:
	if ((r = image_remove_all(st, id)) < 0) {
		fprintf(stderr, "image_model: image_remove_all: %s\n", strerror(-r));
		status = 1;
	} else if ((r = image_allocated(st, id, &bytes, &objects)) < 0 ||
	    objects != 0) {
		fprintf(stderr, "image_model: %" PRIu64 " objects left after "
		    "image_remove_all (%d)\n", objects, r);
		status = 1;
	}
out_close_store:
	free(model);
	store_close(st);
	config_free(&cfg);
	return status;
}
