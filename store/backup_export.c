/*
 * backup_export.c - a snapshot as a backup stream (store/backup.h).
 *
 * The image is opened read-only at the snapshot (with a clone's layers, so
 * what it inherits is read through). Object slots go in batches. For a
 * full export every slot is read (an object that does not exist costs one
 * round trip and no data). For an incremental, a stat of each slot at both
 * snapshots tells which changed (image_changed_objects); of one that
 * exists at both, an xxhash64 of each 4 KiB block the OSD computes at both
 * tells which blocks changed (image_changed_blocks: the OSD reads, only
 * the sums travel), and only those are read, runs closer than MERGE_GAP as
 * one; one that exists at one snapshot only is read whole. Reads run
 * READ_WINDOW_BYTES ahead and are written out in order, each cut into runs
 * of 4 KiB blocks: data runs become data records, zero runs zero records
 * (incremental) or nothing (full). Nothing is written out of order, so a
 * pipe works.
 *
 * State lives on the export (one per call); completions run on librados
 * threads and only mark their slot done under the lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/testhook.h"
#include "common/util.h"
#include "store/backup.h"
#include "store/catalog.h"
#include "store/clone.h"
#include "store/image.h"
#include "store/snapshot_record.h"

#define READ_WINDOW_BYTES	(64u << 20)	/* reads in flight, at most */
#define MAX_WINDOW		16		/* objects in flight, at most */
#define STAT_BATCH		1024		/* slots compared at a time */
#define BLOCK			4096		/* zero and change detection granularity */
#define MERGE_GAP		(64u << 10)	/* changed runs this close: one read */
#define SUM_BATCH		64		/* objects' block sums in flight */

struct extent {
	uint64_t	 off, len;
};

struct xslot {
	struct image_io	 io;
	struct export	*x;
	struct extent	 ext;		/* within one object */
	unsigned char	*buf;
	bool		 busy, done;
	int		 r;
};

struct export {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct store	*st;
	struct image	*img;
	struct stream_out out;
	uint64_t	 size, object_size;
	bool		 incremental;
	unsigned	 window;
	struct xslot	 slot[MAX_WINDOW];
	struct backup_stats *stats;
	const struct backup_progress *progress;
};

static void
read_done(struct image_io *io, int r)
{
	struct xslot *s = io->arg;

	pthread_mutex_lock(&s->x->lock);
	s->r = r;
	s->done = true;
	pthread_cond_broadcast(&s->x->cond);
	pthread_mutex_unlock(&s->x->lock);
}

static uint64_t
slot_len(const struct export *x, uint64_t index)
{
	uint64_t off = index * x->object_size;

	return x->size - off < x->object_size ? x->size - off : x->object_size;
}

static bool
block_zero(const unsigned char *p, size_t len)
{
	static const unsigned char zero[BLOCK];

	return memcmp(p, zero, len) == 0;
}

/* One extent's bytes as records: runs of data and of zeros. */
static int
emit(struct export *x, struct xslot *s)
{
	uint64_t base = s->ext.off, len = s->ext.len;
	size_t at = 0;
	int r = 0;

	while (at < len && r == 0) {
		size_t blk = len - at < BLOCK ? (size_t)(len - at) : BLOCK;
		bool zero = block_zero(s->buf + at, blk);
		size_t run = at;
		while (run < len) {
			size_t b = len - run < BLOCK ? (size_t)(len - run) : BLOCK;
			if (block_zero(s->buf + run, b) != zero)
				break;
			run += b;
		}
		if (!zero) {
			r = stream_out_data(&x->out, base + at, s->buf + at, run - at);
			x->stats->data_bytes += run - at;
		} else if (x->incremental) {
			r = stream_out_zero(&x->out, base + at, run - at);
			x->stats->zero_bytes += run - at;
		} else
			x->stats->hole_bytes += run - at;
		at = run;
	}
	return r;
}

/* Wait for slot s, write it out, free it. */
static int
finish(struct export *x, struct xslot *s)
{
	int r;

	pthread_mutex_lock(&x->lock);
	while (!s->done)
		pthread_cond_wait(&x->cond, &x->lock);
	pthread_mutex_unlock(&x->lock);
	s->busy = false;
	if ((r = s->r) < 0)
		return r;
	return emit(x, s);
}

static int
submit(struct export *x, struct xslot *s, const struct extent *e)
{
	s->ext = *e;
	s->busy = true;
	s->done = false;
	s->r = 0;
	s->io = (struct image_io){ .off = e->off, .len = (size_t)e->len,
	    .buf = s->buf, .done = read_done, .arg = s };
	x->stats->read_bytes += e->len;
	return image_submit_read(x->img, &s->io);
}

/* Read and write out the extents ext[0..n-1], in order. */
static int
export_extents(struct export *x, const struct extent *ext, size_t n,
    unsigned *next)
{
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		struct xslot *s = &x->slot[*next];
		*next = (*next + 1) % x->window;
		if (s->busy && (r = finish(x, s)) < 0)
			break;
		if ((r = submit(x, s, &ext[i])) < 0)
			s->busy = false;
	}
	return r;
}

/* Add extent off, len. */
static int
add_extent(struct extent **ext, size_t *n, size_t *cap, uint64_t off, uint64_t len)
{
	int r = array_grow(ext, cap, *n + 1, sizeof(**ext), 64);

	if (r == 0) {
		(*ext)[*n] = (struct extent){ off, len };
		(*n)++;
	}
	return r;
}

/* The changed blocks of slot index (blocks[b]) as extents, runs closer
 * than MERGE_GAP read as one. */
static int
changed_runs(struct export *x, uint64_t index, const bool *blocks,
    struct extent **ext, size_t *n, size_t *cap)
{
	uint64_t nb = x->object_size / BLOCK, gap = MERGE_GAP / BLOCK;
	uint64_t len = slot_len(x, index), lastb = (len + BLOCK - 1) / BLOCK;
	int r = 0;

	if (lastb > nb)
		lastb = nb;
	for (uint64_t b = 0; b < lastb && r == 0; b++) {
		if (!blocks[b])
			continue;
		uint64_t end = b + 1, k;
		for (;;) {	/* the next changed block within the gap */
			for (k = end; k < lastb && k < end + gap && !blocks[k]; k++)
				;
			if (k >= lastb || k >= end + gap)
				break;
			end = k + 1;
		}
		r = add_extent(ext, n, cap, index * x->object_size + b * BLOCK,
		    (end * BLOCK > len ? len : end * BLOCK) - b * BLOCK);
		b = end - 1;
	}
	return r;
}

/* Every slot still in flight written out (r == 0) or waited for. */
static int
drain(struct export *x, unsigned next, int r)
{
	for (unsigned k = 0; k < x->window; k++) {
		struct xslot *s = &x->slot[(next + k) % x->window];
		if (!s->busy)
			continue;
		int e = finish(x, s);
		if (r == 0)
			r = e;
	}
	return r;
}

/* The extents to read of slots first..first+count-1 (c: their changes,
 * for an incremental). */
static int
batch_extents(struct export *x, const char *id, uint64_t first, uint64_t count,
    const struct image_change *c, uint64_t from_id, uint64_t to_id,
    struct extent **ext, size_t *n, size_t *cap)
{
	uint64_t nb = x->object_size / BLOCK, objs[SUM_BATCH];
	struct image_change cs[SUM_BATCH];
	bool *blocks = NULL;
	size_t have = 0, used = 0;	/* block maps computed, consumed */
	int r = 0;

	if (x->incremental && (blocks = malloc(SUM_BATCH * nb * sizeof(*blocks))) == NULL)
		return -ENOMEM;
	for (uint64_t i = 0; i < count && r == 0; i++) {
		size_t before = *n;
		if (!x->incremental || !c[i].both) {
			if (!x->incremental || c[i].changed)
				r = add_extent(ext, n, cap, (first + i) * x->object_size,
				    slot_len(x, first + i));
		} else if (c[i].changed) {
			if (used == have) {	/* the next SUM_BATCH of them, at once */
				have = used = 0;
				for (uint64_t j = i; j < count && have < SUM_BATCH; j++)
					if (c[j].changed && c[j].both) {
						objs[have] = first + j;
						cs[have++] = c[j];
					}
				r = image_changed_blocks(x->st, id, objs, cs, have, from_id,
				    to_id, BLOCK, x->object_size, blocks);
			}
			if (r == 0)
				r = changed_runs(x, first + i, blocks + used++ * nb, ext,
				    n, cap);
		}
		if (*n > before)
			x->stats->objects_read++;
	}
	free(blocks);
	return r;
}

static int
walk(struct export *x, const char *id, uint64_t from_id, uint64_t to_id)
{
	uint64_t objects = (x->size + x->object_size - 1) / x->object_size;
	struct image_change *c = malloc(STAT_BATCH * sizeof(*c));
	struct extent *ext = NULL;
	size_t cap = 0;
	unsigned next = 0;
	int r = 0;

	if (c == NULL)
		r = -ENOMEM;
	x->stats->objects = objects;
	for (uint64_t first = 0; r == 0 && first < objects; first += STAT_BATCH) {
		uint64_t count = objects - first < STAT_BATCH ? objects - first :
		    STAT_BATCH;
		size_t n = 0;
		if (x->incremental && (r = image_changed_objects(x->st, id, first,
		    count, from_id, to_id, c)) < 0)
			break;
		if ((r = batch_extents(x, id, first, count, c, from_id, to_id, &ext,
		    &n, &cap)) == 0)
			r = export_extents(x, ext, n, &next);
		if (r == 0 && x->progress && x->progress->stop && *x->progress->stop)
			r = -EINTR;
		if (x->progress && x->progress->fn)
			x->progress->fn((first + count) * x->object_size > x->size ?
			    x->size : (first + count) * x->object_size, x->size,
			    x->progress->arg);
		if (first == 0)
			testhook_point("export.batch");
	}
	r = drain(x, next, r);
	free(ext);
	free(c);
	return r;
}

/* Both snapshots still recorded and not being removed: what was read at
 * them is theirs (an id is given back only after its record is marked). */
static int
still_recorded(struct store *st, const char *volume, const struct snapshot *to,
    const struct snapshot *from, char *err, size_t errlen)
{
	struct volume_meta m;
	struct snapshot s;
	int r;

	if ((r = catalog_get(st, volume, &m)) < 0) {
		snprintf(err, errlen, "volume %s is gone (%s): the stream is not "
		    "finished", volume, strerror(-r));
		return r;
	}
	for (int k = 0; k < 2 && r == 0; k++) {
		const struct snapshot *want = k == 0 ? to : from;
		if (want == NULL)
			continue;
		if (snapshot_find(&m, want->name, &s) < 0 || s.id != want->id) {
			snprintf(err, errlen, "snapshot %s@%s was removed while it "
			    "was exported: the stream is not finished (it has no end "
			    "record, so no reader accepts it)", volume, want->name);
			r = -ESTALE;
		}
	}
	volume_meta_free(&m);
	return r;
}

static int
find(const struct volume_meta *m, const char *name, struct snapshot *s, char *err,
    size_t errlen)
{
	int r = snapshot_find(m, name, s);

	if (r == -ENOENT)
		snprintf(err, errlen, "volume %s has no snapshot %s ('cephvol "
		    "snapshot ls %s' lists them)", m->name, name, m->name);
	else if (r < 0)
		snprintf(err, errlen, "the snapshot records of volume %s are damaged",
		    m->name);
	return r;
}

int
backup_export(struct store *st, const char *volume, const char *snap,
    const char *from_snap, enum backup_format format, int fd,
    const struct backup_progress *progress, struct backup_stats *stats,
    char *err, size_t errlen)
{
	struct image_geometry geom = { 0 };
	struct image_layer *layers = NULL;
	struct snapshot to, from;
	struct volume_meta m;
	struct export *x;
	unsigned nl = 0;
	uint64_t t0 = now_ns();
	char why[1024];
	int r;

	memset(stats, 0, sizeof(*stats));
	if ((r = catalog_get(st, volume, &m)) < 0) {
		snprintf(err, errlen, r == -ENOENT ? "no such volume: %s" :
		    "cannot read volume %s", volume);
		return r;
	}
	r = -EINVAL;
	if (m.type != VOLUME_BLOCK || m.readonly)
		snprintf(err, errlen, "volume %s is a %s: it has no snapshots to "
		    "export", volume, m.readonly ? "read-only snapshot volume" :
		    "secrets volume");
	else if (from_snap && format != BACKUP_DIFF_V1)
		snprintf(err, errlen, "an incremental export is an rbd diff v1 "
		    "stream: --format image-v2 takes no --from-snap");
	else if ((r = find(&m, snap, &to, err, errlen)) < 0 ||
	    (from_snap && (r = find(&m, from_snap, &from, err, errlen)) < 0))
		;
	else if (from_snap && from.id >= to.id) {
		snprintf(err, errlen, "--from-snap %s is not older than %s: an "
		    "incremental goes from an older snapshot to a newer one",
		    from_snap, snap);
		r = -EINVAL;
	} else if ((r = clone_layers(st, &m, &layers, &nl, why, sizeof(why))) < 0)
		snprintf(err, errlen, "cannot export %s@%s: %s", volume, snap, why);
	if (r < 0) {
		volume_meta_free(&m);
		return r;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		clone_layers_free(layers, nl);
		volume_meta_free(&m);
		return -ENOMEM;
	}
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->cond, NULL);
	x->st = st;
	x->size = to.size;
	x->object_size = m.object_size;
	x->incremental = from_snap != NULL;
	x->stats = stats;
	x->progress = progress;
	x->window = (unsigned)(READ_WINDOW_BYTES / m.object_size);
	x->window = x->window < 2 ? 2 : x->window > MAX_WINDOW ? MAX_WINDOW : x->window;
	stats->image_bytes = to.size;
	for (unsigned k = 0; k < x->window; k++) {
		x->slot[k].x = x;
		if ((x->slot[k].buf = malloc(m.object_size)) == NULL)
			r = -ENOMEM;
	}
	geom.id = m.id;
	geom.size = to.size;
	geom.object_size = m.object_size;
	geom.read_snap = to.id;
	geom.layers = layers;
	geom.n_layers = nl;
	if (r == 0 && (r = image_open(st, &geom, &x->img)) < 0)
		snprintf(err, errlen, "cannot open %s@%s: %s", volume, snap,
		    strerror(-r));
	else if (r == 0 && (r = stream_out_begin(&x->out, fd, format, from_snap, snap,
	    to.size, m.object_size)) < 0)
		snprintf(err, errlen, "cannot write the stream: %s", strerror(-r));
	else if (r == 0 && (r = walk(x, m.id, from_snap ? from.id : 0, to.id)) < 0) {
		if (r == -EINTR)
			snprintf(err, errlen, "interrupted: the stream is not finished "
			    "(it has no end record)");
		else if (x->out.err)
			snprintf(err, errlen, "cannot write the stream: %s",
			    strerror(-x->out.err));
		else
			snprintf(err, errlen, "cannot read %s@%s: %s", volume, snap,
			    strerror(-r));
	}
	else if (r == 0 && (r = still_recorded(st, volume, &to, from_snap ? &from :
	    NULL, err, errlen)) < 0)
		;
	else if (r == 0 && (r = stream_out_end(&x->out)) < 0)
		snprintf(err, errlen, "cannot write the stream: %s", strerror(-r));
	if (x->img)
		image_close(x->img);
	stats->stream_bytes = x->out.bytes;
	stats->seconds = (double)(now_ns() - t0) / 1e9;
	stream_out_free(&x->out);
	for (unsigned k = 0; k < x->window; k++)
		free(x->slot[k].buf);
	pthread_cond_destroy(&x->cond);
	pthread_mutex_destroy(&x->lock);
	free(x);
	clone_layers_free(layers, nl);
	volume_meta_free(&m);
	return r;
}
