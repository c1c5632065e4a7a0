/*
 * snapshot_model.c - snapshots, rollbacks and clones of clones at the image
 * layer (store/image.h, store/image_layer.c, image_rollback), every byte
 * checked against in-memory models (tests/integ/snapshot_model.sh).
 *
 *	snapshot_model -c CONF [--seed N] [--steps N] [--object-size S]
 *	    [--size S] [--trace]
 *
 * A volume is an image id only (16 random hex digits: the image layer needs
 * no catalogue entry) with a model (its bytes), its snapshots (a RADOS
 * snapshot id from snapshot_alloc_id(), a copy of the model then and the
 * size), its layers if it is a clone (nearest first) and an open image
 * that carries its snapshot context. STEPS random steps, weighted:
 *  batch      1..8 concurrent non-overlapping reads, writes and discards on
 *             one volume, picked as image_model does (biased to object
 *             boundaries and the end; some past the end, refused with
 *             -EINVAL); in a quarter of them writes and discards may
 *             overlap one another (they must land in the order submitted);
 *             sometimes held half way and resumed, sometimes flushed
 *             meanwhile. A read is compared with the model in its
 *             completion.
 *  snapshot   image_flush(), a new id, the write context (seq = the id, the
 *             live ids newest first), a copy of the model.
 *  snap read  a read-only image at a snapshot (read_snap, the volume's
 *             layers) compared whole with its copy, sometimes while a batch
 *             runs on the volume; a write to it must fail with -EROFS.
 *  clone      a new volume from a snapshot: layers [parent@snap, overlap the
 *             parent's size then] then the parent's own (each overlap
 *             clipped to that), size the overlap or a bit more, model the
 *             snapshot's copy (zeros past the overlap). The parent is often
 *             the deepest clone that has a snapshot, so chains grow.
 *  rollback   close, image_rollback() with the volume's context over
 *             ceil(max(size, snapshot's size) / object size) objects, model
 *             the snapshot's copy, reopen; sometimes while another volume
 *             (a clone of it if there is one) is read whole.
 *  snap rm    snapshot_release_id() of one no clone reads through; the
 *             context without it.
 *  verify     a whole volume against its model, sometimes while a batch runs
 *             on another volume (often its parent), sometimes after a
 *             reopen (the copy-up states start again).
 *  and, to keep at most MAX_VOLS volumes, remove one no clone depends on
 *  (its snapshot ids given back, image_remove_all()), or start a new one.
 * Snapshot ids are given back by a thread of their own (a monitor round trip
 * each). At the end every volume and every snapshot left is verified, the
 * images closed, every snapshot id given back and every volume's objects
 * removed (none may be left), then one summary line. Completions are
 * checked to run exactly once and never inline in the submit call. The
 * seed is printed first; the same seed replays the same steps (the volume
 * ids differ from run to run). A failure prints the seed, the step, the
 * volume and the first differing byte, then the last TRACE_LINES steps
 * (--trace prints every step as it runs), and exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
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
#include "store/snapshot.h"

#define MAX_BATCH	8
#define MAX_VOLS	6		/* volumes alive at once */
#define MAX_SNAPS	4		/* per volume */
#define TRACE_LINES	64
#define TRACE_LEN	640

enum { M_READ, M_WRITE, M_DISCARD, M_EMPTY };

static const char kind_char[] = { 'R', 'W', 'D', 'E' };

struct mreq {
	struct image_io	 io;		/* first */
	int		 kind;
	atomic_int	 ndone;
	int		 res;
	const uint8_t	*want;		/* a read's expected bytes, or NULL */
	int64_t		 bad;		/* first differing byte from io.off, or -1 */
	uint8_t		 got, exp;	/* at bad */
};

struct msnap {
	uint64_t	 id;		/* RADOS self-managed snapshot id */
	uint64_t	 size;		/* the volume's then */
	uint8_t		*model;		/* size bytes */
};

struct vol {
	char		 id[17];
	unsigned	 name;		/* vN in messages */
	uint64_t	 size;
	uint8_t		*model;		/* size bytes */
	struct msnap	 snaps[MAX_SNAPS];	/* oldest first */
	unsigned	 n_snaps;
	uint64_t	 seq;		/* the write context's seq */
	struct image_layer layers[MAX_VOLS];	/* nearest first; id -> lid */
	char		 lid[MAX_VOLS][17];
	unsigned	 lname[MAX_VOLS];	/* the ancestors' names */
	unsigned	 n_layers;
	struct image	*img;		/* NULL while closed */
};

static uint64_t rng, seed, step_no, id_salt;
static uint64_t obj_size, base_size;
static struct store *st;
static struct vol *vols[MAX_VOLS];
static unsigned n_vols, next_name;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned outstanding;			/* lock */
static _Thread_local bool in_submit;
static atomic_int inline_done, double_done;
static bool trace_live;
static char trace_ring[TRACE_LINES][TRACE_LEN];
static uint64_t trace_n;
static uint64_t st_ops[4], st_einval, st_flush, st_holds, st_held, st_snaps,
    st_clones, st_depth, st_rollbacks, st_snapreads, st_snaprm, st_volrm,
    st_volnew, st_verifies, st_reopens;

/* ---- randomness, trace, messages ---------------------------------------- */

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

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
trace(const char *fmt, ...)
{
	char *line = trace_ring[trace_n++ % TRACE_LINES];
	int n;
	va_list ap;

	n = snprintf(line, TRACE_LEN, "step %" PRIu64 ": ", step_no);
	va_start(ap, fmt);
	vsnprintf(line + n, TRACE_LEN - (size_t)n, fmt, ap);
	va_end(ap);
	if (trace_live)
		fprintf(stderr, "%s\n", line);
}

static void
trace_dump(void)
{
	uint64_t first = trace_n > TRACE_LINES ? trace_n - TRACE_LINES : 0;

	fprintf(stderr, "snapshot_model: the last %" PRIu64 " steps:\n",
	    trace_n - first);
	for (uint64_t i = first; i < trace_n; i++)
		fprintf(stderr, "  %s\n", trace_ring[i % TRACE_LINES]);
}

/* "v3 (id 0123..., size N, layers v1@5/overlap N v0@3/overlap N)" */
static const char *
vol_desc(const struct vol *v, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "v%u (id %s, size %" PRIu64
	    ", %u snapshots", v->name, v->id, v->size, v->n_snaps);

	for (unsigned i = 0; i < v->n_layers && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s v%u@%" PRIu64
		    "/overlap %" PRIu64, i == 0 ? ", layers" : "", v->lname[i],
		    v->layers[i].snap, v->layers[i].overlap);
	if (n < len)
		snprintf(buf + n, len - n, ")");
	return buf;
}

static void failf(const struct vol *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Something failed that is not a mismatch: what, the seed, the step. */
static void
failf(const struct vol *v, const char *fmt, ...)
{
	char d[512], what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "snapshot_model: seed %" PRIu64 " step %" PRIu64
	    " volume %s: %s\n", seed, step_no,
	    v ? vol_desc(v, d, sizeof(d)) : "-", what);
}

/* ---- giving snapshot ids back ------------------------------------------------ */

/* snapshot_release_id() is a monitor round trip (tens of ms): a thread of
 * its own gives the ids back, in order, while the steps go on. */
static pthread_mutex_t rel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rel_cond = PTHREAD_COND_INITIALIZER;
static uint64_t *rel_q;			/* rel_lock */
static size_t rel_n, rel_cap;		/* rel_lock */
static bool rel_stop, rel_running;	/* rel_lock */
static pthread_t rel_thread;

static void *
releaser_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&rel_lock);
	for (;;) {
		uint64_t id;

		if (rel_n == 0) {
			if (rel_stop)
				break;
			pthread_cond_wait(&rel_cond, &rel_lock);
			continue;
		}
		id = rel_q[0];
		memmove(rel_q, rel_q + 1, --rel_n * sizeof(*rel_q));
		pthread_mutex_unlock(&rel_lock);
		snapshot_release_id(st, id);
		pthread_mutex_lock(&rel_lock);
	}
	pthread_mutex_unlock(&rel_lock);
	return NULL;
}

static void
give_back(uint64_t id)
{
	pthread_mutex_lock(&rel_lock);
	if (!rel_running ||
	    array_grow(&rel_q, &rel_cap, rel_n, sizeof(*rel_q), 16) < 0) {
		pthread_mutex_unlock(&rel_lock);
		snapshot_release_id(st, id);
		return;
	}
	rel_q[rel_n++] = id;
	pthread_cond_signal(&rel_cond);
	pthread_mutex_unlock(&rel_lock);
}

static void
give_back_start(void)
{
	rel_running = pthread_create(&rel_thread, NULL, releaser_main, NULL) == 0;
}

/* Every id queued is given back. */
static void
give_back_finish(void)
{
	pthread_mutex_lock(&rel_lock);
	rel_stop = true;
	pthread_cond_signal(&rel_cond);
	pthread_mutex_unlock(&rel_lock);
	if (rel_running)
		pthread_join(rel_thread, NULL);
	rel_running = false;
	free(rel_q);
	rel_q = NULL;
}

/* ---- requests ------------------------------------------------------------- */

static void
io_done(struct image_io *io, int r)
{
	struct mreq *m = (struct mreq *)io;

	if (in_submit)
		atomic_fetch_add(&inline_done, 1);
	if (atomic_fetch_add(&m->ndone, 1) != 0)
		atomic_fetch_add(&double_done, 1);
	m->res = r;
	/* a read is checked now: nothing in flight writes its bytes */
	if (r == 0 && m->want != NULL && m->io.len > 0 &&
	    memcmp(m->io.buf, m->want, m->io.len) != 0) {
		const uint8_t *got = m->io.buf;
		for (size_t i = 0; i < m->io.len; i++)
			if (got[i] != m->want[i]) {
				m->bad = (int64_t)i;
				m->got = got[i];
				m->exp = m->want[i];
				break;
			}
	}
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
	m->bad = -1;
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

/* After wait_all(): it completed once, without error, with the bytes
 * expected. what names it in the message. */
static int
check_done(const struct vol *v, const struct mreq *m, const char *what)
{
	char d[512];
	int nd = atomic_load(&m->ndone);

	if (nd != 1) {
		failf(v, "%s off=%" PRIu64 " len=%zu completed %d times", what,
		    m->io.off, m->io.len, nd);
		return -1;
	}
	if (m->res != 0) {
		failf(v, "%s off=%" PRIu64 " len=%zu failed: %s", what, m->io.off,
		    m->io.len, strerror(-m->res));
		return -1;
	}
	if (m->bad >= 0) {
		uint64_t at = m->io.off + (uint64_t)m->bad;
		fprintf(stderr, "snapshot_model: MISMATCH seed %" PRIu64 " step %"
		    PRIu64 " volume %s: %s off=%" PRIu64 " len=%zu: first differing "
		    "byte %" PRIu64 " (object %" PRIu64 " offset %" PRIu64 ") is "
		    "0x%02x, model says 0x%02x\n", seed, step_no,
		    vol_desc(v, d, sizeof(d)), what, m->io.off, m->io.len, at,
		    at / obj_size, at % obj_size, m->got, m->exp);
		return -1;
	}
	return 0;
}

/* A random offset in v: anywhere, or near an object boundary, or near the
 * end, or (a clone) near where a layer's overlap ends. */
static uint64_t
pick_off(const struct vol *v)
{
	uint64_t size = v->size, nobj = (size + obj_size - 1) / obj_size, b;

	if (v->n_layers > 0 && rnd_below(8) == 0) {
		b = v->layers[rnd_below(v->n_layers)].overlap + rnd_below(1024) - 512;
		if ((int64_t)b < 0)
			b = 0;
		return b > size ? size : b;
	}
	switch (rnd_below(4)) {
	case 0:
		b = rnd_below(nobj + 1) * obj_size;
		if (b > size)
			b = size;
		b = b + rnd_below(1024) - 512;
		if ((int64_t)b < 0)
			b = 0;
		return b > size ? size : b;
	case 1:
		return size - rnd_below(obj_size * 2 < size ? obj_size * 2 : size);
	default:
		return rnd_below(size);
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

/* Does [off, off + len) overlap one of ms[0..n-1] (only the reads among
 * them when reads_only)? */
static bool
overlaps(const struct mreq *ms, int n, uint64_t off, size_t len, bool reads_only)
{
	for (int i = 0; i < n; i++)
		if ((!reads_only || ms[i].kind == M_READ) &&
		    off < ms[i].io.off + ms[i].io.len && ms[i].io.off < off + len)
			return true;
	return false;
}

/* ---- a batch of concurrent requests on one volume ------------------------- */

static int
run_batch(struct vol *v)
{
	struct mreq ms[MAX_BATCH];
	char line[TRACE_LEN];
	size_t ll;
	int n = 1 + (int)rnd_below(MAX_BATCH), k = 0, i, r, fail = 0, held_at = -1;
	bool flush_mid = rnd_below(10) == 0;
	/* the gate: hold half way (what is in flight is cancelled and sent
	 * again; copy-ups go on, their pieces wait), then resume */
	bool hold_mid = !flush_mid && rnd_below(8) == 0;
	/* writes and discards may overlap one another (never a read): they
	 * must land in the order submitted, copy-ups and holds included, and
	 * the model applies them in that order; half of them then start
	 * inside an earlier one, and such a batch is held more often */
	bool mut_overlap = rnd_below(4) == 0;

	if (mut_overlap && !flush_mid && rnd_below(6) == 0)
		hold_mid = true;

	memset(ms, 0, sizeof(ms));
	ll = (size_t)snprintf(line, sizeof(line), "batch v%u%s:", v->name,
	    mut_overlap ? " (writes may overlap)" : "");
	for (i = 0; i < n && fail == 0; i++) {
		struct mreq *m = &ms[k];

		if (hold_mid && i == n / 2 && held_at < 0) {
			image_hold(v->img);
			held_at = k;
			st_holds++;
			if (ll < sizeof(line))
				ll += (size_t)snprintf(line + ll, sizeof(line) - ll,
				    " hold");
		}
		uint64_t off = pick_off(v);
		size_t len = pick_len();
		unsigned p = (unsigned)rnd_below(100);

		m->kind = p < 45 ? M_WRITE : p < 80 ? M_READ : p < 97 ?
		    M_DISCARD : M_EMPTY;
		if (m->kind == M_EMPTY)
			len = 0;
		if (mut_overlap && m->kind != M_READ && k > 0 && rnd_below(2)) {
			const struct mreq *e = &ms[rnd_below((uint64_t)k)];
			if (e->kind == M_WRITE || e->kind == M_DISCARD)
				off = e->io.off + rnd_below(e->io.len);
		}
		if (off + len > v->size && rnd_below(4) != 0)
			len = v->size - off;	/* mostly clip, else past the end */
		if (off + len > v->size) {
			/* past the end: refused at once, nothing changes */
			m->io.off = off;
			m->io.len = len;
			m->io.buf = malloc(len ? len : 1);
			r = do_submit(v->img, m);
			if (r == -EINVAL) {
				free(m->io.buf);
				memset(m, 0, sizeof(*m));
				st_einval++;
				continue;
			}
			failf(v, "%c off=%" PRIu64 " len=%zu past the end returned "
			    "%d, want -EINVAL", kind_char[m->kind], off, len, r);
			fail = -1;
			if (r == 0)
				k++;		/* in flight: waited for below */
			else
				free(m->io.buf);
			break;
		}
		if (overlaps(ms, k, off, len, mut_overlap && m->kind != M_READ))
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
				memcpy(v->model + off, m->io.buf, len);
			} else {
				memset(m->io.buf, 0xee, len);
				m->want = v->model + off;
			}
		} else {
			m->io.buf = rnd_below(2) ? NULL : v->model; /* not read */
			memset(v->model + off, 0, len);
		}
		st_ops[m->kind]++;
		if (ll < sizeof(line))
			ll += (size_t)snprintf(line + ll, sizeof(line) - ll,
			    " %c%" PRIu64 "+%zu", kind_char[m->kind], off, len);
		if ((r = do_submit(v->img, m)) < 0) {
			failf(v, "submit %c off=%" PRIu64 " len=%zu: %s",
			    kind_char[m->kind], off, len, strerror(-r));
			if (m->kind != M_DISCARD)
				free(m->io.buf);
			fail = -1;
			break;
		}
		k++;
	}
	if (held_at >= 0) {
		struct timespec ts = { 0, 5 * 1000000 };
		nanosleep(&ts, NULL);
		for (i = held_at; i < k; i++)
			if (ms[i].io.len > 0 && atomic_load(&ms[i].ndone) != 0) {
				failf(v, "%c off=%" PRIu64 " len=%zu completed while "
				    "the image was held", kind_char[ms[i].kind],
				    ms[i].io.off, ms[i].io.len);
				fail = -1;
			}
		st_held += image_held(v->img);
		image_resume(v->img);
		if (ll < sizeof(line))
			ll += (size_t)snprintf(line + ll, sizeof(line) - ll,
			    " resume");
	}
	if (flush_mid && fail == 0) {
		/* every write and discard submitted so far must be done */
		st_flush++;
		if (ll < sizeof(line))
			ll += (size_t)snprintf(line + ll, sizeof(line) - ll,
			    " flush");
		if ((r = image_flush(v->img)) < 0) {
			failf(v, "flush: %s", strerror(-r));
			fail = -1;
		}
		for (i = 0; i < k && fail == 0; i++)
			if (ms[i].kind != M_READ && ms[i].kind != M_EMPTY &&
			    atomic_load(&ms[i].ndone) == 0) {
				failf(v, "flush returned before %c off=%" PRIu64
				    " len=%zu completed", kind_char[ms[i].kind],
				    ms[i].io.off, ms[i].io.len);
				fail = -1;
			}
	}
	trace("%s", line);
	wait_all();
	for (i = 0; i < k; i++) {
		struct mreq *m = &ms[i];
		char what[32];

		snprintf(what, sizeof(what), "batch %c", kind_char[m->kind]);
		if (fail == 0 && check_done(v, m, what) < 0)
			fail = -1;
		if (m->kind != M_DISCARD)
			free(m->io.buf);
	}
	if (fail == 0 && rnd_below(20) == 0) {
		st_flush++;
		if ((r = image_flush(v->img)) < 0) {
			failf(v, "flush: %s", strerror(-r));
			fail = -1;
		}
	}
	return fail;
}

/* ---- volumes ---------------------------------------------------------------- */

/* The write context: seq and the live ids, newest first. */
static int
vol_set_context(struct vol *v)
{
	uint64_t ids[MAX_SNAPS];
	int r;

	for (unsigned i = 0; i < v->n_snaps; i++)
		ids[i] = v->snaps[v->n_snaps - 1 - i].id;
	if ((r = image_set_snap_context(v->img, v->seq, ids, v->n_snaps)) < 0)
		failf(v, "image_set_snap_context: %s", strerror(-r));
	return r;
}

static int
vol_open(struct vol *v)
{
	struct image_geometry g = { 0 };
	int r;

	g.id = v->id;
	g.size = v->size;
	g.object_size = obj_size;
	g.layers = v->n_layers ? v->layers : NULL;
	g.n_layers = v->n_layers;
	if ((r = image_open(st, &g, &v->img)) < 0) {
		failf(v, "image_open: %s", strerror(-r));
		v->img = NULL;
		return r;
	}
	return vol_set_context(v);
}

static int
vol_close(struct vol *v)
{
	int r = 0;

	if (v->img == NULL)
		return 0;
	if ((r = image_flush(v->img)) < 0)
		failf(v, "flush before close: %s", strerror(-r));
	image_close(v->img);
	v->img = NULL;
	return r;
}

/* A new volume, its id random, not in vols[] yet, not open. */
static struct vol *
vol_new(uint64_t size)
{
	struct vol *v = calloc(1, sizeof(*v));

	if (v == NULL || (v->model = calloc(1, size)) == NULL) {
		free(v);
		return NULL;
	}
	/* the salt keeps a replay off an earlier run's objects; the steps
	 * depend on rnd() alone */
	snprintf(v->id, sizeof(v->id), "%016" PRIx64, rnd() ^ id_salt);
	v->name = next_name++;
	v->size = size;
	return v;
}

static void
vol_free(struct vol *v)
{
	for (unsigned i = 0; i < v->n_snaps; i++)
		free(v->snaps[i].model);
	free(v->model);
	free(v);
}

/* Does a clone read through snapshot snap of v (any snapshot: 0)? */
static bool
depended_on(const struct vol *v, uint64_t snap)
{
	for (unsigned i = 0; i < n_vols; i++)
		for (unsigned j = 0; j < vols[i]->n_layers; j++)
			if (strcmp(vols[i]->lid[j], v->id) == 0 &&
			    (snap == 0 || vols[i]->layers[j].snap == snap))
				return true;
	return false;
}

/* Read [0, size) of img in one request and compare it with want, while a
 * batch runs on busy (may be NULL). */
static int
check_whole(const struct vol *v, struct image *img, uint64_t size,
    const uint8_t *want, const char *what, struct vol *busy)
{
	struct mreq m;
	int r, fail = 0;

	memset(&m, 0, sizeof(m));
	m.kind = M_READ;
	m.io.len = size;
	if ((m.io.buf = malloc(size ? size : 1)) == NULL) {
		failf(v, "%s: out of memory", what);
		return -1;
	}
	memset(m.io.buf, 0xee, size);
	m.want = want;
	if ((r = do_submit(img, &m)) < 0) {
		failf(v, "%s: submit: %s", what, strerror(-r));
		free(m.io.buf);
		return -1;
	}
	if (busy != NULL)
		fail = run_batch(busy);
	wait_all();
	if (check_done(v, &m, what) < 0)
		fail = -1;
	free(m.io.buf);
	return fail;
}

/* ---- steps -------------------------------------------------------------------- */

static int
step_snapshot(struct vol *v)
{
	struct msnap *s = &v->snaps[v->n_snaps];
	uint64_t id;
	int r;

	if ((r = image_flush(v->img)) < 0) {
		failf(v, "flush before a snapshot: %s", strerror(-r));
		return -1;
	}
	if ((r = snapshot_alloc_id(st, &id)) < 0) {
		failf(v, "snapshot_alloc_id: %s", strerror(-r));
		return -1;
	}
	if (id <= v->seq) {
		failf(v, "snapshot id %" PRIu64 " is not newer than the context's "
		    "seq %" PRIu64, id, v->seq);
		snapshot_release_id(st, id);
		return -1;
	}
	if ((s->model = malloc(v->size)) == NULL) {
		snapshot_release_id(st, id);
		return -1;
	}
	memcpy(s->model, v->model, v->size);
	s->id = id;
	s->size = v->size;
	v->n_snaps++;
	v->seq = id;
	st_snaps++;
	trace("snapshot v%u@%" PRIu64, v->name, id);
	return vol_set_context(v) < 0 ? -1 : 0;
}

/* Snapshot si of v read whole through a read-only image; a batch on v
 * meanwhile when busy. */
static int
step_snapread(struct vol *v, unsigned si, bool busy)
{
	struct msnap *s = &v->snaps[si];
	struct image_geometry g = { 0 };
	struct image *img;
	struct mreq w;
	char what[64];
	uint8_t byte = 1;
	int r, fail = 0;

	g.id = v->id;
	g.size = s->size;
	g.object_size = obj_size;
	g.read_snap = s->id;
	g.layers = v->n_layers ? v->layers : NULL;
	g.n_layers = v->n_layers;
	trace("snap read v%u@%" PRIu64 "%s", v->name, s->id,
	    busy ? " with a batch on it" : "");
	if ((r = image_open(st, &g, &img)) < 0) {
		failf(v, "image_open at snapshot %" PRIu64 ": %s", s->id,
		    strerror(-r));
		return -1;
	}
	st_snapreads++;
	/* read-only */
	memset(&w, 0, sizeof(w));
	w.kind = rnd_below(2) ? M_WRITE : M_DISCARD;
	w.io.off = rnd_below(s->size);
	w.io.len = 1;
	w.io.buf = &byte;
	if ((r = do_submit(img, &w)) != -EROFS) {
		failf(v, "%s at snapshot %" PRIu64 " returned %d, want -EROFS",
		    w.kind == M_WRITE ? "a write" : "a discard", s->id, r);
		fail = -1;
		wait_all();
	}
	snprintf(what, sizeof(what), "snapshot %" PRIu64 " read", s->id);
	if (fail == 0)
		fail = check_whole(v, img, s->size, s->model, what, busy ? v : NULL);
	image_close(img);
	return fail;
}

static int
step_verify(struct vol *v, bool reopen, struct vol *busy)
{
	if (busy != NULL)
		trace("verify v%u while a batch runs on v%u", v->name, busy->name);
	else
		trace("verify v%u%s", v->name, reopen ? " after a reopen" : "");
	if (reopen) {
		st_reopens++;
		if (vol_close(v) < 0 || vol_open(v) < 0)
			return -1;
	}
	st_verifies++;
	return check_whole(v, v->img, v->size, v->model,
	    reopen ? "read after reopen" : "read whole", busy);
}

static int
step_clone(struct vol *p, unsigned si)
{
	struct msnap *s = &p->snaps[si];
	uint64_t overlap = s->size, size = s->size;
	struct vol *c;

	if (rnd_below(2) && size + 2 * obj_size <= 2 * base_size)
		size += 1 + rnd_below(2 * obj_size);
	if ((c = vol_new(size)) == NULL)
		return -1;
	memcpy(c->model, s->model, overlap);
	snprintf(c->lid[0], sizeof(c->lid[0]), "%s", p->id);
	c->lname[0] = p->name;
	c->layers[0].snap = s->id;
	c->layers[0].overlap = overlap;
	for (unsigned i = 0; i < p->n_layers; i++) {
		snprintf(c->lid[i + 1], sizeof(c->lid[0]), "%s", p->lid[i]);
		c->lname[i + 1] = p->lname[i];
		c->layers[i + 1].snap = p->layers[i].snap;
		c->layers[i + 1].overlap = p->layers[i].overlap < overlap ?
		    p->layers[i].overlap : overlap;
	}
	c->n_layers = p->n_layers + 1;
	for (unsigned i = 0; i < c->n_layers; i++)
		c->layers[i].id = c->lid[i];
	trace("clone v%u = v%u@%" PRIu64 " (id %s, size %" PRIu64 ", overlap %"
	    PRIu64 ", depth %u)", c->name, p->name, s->id, c->id, c->size,
	    overlap, c->n_layers);
	if (vol_open(c) < 0) {
		vol_free(c);
		return -1;
	}
	vols[n_vols++] = c;
	st_clones++;
	if (c->n_layers > st_depth)
		st_depth = c->n_layers;
	return 0;
}

static int
step_rollback(struct vol *v, unsigned si)
{
	struct msnap *s = &v->snaps[si];
	uint64_t ids[MAX_SNAPS], span = v->size > s->size ? v->size : s->size;
	struct vol *other = NULL;
	struct mreq m;
	int r, fail = 0;

	/* meanwhile, another volume (a clone of v if there is one) is read
	 * whole: its reads through v's snapshots must not notice */
	if (n_vols > 1 && rnd_below(2)) {
		unsigned start = (unsigned)rnd_below(n_vols);
		for (unsigned i = 0; i < n_vols; i++) {
			struct vol *w = vols[(start + i) % n_vols];
			if (w == v)
				continue;
			if (other == NULL || (w->n_layers > 0 &&
			    strcmp(w->lid[0], v->id) == 0))
				other = w;
		}
	}
	trace("rollback v%u to %" PRIu64 "%s%.0u", v->name, s->id,
	    other ? " while reading v" : "", other ? other->name : 0);
	if (vol_close(v) < 0)
		return -1;
	memset(&m, 0, sizeof(m));
	if (other != NULL) {
		m.kind = M_READ;
		m.io.len = other->size;
		if ((m.io.buf = malloc(other->size)) == NULL)
			return -1;
		memset(m.io.buf, 0xee, other->size);
		m.want = other->model;
		if ((r = do_submit(other->img, &m)) < 0) {
			failf(other, "read whole: submit: %s", strerror(-r));
			free(m.io.buf);
			return -1;
		}
	}
	for (unsigned i = 0; i < v->n_snaps; i++)
		ids[i] = v->snaps[v->n_snaps - 1 - i].id;
	r = image_rollback(st, v->id, (span + obj_size - 1) / obj_size, s->id,
	    v->seq, ids, v->n_snaps, NULL, NULL);
	if (other != NULL) {
		char what[64];
		wait_all();
		snprintf(what, sizeof(what), "read whole while v%u rolled back",
		    v->name);
		fail = check_done(other, &m, what);
		free(m.io.buf);
	}
	if (r < 0) {
		failf(v, "image_rollback to %" PRIu64 ": %s", s->id, strerror(-r));
		return -1;
	}
	if (fail < 0)
		return -1;
	if (s->size != v->size) {
		uint8_t *nm = realloc(v->model, s->size);
		if (nm == NULL)
			return -1;
		v->model = nm;
		v->size = s->size;
	}
	memcpy(v->model, s->model, s->size);
	st_rollbacks++;
	return vol_open(v) < 0 ? -1 : 0;
}

static int
step_snaprm(struct vol *v, unsigned si)
{
	uint64_t id = v->snaps[si].id;

	trace("snapshot rm v%u@%" PRIu64, v->name, id);
	give_back(id);
	free(v->snaps[si].model);
	memmove(&v->snaps[si], &v->snaps[si + 1],
	    (v->n_snaps - si - 1) * sizeof(v->snaps[0]));
	v->n_snaps--;
	st_snaprm++;
	if (image_flush(v->img) < 0)
		return -1;
	return vol_set_context(v) < 0 ? -1 : 0;
}

/* Give every snapshot id of v back; its snapshots are gone. */
static void
vol_give_back_snaps(struct vol *v)
{
	for (unsigned i = 0; i < v->n_snaps; i++) {
		give_back(v->snaps[i].id);
		free(v->snaps[i].model);
	}
	v->n_snaps = 0;
}

/* Close, give back its snapshot ids, remove its objects; with check, none
 * may be left (a listing of the pool: not every time mid-run). */
static int
vol_remove(struct vol *v, bool check)
{
	uint64_t bytes = 0, objects = 0;
	int r, fail = 0;

	if (vol_close(v) < 0)
		fail = -1;
	vol_give_back_snaps(v);
	if ((r = image_remove_all(st, v->id)) < 0) {
		failf(v, "image_remove_all: %s", strerror(-r));
		fail = -1;
	} else if (check && ((r = image_allocated(st, v->id, &bytes, &objects)) < 0 ||
	    objects != 0)) {
		failf(v, "%" PRIu64 " objects (%" PRIu64 " bytes) left after "
		    "image_remove_all (%d)", objects, bytes, r);
		fail = -1;
	}
	return fail;
}

static int
step_volrm(unsigned vi)
{
	struct vol *v = vols[vi];
	int r;

	trace("volume rm v%u (id %s, %u snapshots)", v->name, v->id, v->n_snaps);
	r = vol_remove(v, rnd_below(4) == 0);
	vol_free(v);
	vols[vi] = vols[--n_vols];
	vols[n_vols] = NULL;
	st_volrm++;
	return r;
}

static int
step_volnew(void)
{
	struct vol *v = vol_new(base_size);

	if (v == NULL)
		return -1;
	trace("new v%u (id %s, size %" PRIu64 ")", v->name, v->id, v->size);
	if (vol_open(v) < 0) {
		vol_free(v);
		return -1;
	}
	vols[n_vols++] = v;
	st_volnew++;
	return 0;
}

/* A snapshot of v no clone reads through, at random: its index or -1. */
static int
free_snapshot(const struct vol *v)
{
	unsigned start = (unsigned)rnd_below(v->n_snaps ? v->n_snaps : 1);

	for (unsigned i = 0; i < v->n_snaps; i++) {
		unsigned si = (start + i) % v->n_snaps;
		if (!depended_on(v, v->snaps[si].id))
			return (int)si;
	}
	return -1;
}

/* The deepest volume (ties at random), among those with a snapshot when
 * with_snap. */
static struct vol *
deepest(bool with_snap)
{
	unsigned start = (unsigned)rnd_below(n_vols);
	struct vol *best = NULL;

	for (unsigned i = 0; i < n_vols; i++) {
		struct vol *v = vols[(start + i) % n_vols];
		if (with_snap && v->n_snaps == 0)
			continue;
		if (best == NULL || v->n_layers > best->n_layers)
			best = v;
	}
	return best;
}

enum step { S_BATCH, S_SNAP, S_SNAPREAD, S_CLONE, S_ROLLBACK, S_SNAPRM,
    S_VERIFY, S_REOPEN, S_VOLRM, S_VOLNEW, S_N };

static int
do_step(void)
{
	unsigned p = (unsigned)rnd_below(100);
	struct vol *v = vols[rnd_below(n_vols)];
	enum step what;
	int si = -1;

	what = p < 46 ? S_BATCH : p < 55 ? S_SNAP : p < 63 ? S_SNAPREAD :
	    p < 71 ? S_CLONE : p < 77 ? S_ROLLBACK : p < 81 ? S_SNAPRM :
	    p < 88 ? S_VERIFY : p < 91 ? S_REOPEN : p < 94 ? S_VOLRM : S_VOLNEW;
	switch (what) {
	case S_SNAP:
		/* a third of the time the deepest volume, so chains grow */
		if (rnd_below(3) == 0)
			v = deepest(false);
		if (v->n_snaps < MAX_SNAPS)
			break;
		if ((si = free_snapshot(v)) >= 0)
			return step_snaprm(v, (unsigned)si);
		what = S_BATCH;
		break;
	case S_SNAPREAD:
	case S_ROLLBACK:
		if (v->n_snaps == 0)
			what = S_BATCH;
		break;
	case S_CLONE:
		if (n_vols >= MAX_VOLS)
			what = S_BATCH;
		else {
			struct vol *d = deepest(true);
			if (d != NULL && rnd_below(10) < 6)
				v = d;
			if (v->n_snaps == 0)
				what = S_BATCH;
		}
		break;
	case S_SNAPRM:
		if (v->n_snaps == 0 || (si = free_snapshot(v)) < 0)
			what = S_BATCH;
		break;
	case S_VOLRM:
		if (n_vols < MAX_VOLS)
			what = n_vols < 3 ? S_VOLNEW : S_BATCH;
		break;
	case S_VOLNEW:
		if (n_vols >= 3)
			what = S_BATCH;
		break;
	default:
		break;
	}
	if (what == S_VOLRM) {
		/* a volume no clone depends on: a leaf, half of the time the
		 * shallowest one, so deep chains stay */
		unsigned start = (unsigned)rnd_below(n_vols);
		bool shallow = rnd_below(2);
		int pick = -1;

		for (unsigned i = 0; i < n_vols; i++) {
			unsigned vi = (start + i) % n_vols;
			if (depended_on(vols[vi], 0))
				continue;
			if (pick < 0 || (shallow &&
			    vols[vi]->n_layers < vols[pick]->n_layers))
				pick = (int)vi;
			if (!shallow)
				break;
		}
		if (pick < 0)
			what = S_BATCH;	/* cannot happen: a leaf exists */
		else
			return step_volrm((unsigned)pick);
	}
	switch (what) {
	case S_BATCH:
		return run_batch(v);
	case S_SNAP:
		return step_snapshot(v);
	case S_SNAPREAD:
		return step_snapread(v, (unsigned)rnd_below(v->n_snaps),
		    rnd_below(3) == 0);
	case S_CLONE:
		/* the newest snapshot half of the time */
		return step_clone(v, rnd_below(2) ? v->n_snaps - 1 :
		    (unsigned)rnd_below(v->n_snaps));
	case S_ROLLBACK:
		return step_rollback(v, (unsigned)rnd_below(v->n_snaps));
	case S_SNAPRM:
		return step_snaprm(v, (unsigned)si);
	case S_VERIFY: {
		struct vol *busy = NULL;
		if (n_vols > 1 && rnd_below(2)) {
			/* another volume, often v's parent */
			busy = vols[rnd_below(n_vols)];
			for (unsigned i = 0; v->n_layers > 0 && i < n_vols; i++)
				if (strcmp(vols[i]->id, v->lid[0]) == 0 &&
				    rnd_below(2))
					busy = vols[i];
			if (busy == v)
				busy = NULL;
		}
		return step_verify(v, false, busy);
	}
	case S_REOPEN:
		return step_verify(v, true, NULL);
	case S_VOLNEW:
		return step_volnew();
	default:
		return 0;
	}
}

/* ---- main -------------------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr, "usage: snapshot_model -c CONF [--seed N] [--steps N] "
	    "[--object-size S] [--size S] [--trace]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "steps", required_argument, NULL, 'n' },
		{ "object-size", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 'S' },
		{ "trace", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	uint64_t steps = 1500, n_snaps_left = 0;
	struct config cfg;
	struct timespec t0, t1;
	char err[512];
	int c, status = 1, fail = 0;

	obj_size = 64 * 1024;
	base_size = 1024 * 1024 + 12 * 1024 + 100;
	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			steps = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			if (size_parse(optarg, &obj_size) < 0)
				usage();
			break;
		case 'S':
			if (size_parse(optarg, &base_size) < 0)
				usage();
			break;
		case 't':
			trace_live = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || obj_size == 0 || (obj_size & (obj_size - 1)) ||
	    base_size == 0)
		usage();
	clock_gettime(CLOCK_REALTIME, &t0);
	if (seed == 0)
		seed = (uint64_t)t0.tv_nsec ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)t0.tv_sec;
	rng = seed ? seed : 1;
	id_salt = (uint64_t)t0.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
	printf("snapshot_model: seed %" PRIu64 " steps %" PRIu64 " object-size %"
	    PRIu64 " size %" PRIu64 "\n", seed, steps, obj_size, base_size);
	fflush(stdout);

	log_init("snapshot_model", LOG_LEVEL_WARN, LOG_TARGET_STDERR);
	if (config_init(&cfg, conf, NULL, 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "snapshot_model: %s\n", err);
		return 1;
	}
	if (store_connect(&cfg, STORE_CREATE_POOL, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "snapshot_model: %s\n", err);
		config_free(&cfg);
		return 1;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	give_back_start();
	step_no = 0;
	if (step_volnew() < 0 || step_volnew() < 0)
		fail = -1;
	for (step_no = 1; fail == 0 && step_no <= steps; step_no++)
		if ((fail = do_step()) < 0)
			break;
	if (fail == 0)
		step_no = steps;

	/* the end: every volume and every snapshot left, then give all back */
	for (unsigned i = 0; fail == 0 && i < n_vols; i++) {
		struct vol *v = vols[i];
		fail = step_verify(v, false, NULL);
		for (unsigned j = 0; fail == 0 && j < v->n_snaps; j++)
			fail = step_snapread(v, j, false);
		n_snaps_left += v->n_snaps;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (fail < 0)
		trace_dump();
	wait_all();
	for (unsigned i = 0; i < n_vols; i++)
		if (vol_close(vols[i]) < 0)
			fail = -1;
	for (unsigned i = 0; i < n_vols; i++)
		vol_give_back_snaps(vols[i]);
	give_back_finish();
	for (unsigned i = 0; i < n_vols; i++) {
		if (vol_remove(vols[i], true) < 0)
			fail = -1;
		vol_free(vols[i]);
	}
	if (atomic_load(&inline_done) || atomic_load(&double_done)) {
		fprintf(stderr, "snapshot_model: %d completions inline in submit, %d "
		    "completions more than once\n", atomic_load(&inline_done),
		    atomic_load(&double_done));
		fail = -1;
	}
	if (fail < 0)
		fprintf(stderr, "snapshot_model: FAILED (seed %" PRIu64 ", step %"
		    PRIu64 ")\n", seed, step_no);
	else {
		printf("snapshot_model: ok %" PRIu64 " steps in %.2f s: %" PRIu64
		    " writes, %" PRIu64 " reads, %" PRIu64 " discards, %" PRIu64
		    " empty, %" PRIu64 " past the end, %" PRIu64 " snapshots, %"
		    PRIu64 " clones, max chain depth %" PRIu64 ", %" PRIu64
		    " rollbacks, %" PRIu64 " snapshot reads, %" PRIu64
		    " snapshots removed, %" PRIu64 " volumes removed, %" PRIu64
		    " new, %" PRIu64 " verifies (%" PRIu64 " after a reopen), %"
		    PRIu64 " holds (%" PRIu64 " pieces held), %" PRIu64
		    " flushes; %u volumes, %" PRIu64 " snapshots at the end\n",
		    steps, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		    st_ops[M_WRITE], st_ops[M_READ], st_ops[M_DISCARD],
		    st_ops[M_EMPTY], st_einval, st_snaps, st_clones, st_depth,
		    st_rollbacks, st_snapreads, st_snaprm, st_volrm, st_volnew,
		    st_verifies, st_reopens, st_holds, st_held, st_flush, n_vols,
		    n_snaps_left);
		status = 0;
	}
	store_close(st);
	config_free(&cfg);
	return status;
}
