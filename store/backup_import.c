/*
 * backup_import.c - backup streams into volumes (store/backup.h).
 *
 * One applier for both: records are read in stream order and become image
 * writes (data, at most WRITE_CHUNK each, WRITE_WINDOW in flight) and
 * discards (zeros: whole objects removed, partial ones zeroed). The end of
 * a diff waits for every write, flushes, and creates the diff's end
 * snapshot under the lease we hold, so the next diff's writes carry it.
 * Between records the lease is checked: while it is unconfirmed (a stalled
 * cluster) nothing is sent and we wait; lost, the import fails.
 *
 * Failing halfway leaves nothing behind: an import removes the volume it
 * made, an import-diff rolls the volume back to the starting snapshot
 * (which it checked the volume still equals, object by object, before
 * writing anything).
 *
 * State lives on the applier (one per call); write completions run on
 * librados threads and only update counters under the lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "common/testhook.h"
#include "common/util.h"
#include "store/backup.h"
#include "store/catalog.h"
#include "store/catalog_header.h"
#include "store/clone.h"
#include "store/image.h"
#include "store/lease.h"
#include "store/snapshot.h"

#define WRITE_CHUNK	(4u << 20)
#define WRITE_WINDOW	16
#define ZERO_CHUNK	(256ull << 20)
#define STAT_BATCH	1024

struct wbuf {
	struct image_io	 io;
	struct apply	*a;
	unsigned char	*buf;
	bool		 busy;
};

struct apply {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct store	*st;
	struct image	*img;
	struct lease	*ls;
	struct volume_meta *m;		/* the volume, as its header now is */
	struct stream_in in;
	struct wbuf	 w[WRITE_WINDOW];
	unsigned	 inflight;
	int		 err;		/* first write error */
	uint64_t	 size;		/* the image's size now */
	uint64_t	 total;		/* the stream's length, 0 unknown */
	uint64_t	 progress_ns;
	const struct backup_progress *progress;
	struct backup_stats *stats;
	/* the current diff's header */
	bool		 has_from, has_to, has_size;
	char		 from[NAME_MAX_LEN + 1], to[NAME_MAX_LEN + 1];
	uint64_t	 stream_size;
};

static void
io_done(struct image_io *io, int r)
{
	struct apply *a = ((struct wbuf *)io->arg)->a;
	struct wbuf *w = io->arg;

	pthread_mutex_lock(&a->lock);
	if (r < 0 && a->err == 0)
		a->err = r;
	if (w->buf == NULL)	/* a discard's own */
		free(w);
	else
		w->busy = false;
	a->inflight--;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

/* Wait until at most `most` requests are in flight; the first error. */
static int
wait_inflight(struct apply *a, unsigned most)
{
	int r;

	pthread_mutex_lock(&a->lock);
	while (a->inflight > most)
		pthread_cond_wait(&a->cond, &a->lock);
	r = a->err;
	pthread_mutex_unlock(&a->lock);
	return r;
}

/* The lease confirmed before anything more is sent: a stall waits. */
static int
lease_ok(struct apply *a, char *err, size_t errlen)
{
	while (!lease_valid(a->ls)) {
		if (lease_lost(a->ls)) {
			snprintf(err, errlen, "lost the lease of volume %s (another "
			    "client took it)", a->m->name);
			return -ENOLCK;
		}
		wait_ms(100);
	}
	return 0;
}

static void
tick(struct apply *a)
{
	uint64_t now = now_ns();

	if (a->progress == NULL || a->progress->fn == NULL ||
	    now - a->progress_ns < 200000000ull)
		return;
	a->progress_ns = now;
	a->progress->fn(a->in.pos, a->total, a->progress->arg);
}

static int
apply_data(struct apply *a, const struct stream_record *rec, char *err,
    size_t errlen)
{
	uint64_t off = rec->off, left = rec->len;
	int r;

	while (left > 0) {
		struct wbuf *w = NULL;
		size_t n = WRITE_CHUNK - (size_t)(off % WRITE_CHUNK), got = 0;
		if (n > left)
			n = (size_t)left;
		pthread_mutex_lock(&a->lock);
		for (;;) {
			for (unsigned k = 0; k < WRITE_WINDOW && w == NULL; k++)
				if (!a->w[k].busy)
					w = &a->w[k];
			if (w != NULL || a->err)
				break;
			pthread_cond_wait(&a->cond, &a->lock);
		}
		r = a->err;
		pthread_mutex_unlock(&a->lock);
		if (r < 0) {
			snprintf(err, errlen, "cannot write volume %s: %s", a->m->name,
			    strerror(-r));
			return r;
		}
		while (got < n) {
			long k = stream_in_data(&a->in, w->buf + got, n - got, err,
			    errlen);
			if (k < 0)
				return (int)k;
			got += (size_t)k;
		}
		if ((r = lease_ok(a, err, errlen)) < 0)
			return r;
		w->busy = true;
		w->io = (struct image_io){ .off = off, .len = n, .buf = w->buf,
		    .done = io_done, .arg = w };
		pthread_mutex_lock(&a->lock);
		a->inflight++;
		pthread_mutex_unlock(&a->lock);
		if ((r = image_submit_write(a->img, &w->io)) < 0) {
			pthread_mutex_lock(&a->lock);
			a->inflight--;
			w->busy = false;
			pthread_mutex_unlock(&a->lock);
			snprintf(err, errlen, "cannot write volume %s: %s", a->m->name,
			    strerror(-r));
			return r;
		}
		a->stats->data_bytes += n;
		off += n;
		left -= n;
		tick(a);
	}
	return 0;
}

static int
apply_zero(struct apply *a, const struct stream_record *rec, char *err,
    size_t errlen)
{
	uint64_t off = rec->off, left = rec->len;
	int r;

	while (left > 0) {
		uint64_t n = left > ZERO_CHUNK ? ZERO_CHUNK : left;
		struct wbuf *w;
		if ((r = wait_inflight(a, WRITE_WINDOW - 1)) < 0 ||
		    (r = lease_ok(a, err, errlen)) < 0) {
			if (r != -ENOLCK)
				snprintf(err, errlen, "cannot write volume %s: %s",
				    a->m->name, strerror(-r));
			return r;
		}
		if ((w = calloc(1, sizeof(*w))) == NULL)
			return -ENOMEM;
		w->a = a;
		w->io = (struct image_io){ .off = off, .len = (size_t)n,
		    .done = io_done, .arg = w };
		pthread_mutex_lock(&a->lock);
		a->inflight++;
		pthread_mutex_unlock(&a->lock);
		if ((r = image_submit_discard(a->img, &w->io)) < 0) {
			pthread_mutex_lock(&a->lock);
			a->inflight--;
			pthread_mutex_unlock(&a->lock);
			free(w);
			snprintf(err, errlen, "cannot write volume %s: %s", a->m->name,
			    strerror(-r));
			return r;
		}
		a->stats->zero_bytes += n;
		off += n;
		left -= n;
	}
	tick(a);
	return 0;
}

/* Everything sent is acknowledged and flushed. */
static int
settle(struct apply *a, char *err, size_t errlen)
{
	int r = wait_inflight(a, 0);

	if (r == 0)
		r = image_flush(a->img);
	if (r < 0)
		snprintf(err, errlen, "cannot write volume %s: %s", a->m->name,
		    strerror(-r));
	return r;
}

/* Read one diff's header (from, to, size), beginning with *next when
 * have_first (a record already read), up to its first other record, which
 * is left in *next. */
static int
read_header(struct apply *a, struct stream_record *next, bool have_first,
    char *err, size_t errlen)
{
	int r;

	a->has_from = a->has_to = a->has_size = false;
	for (;;) {
		if (!have_first && (r = stream_in_next(&a->in, next, err, errlen)) < 0)
			return r;
		have_first = false;
		switch (next->type) {
		case REC_FROM:
		case REC_TO: {
			char *name = next->type == REC_FROM ? a->from : a->to;
			if (next->type == REC_FROM)
				a->has_from = true;
			else
				a->has_to = true;
			snprintf(name, sizeof(a->to), "%s", next->name);
			if (!name_valid(name)) {
				char esc[300];
				snprintf(err, errlen, "the stream's snapshot name '%s' is "
				    "not one cephvol accepts: %s", str_escape(esc,
				    sizeof(esc), name, strlen(name) > 64 ? 64 :
				    strlen(name)), NAME_RULE);
				return -EINVAL;
			}
			break;
		}
		case REC_SIZE:
			a->has_size = true;
			a->stream_size = next->size;
			break;
		case REC_DONE:
			snprintf(err, errlen, "the stream is damaged at byte %" PRIu64
			    ": it ends inside a diff", a->in.pos);
			return -EINVAL;
		default:
			if (!a->has_size) {
				snprintf(err, errlen, "the stream is damaged at byte %"
				    PRIu64 ": no image size before its data", a->in.pos);
				return -EINVAL;
			}
			return 0;
		}
	}
}

/* The image grows to the diff's size (never shrinks: see callers). */
static int
grow_to(struct apply *a, uint64_t size, char *err, size_t errlen)
{
	char why[512];
	int r;

	size = (size + 4095) & ~(uint64_t)4095;
	if (size <= a->size)
		return 0;
	if ((r = catalog_resize(a->st, a->m->name, size, why, sizeof(why))) < 0 ||
	    (r = image_set_size(a->img, size)) < 0) {
		snprintf(err, errlen, "cannot grow volume %s to the stream's size: %s",
		    a->m->name, r == -EINVAL ? why : strerror(-r));
		return r;
	}
	a->size = size;
	return 0;
}

/* The diff's end snapshot, under our lease; later writes carry it. */
static int
end_snapshot(struct apply *a, char *err, size_t errlen)
{
	struct volume_meta now;
	uint64_t id, seq, *ids;
	size_t n;
	char why[1024];
	int r;

	if ((r = lease_ok(a, err, errlen)) < 0)
		return r;
	if ((r = snapshot_alloc_id(a->st, &id)) < 0) {
		snprintf(err, errlen, "cannot create snapshot %s@%s: the monitors gave "
		    "no snapshot id: %s", a->m->name, a->to, strerror(-r));
		return r;
	}
	if ((r = snapshot_commit(a->st, a->m->id, a->to, id, &now, why,
	    sizeof(why))) < 0) {
		snapshot_release_id(a->st, id);
		snprintf(err, errlen, "cannot create snapshot %s@%s: %s", a->m->name,
		    a->to, why);
		return r;
	}
	if ((r = snapshot_context(&now, &seq, &ids, &n)) == 0) {
		r = image_set_snap_context(a->img, seq, ids, n);
		free(ids);
	}
	volume_meta_free(a->m);
	*a->m = now;
	if (r < 0) {
		snprintf(err, errlen, "cannot use snapshot %s@%s: %s", a->m->name,
		    a->to, strerror(-r));
		return r;
	}
	a->stats->snapshots++;
	snprintf(a->stats->last_snapshot, sizeof(a->stats->last_snapshot), "%s",
	    a->to);
	testhook_point("import.snapshot");
	return 0;
}

/*
 * Apply the stream from `rec` (the first record after the first diff's
 * header) to its end. A v2 stream's later diffs each start from the
 * previous one's end snapshot.
 */
static int
apply_all(struct apply *a, struct stream_record *rec, char *err, size_t errlen)
{
	int r;

	for (;;) {
		if (a->progress && a->progress->stop && *a->progress->stop) {
			snprintf(err, errlen, "interrupted at byte %" PRIu64 " of the "
			    "stream", a->in.pos);
			return -EINTR;
		}
		switch (rec->type) {
		case REC_DATA:
			r = apply_data(a, rec, err, errlen);
			break;
		case REC_ZERO:
			r = apply_zero(a, rec, err, errlen);
			break;
		case REC_END: {
			char prev[NAME_MAX_LEN + 1];
			bool had_to = a->has_to;
			if ((r = settle(a, err, errlen)) == 0 && a->has_to)
				r = end_snapshot(a, err, errlen);
			if (r < 0)
				return r;
			snprintf(prev, sizeof(prev), "%s", a->to);
			if ((r = stream_in_next(&a->in, rec, err, errlen)) < 0)
				return r;
			if (rec->type == REC_DONE)
				return 0;
			/* a v2 stream's next diff, from the snapshot just made */
			if ((r = read_header(a, rec, true, err, errlen)) < 0)
				return r;
			if (!a->has_from || !had_to || strcmp(a->from, prev) != 0) {
				snprintf(err, errlen, "the stream is damaged at byte %"
				    PRIu64 ": a diff that does not start where the one "
				    "before ended (%s)", a->in.pos, had_to ? prev :
				    "at no snapshot");
				return -EINVAL;
			}
			if ((r = grow_to(a, a->stream_size, err, errlen)) < 0)
				return r;
			continue;
		}
		default:
			snprintf(err, errlen, "the stream is damaged at byte %" PRIu64
			    ": a header record among the data records", a->in.pos);
			return -EINVAL;
		}
		if (r < 0)
			return r;
		if ((r = stream_in_next(&a->in, rec, err, errlen)) < 0)
			return r;
	}
}

static int
apply_init(struct apply *a, struct store *st, int fd, uint64_t total,
    const struct backup_progress *progress, struct backup_stats *stats,
    char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	memset(stats, 0, sizeof(*stats));
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->st = st;
	a->total = total;
	a->progress = progress;
	a->stats = stats;
	for (unsigned k = 0; k < WRITE_WINDOW; k++) {
		a->w[k].a = a;
		if ((a->w[k].buf = malloc(WRITE_CHUNK)) == NULL)
			return -ENOMEM;
	}
	return stream_in_begin(&a->in, fd, progress ? progress->stop : NULL, err,
	    errlen);
}

static void
apply_close_image(struct apply *a)
{
	if (a->img != NULL) {
		(void)wait_inflight(a, 0);
		image_close(a->img);
		a->img = NULL;
	}
}

static void
apply_free(struct apply *a, uint64_t t0)
{
	apply_close_image(a);
	a->stats->stream_bytes = a->in.pos;
	a->stats->seconds = (double)(now_ns() - t0) / 1e9;
	stream_in_free(&a->in);
	for (unsigned k = 0; k < WRITE_WINDOW; k++)
		free(a->w[k].buf);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
}

static int
open_image(struct apply *a, const struct image_layer *layers, unsigned nl,
    char *err, size_t errlen)
{
	struct image_geometry geom = { .id = a->m->id, .size = a->size,
	    .object_size = a->m->object_size, .layers = layers, .n_layers = nl };
	uint64_t seq, *ids;
	size_t n;
	int r;

	if ((r = image_open(a->st, &geom, &a->img)) < 0) {
		snprintf(err, errlen, "cannot open volume %s: %s", a->m->name,
		    strerror(-r));
		return r;
	}
	if ((r = snapshot_context(a->m, &seq, &ids, &n)) == 0) {
		r = image_set_snap_context(a->img, seq, ids, n);
		free(ids);
	}
	if (r < 0)
		snprintf(err, errlen, "cannot open volume %s: its snapshot records: "
		    "%s", a->m->name, strerror(-r));
	return r;
}

struct probe {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	bool		 done;
	int		 r;
};

static void
probe_done(struct image_io *io, int r)
{
	struct probe *p = io->arg;

	pthread_mutex_lock(&p->lock);
	p->r = r;
	p->done = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* Which filesystem the image begins with: "ext4", "xfs" or "". */
static void
detect_fs(struct apply *a, char *fs, size_t len)
{
	unsigned char *b = a->w[0].buf;
	struct probe p = { .done = false };
	struct image_io io = { .off = 0, .len = 4096, .buf = b, .done = probe_done,
	    .arg = &p };

	fs[0] = '\0';
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	if (image_submit_read(a->img, &io) == 0) {
		pthread_mutex_lock(&p.lock);
		while (!p.done)
			pthread_cond_wait(&p.cond, &p.lock);
		pthread_mutex_unlock(&p.lock);
		if (p.r == 0 && memcmp(b, "XFSB", 4) == 0)
			snprintf(fs, len, "xfs");
		else if (p.r == 0 && b[1080] == 0x53 && b[1081] == 0xef)
			snprintf(fs, len, "ext4");
	}
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
}

static int
set_fs(json_t *meta, void *arg)
{
	const char *fs = arg;
	const char *now = json_string_value(json_object_get(meta, "fs"));

	if (now != NULL && strcmp(now, fs) == 0)
		return 1;
	return json_object_set_new(meta, "fs", json_string(fs)) == 0 ? 0 : -ENOMEM;
}

int
backup_import(struct store *st, const struct config *cfg, int fd, const char *name,
    json_t *opts, const struct backup_progress *progress,
    struct backup_stats *stats, char *err, size_t errlen)
{
	struct volume_meta want, m, probe;
	struct stream_record rec;
	struct apply a;
	bool made = false;
	uint64_t t0 = now_ns();
	char why[1024];
	int r;

	memset(&m, 0, sizeof(m));
	if ((r = volume_opts_parse(cfg, name, opts, &want, err, errlen)) < 0)
		return r;
	r = -EINVAL;
	if (want.type != VOLUME_BLOCK)
		snprintf(err, errlen, "an import makes a block volume: leave out type=");
	else if (want.given & (VOLUME_OPT_FROM | VOLUME_OPT_SNAPSHOT))
		snprintf(err, errlen, "an import makes a volume of its own: from= and "
		    "snapshot= do not apply");
	else if ((r = catalog_get(st, name, &probe)) == 0) {
		volume_meta_free(&probe);
		snprintf(err, errlen, "volume %s exists: an import makes a new volume "
		    "('cephvol volume import-diff' applies an incremental to one)",
		    name);
		r = -EEXIST;
	} else if (r == -ENOENT)
		r = 0;
	else
		snprintf(err, errlen, "cannot read the catalogue: %s", strerror(-r));
	if (r < 0) {
		volume_meta_free(&want);
		return r;
	}
	if ((r = apply_init(&a, st, fd, 0, progress, stats, err, errlen)) < 0)
		goto out;
	a.m = &m;
	if ((r = read_header(&a, &rec, false, err, errlen)) < 0)
		goto out;
	if (a.has_from) {
		snprintf(err, errlen, "this stream is an incremental from snapshot %s: "
		    "apply it with 'cephvol volume import-diff' to a volume whose "
		    "newest snapshot is %s", a.from, a.from);
		r = -EINVAL;
		goto out;
	}
	{
		uint64_t need = (a.stream_size + 4095) & ~(uint64_t)4095;
		if (need < VOLUME_MIN_SIZE)
			need = VOLUME_MIN_SIZE;
		if (want.given & VOLUME_OPT_SIZE) {
			if (want.size < a.stream_size) {
				snprintf(err, errlen, "size=%" PRIu64 " is smaller than "
				    "the stream's image (%" PRIu64 " bytes)", want.size,
				    a.stream_size);
				r = -EINVAL;
				goto out;
			}
		} else {
			want.size = need;
			want.given |= VOLUME_OPT_SIZE;
		}
		if (want.size > VOLUME_MAX_SIZE) {
			snprintf(err, errlen, "the stream's image (%" PRIu64 " bytes) is "
			    "larger than a volume can be", a.stream_size);
			r = -EINVAL;
			goto out;
		}
	}
	if ((r = catalog_create(st, &want, &m, err, errlen)) < 0)
		goto out;
	r = lease_acquire(st, name, m.id, (unsigned)cfg->volume_lease_seconds, NULL,
	    &a.ls, why, sizeof(why));
	if (r < 0) {
		/* another import of the same name (or a mount) came first */
		snprintf(err, errlen, "cannot import into volume %s: %s", name, why);
		goto out;
	}
	/* again under the lease: it must be the empty volume just made, not
	 * one a racing import of the same name has filled already */
	{
		char id[VOLUME_ID_LEN + 1];
		snprintf(id, sizeof(id), "%s", m.id);
		volume_meta_free(&m);
		if ((r = catalog_header_read(st, id, &m)) < 0) {
			snprintf(err, errlen, "cannot read volume %s: %s", name,
			    strerror(-r));
			goto out;
		}
		if (json_array_size(json_object_get(m.snapshots, "list")) > 0) {
			snprintf(err, errlen, "volume %s was filled by another import "
			    "meanwhile", name);
			r = -EEXIST;
			goto out;
		}
	}
	made = true;
	a.size = m.size;
	if ((r = open_image(&a, NULL, 0, err, errlen)) < 0)
		goto out;
	testhook_point("import.begin");
	if ((r = apply_all(&a, &rec, err, errlen)) < 0)
		goto out;
	detect_fs(&a, stats->fs, sizeof(stats->fs));
	if (stats->fs[0] && strcmp(stats->fs, m.fs) != 0)
		(void)catalog_header_update(st, m.id, set_fs, stats->fs, NULL);
	stats->image_bytes = a.size;
	stats->objects = (a.size + m.object_size - 1) / m.object_size;
out:
	apply_close_image(&a);
	if (a.ls != NULL)
		lease_release(a.ls);
	if (r < 0 && made) {
		char why2[512];
		if (catalog_remove(st, name, why2, sizeof(why2)) == 0)
			snprintf(err + strlen(err), errlen - strlen(err),
			    "; volume %s, made for it, was removed again", name);
		else
			snprintf(err + strlen(err), errlen - strlen(err),
			    "; volume %s, made for it, could not be removed (%s): "
			    "remove it with 'cephvol volume rm %s'", name, why2, name);
	}
	apply_free(&a, t0);
	volume_meta_free(&m);
	volume_meta_free(&want);
	return r;
}

/* The first object of m that differs from snapshot snap, or -1 (none):
 * by version, then, for those whose version moved, by content. */
static int
first_changed(struct store *st, const struct volume_meta *m, uint64_t snap,
    int64_t *which)
{
	uint64_t objects = (m->size + m->object_size - 1) / m->object_size;
	struct image_change *changed = malloc(STAT_BATCH * sizeof(*changed));
	int r = 0;

	*which = -1;
	if (changed == NULL)
		return -ENOMEM;
	for (uint64_t first = 0; first < objects && *which < 0; first += STAT_BATCH) {
		uint64_t count = objects - first < STAT_BATCH ? objects - first :
		    STAT_BATCH;
		if ((r = image_changed_objects(st, m->id, first, count, snap, 0,
		    changed)) < 0)
			break;
		for (uint64_t i = 0; i < count && *which < 0 && r == 0; i++) {
			bool same;
			if (!changed[i].changed)
				continue;
			/* rewritten with the same bytes (a rollback, say)? */
			if ((r = image_objects_equal(st, m->id, first + i, snap, 0,
			    &same)) == 0 && !same)
				*which = (int64_t)(first + i);
		}
		if (r < 0)
			break;
	}
	free(changed);
	return r;
}

/* The checks before anything is written: m (read under our lease) is a
 * block volume whose newest snapshot is the stream's start, unchanged
 * since, without the stream's end snapshot. */
static int
diff_applies(struct apply *a, struct snapshot *from, char *err, size_t errlen)
{
	const struct volume_meta *m = a->m;
	struct snapshot s;
	int64_t which;
	int r;

	if (!a->has_from) {
		snprintf(err, errlen, "this stream is a full export (it starts from "
		    "nothing): restore it into a new volume with 'cephvol volume "
		    "import'");
		return -EINVAL;
	}
	if (m->type != VOLUME_BLOCK || m->readonly) {
		snprintf(err, errlen, "volume %s is a %s: an incremental applies to "
		    "a block volume", m->name, m->readonly ? "read-only snapshot "
		    "volume" : "secrets volume");
		return -EINVAL;
	}
	if ((r = snapshot_find(m, NULL, from)) < 0 || strcmp(from->name, a->from) != 0) {
		if (r < 0)
			snprintf(err, errlen, "the stream starts at snapshot %s, but "
			    "volume %s has no snapshots: apply the increments in "
			    "order, from a full import", a->from, m->name);
		else
			snprintf(err, errlen, "the stream starts at snapshot %s, but "
			    "the newest snapshot of volume %s is %s: apply the "
			    "increments in order", a->from, m->name, from->name);
		return -EINVAL;
	}
	if (a->has_to && snapshot_find(m, a->to, &s) == 0) {
		snprintf(err, errlen, "volume %s already has snapshot %s: this "
		    "stream was applied already", m->name, a->to);
		return -EEXIST;
	}
	if ((r = first_changed(a->st, m, from->id, &which)) < 0) {
		snprintf(err, errlen, "cannot compare volume %s with snapshot %s: %s",
		    m->name, from->name, strerror(-r));
		return r;
	}
	if (which >= 0) {
		snprintf(err, errlen, "volume %s was written after snapshot %s (object "
		    "%" PRId64 " differs, a mount alone writes): an incremental "
		    "applies only to the bytes it was made from; roll it back first "
		    "('cephvol volume rollback %s %s') or import into a new volume",
		    m->name, from->name, which, m->name, from->name);
		return -EBUSY;
	}
	return 0;
}

int
backup_import_diff(struct store *st, const struct config *cfg, int fd,
    const char *name, const struct backup_progress *progress,
    struct backup_stats *stats, char *err, size_t errlen)
{
	struct image_layer *layers = NULL;
	struct stream_record rec;
	struct volume_meta m;
	struct snapshot from;
	struct apply a;
	unsigned nl = 0;
	bool writing = false;
	uint64_t t0 = now_ns(), old_size = 0;
	char why[1024];
	int r;

	memset(&m, 0, sizeof(m));
	if ((r = apply_init(&a, st, fd, 0, progress, stats, err, errlen)) < 0)
		goto out;
	a.m = &m;
	if ((r = read_header(&a, &rec, false, err, errlen)) < 0)
		goto out;
	if ((r = catalog_get(st, name, &m)) < 0) {
		snprintf(err, errlen, r == -ENOENT ? "no such volume: %s" :
		    "cannot read volume %s", name);
		goto out;
	}
	r = lease_acquire(st, name, m.id, (unsigned)cfg->volume_lease_seconds, NULL,
	    &a.ls, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "cannot import into volume %s: %s%s", name, why,
		    r == -EBUSY ? " (unmount it everywhere first)" : "");
		goto out;
	}
	/* again under the lease: what we write on must be what it is now */
	snprintf(why, sizeof(why), "%s", m.id);
	volume_meta_free(&m);
	if ((r = catalog_header_read(st, why, &m)) < 0) {
		snprintf(err, errlen, "cannot read volume %s: %s", name, strerror(-r));
		goto out;
	}
	if ((r = diff_applies(&a, &from, err, errlen)) < 0)
		goto out;
	if ((r = clone_layers(st, &m, &layers, &nl, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "cannot import into volume %s: %s", name, why);
		goto out;
	}
	old_size = a.size = m.size;
	if ((r = open_image(&a, layers, nl, err, errlen)) < 0)
		goto out;
	writing = true;
	testhook_point("import.begin");
	if ((r = grow_to(&a, a.stream_size, err, errlen)) < 0 ||
	    (r = apply_all(&a, &rec, err, errlen)) < 0)
		goto out;
	stats->image_bytes = a.size;
	stats->objects = (a.size + m.object_size - 1) / m.object_size;
out:
	apply_close_image(&a);
	if (r < 0 && writing && !lease_lost(a.ls)) {
		/* back to the starting snapshot: every object it could touch */
		uint64_t seq, *ids, objects = (a.size + m.object_size - 1) /
		    m.object_size;
		size_t n;
		int e = snapshot_context(&m, &seq, &ids, &n);
		if (e == 0) {
			e = image_rollback(st, m.id, objects, from.id, seq, ids, n,
			    NULL, NULL);
			free(ids);
		}
		if (e == 0)
			snprintf(err + strlen(err), errlen - strlen(err), "; volume %s "
			    "was rolled back to snapshot %s%s", name, from.name,
			    a.size > old_size ? " (its size stays the stream's)" : "");
		else
			snprintf(err + strlen(err), errlen - strlen(err), "; volume %s "
			    "could not be rolled back to snapshot %s (%s): run 'cephvol "
			    "volume rollback %s %s'", name, from.name, strerror(-e),
			    name, from.name);
	}
	if (a.ls != NULL)
		lease_release(a.ls);
	apply_free(&a, t0);
	clone_layers_free(layers, nl);
	volume_meta_free(&m);
	return r;
}
