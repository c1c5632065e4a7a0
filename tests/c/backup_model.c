/*
 * backup_model.c - backups (store/backup.h) checked byte for byte against
 * an in-memory model (tests/integ/backup_model.sh).
 *
 *	backup_model -c CONF [--seed N] [--rounds N] [--object-size S] [--size S]
 *
 * Each round: a new volume (catalogue and all), under its lease as its
 * holder would be; SNAPS snapshots, before each a random batch of changes
 * through the image layer, mirrored in the model: writes of 512 bytes to
 * several objects at odd offsets, whole objects, explicit zeros, the same
 * bytes written again (a new object version with the old content), partial
 * and whole-object discards, now and then a rollback to an earlier
 * snapshot (every object rewritten under a new version), and a grow. Then
 * the oldest snapshot exported in full (rbd image v2 or rbd diff v1) and
 * each next one as an incremental from the one before, into memory files;
 * the full one imported into a new volume and the increments applied in
 * order; every snapshot of the restored volume read whole and compared
 * with the model's copy; and each increment is checked to carry less than
 * the volume (it must not be a full copy in disguise). Everything made is
 * removed. The seed is printed first and replays the same steps; a failure
 * names the round, the snapshot and the first differing byte, and exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "store/backup.h"
#include "store/catalog.h"
#include "store/conn.h"
#include "store/image.h"
#include "store/lease.h"
#include "store/snapshot.h"
#include "store/volopts.h"

#define SNAPS	5
#define CHANGES	12

static struct store *st;
static struct config cfg;
static uint64_t rng, obj_size, base_size;

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

static noreturn void
failx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static noreturn void
failx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "backup_model: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* ---- one synchronous image request ---- */

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
	w->r = r;
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* kind: 'r' read, 'w' write, 'd' discard */
static int
io_sync(struct image *img, char kind, uint64_t off, size_t len, void *buf)
{
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	    false, 0 };
	struct image_io io = { .off = off, .len = len, .buf = buf, .done = io_done,
	    .arg = &w };
	int r = kind == 'r' ? image_submit_read(img, &io) : kind == 'w' ?
	    image_submit_write(img, &io) : image_submit_discard(img, &io);

	if (r < 0)
		return r;
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	return w.r;
}

/* ---- the volume under test ---- */

struct vol {
	struct volume_meta m;
	struct lease	*ls;
	struct image	*img;
	uint64_t	 size;
	unsigned char	*model;			/* base_size * 2 bytes */
	unsigned char	*copy[SNAPS];		/* the model at each snapshot */
	uint64_t	 copy_size[SNAPS];
	char		 names[SNAPS][16];
};

static void
vol_context(struct vol *v)
{
	uint64_t seq, *ids;
	size_t n;

	if (snapshot_context(&v->m, &seq, &ids, &n) < 0 ||
	    image_set_snap_context(v->img, seq, ids, n) < 0)
		failx("volume %s: snapshot context", v->m.name);
	free(ids);
}

static void
vol_open(struct vol *v)
{
	struct image_geometry g = { .id = v->m.id, .size = v->size,
	    .object_size = v->m.object_size };

	if (image_open(st, &g, &v->img) < 0)
		failx("volume %s: image_open", v->m.name);
	vol_context(v);
}

static void
vol_create(struct vol *v, const char *name)
{
	json_t *o = json_object();
	struct volume_meta want;
	char err[1024], sz[32], os[32];

	memset(v, 0, sizeof(*v));
	json_object_set_new(o, "size", json_string(size_format(base_size, sz,
	    sizeof(sz))));
	json_object_set_new(o, "objectsize", json_string(size_format(obj_size, os,
	    sizeof(os))));
	if (volume_opts_parse(&cfg, name, o, &want, err, sizeof(err)) < 0 ||
	    catalog_create(st, &want, &v->m, err, sizeof(err)) < 0)
		failx("create %s: %s", name, err);
	json_decref(o);
	volume_meta_free(&want);
	if (lease_acquire(st, name, v->m.id, 30, NULL, &v->ls, err, sizeof(err)) < 0)
		failx("lease %s: %s", name, err);
	v->size = base_size;
	v->model = calloc(1, base_size * 2);
	vol_open(v);
}

static void
vol_snapshot(struct vol *v, unsigned k)
{
	struct volume_meta now;
	uint64_t id;
	char err[1024];

	if (image_flush(v->img) < 0 || snapshot_alloc_id(st, &id) < 0)
		failx("snapshot: flush or id");
	snprintf(v->names[k], sizeof(v->names[k]), "s%u", k);
	if (snapshot_commit(st, v->m.id, v->names[k], id, &now, err, sizeof(err)) < 0)
		failx("snapshot %s: %s", v->names[k], err);
	volume_meta_free(&v->m);
	v->m = now;
	vol_context(v);
	v->copy[k] = malloc(v->size);
	memcpy(v->copy[k], v->model, v->size);
	v->copy_size[k] = v->size;
}

static void
fill(unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(rnd() | 1);
}

/* One random change, in the image and the model. */
static void
change(struct vol *v, unsigned k)
{
	unsigned char *buf = malloc(obj_size * 2);
	uint64_t objs = v->size / obj_size, off, len;
	unsigned what = (unsigned)rnd_below(100);

	if (what < 30) {		/* 512-byte writes at odd places */
		off = rnd_below(v->size / 512) * 512;
		len = 512 * (1 + rnd_below(8));
	} else if (what < 45) {		/* whole objects */
		off = rnd_below(objs) * obj_size;
		len = obj_size * (1 + rnd_below(2));
	} else if (what < 55) {		/* explicit zeros */
		off = rnd_below(v->size / 4096) * 4096;
		len = 4096 * (1 + rnd_below(32));
	} else if (what < 65) {		/* the same bytes again: a new version */
		off = rnd_below(v->size / 4096) * 4096;
		len = 4096 * (1 + rnd_below(64));
	} else if (what < 80) {		/* partial discard */
		off = rnd_below(v->size / 4096) * 4096;
		len = 4096 * (1 + rnd_below(16));
	} else if (what < 90) {		/* whole-object discard */
		off = rnd_below(objs) * obj_size;
		len = obj_size;
	} else if (what < 95 && k > 0) {	/* rollback to an earlier snapshot */
		unsigned to = (unsigned)rnd_below(k);
		struct snapshot s;
		uint64_t seq, *ids;
		size_t n;
		if (v->copy_size[to] != v->size)
			goto out;	/* a rollback would shrink: not here */
		image_close(v->img);
		if (snapshot_find(&v->m, v->names[to], &s) < 0 ||
		    snapshot_context(&v->m, &seq, &ids, &n) < 0 ||
		    image_rollback(st, v->m.id, objs, s.id, seq, ids, n, NULL, NULL) < 0)
			failx("rollback to %s", v->names[to]);
		free(ids);
		memcpy(v->model, v->copy[to], v->size);
		vol_open(v);
		goto out;
	} else {			/* grow by a few objects */
		uint64_t grow = obj_size * (1 + rnd_below(3));
		char err[256];
		if (v->size + grow > base_size * 2)
			goto out;
		if (catalog_resize(st, v->m.name, v->size + grow, err, sizeof(err)) < 0 ||
		    image_set_size(v->img, v->size + grow) < 0)
			failx("grow: %s", err);
		v->size += grow;
		goto out;
	}
	if (off + len > v->size)
		len = v->size - off;
	if (len > obj_size * 2)
		len = obj_size * 2;
	if (what < 45) {
		fill(buf, len);
	} else if (what < 55) {
		memset(buf, 0, len);
	} else if (what < 65) {
		memcpy(buf, v->model + off, len);
	}
	if (what < 65) {
		if (io_sync(v->img, 'w', off, len, buf) < 0)
			failx("write %" PRIu64 "+%" PRIu64, off, len);
		memcpy(v->model + off, buf, len);
	} else {
		if (io_sync(v->img, 'd', off, len, NULL) < 0)
			failx("discard %" PRIu64 "+%" PRIu64, off, len);
		memset(v->model + off, 0, len);
	}
out:
	free(buf);
}

/* The restored volume's snapshot `name` against the model's copy. */
static void
compare(const char *volume, const char *name, const unsigned char *want,
    uint64_t size, unsigned round)
{
	struct volume_meta m;
	struct snapshot s;
	struct image *img;
	unsigned char *got;

	if (catalog_get(st, volume, &m) < 0 || snapshot_find(&m, name, &s) < 0)
		failx("round %u: %s has no snapshot %s", round, volume, name);
	if (s.size != size)
		failx("round %u: %s@%s is %" PRIu64 " bytes, want %" PRIu64, round,
		    volume, name, s.size, size);
	struct image_geometry g = { .id = m.id, .size = size,
	    .object_size = m.object_size, .read_snap = s.id };
	if (image_open(st, &g, &img) < 0)
		failx("round %u: open %s@%s", round, volume, name);
	got = malloc(size);
	for (uint64_t off = 0; off < size; off += obj_size)
		if (io_sync(img, 'r', off, (size_t)(size - off < obj_size ? size - off :
		    obj_size), got + off) < 0)
			failx("round %u: read %s@%s", round, volume, name);
	for (uint64_t i = 0; i < size; i++)
		if (got[i] != want[i])
			failx("round %u: %s@%s differs at byte %" PRIu64 " (object %"
			    PRIu64 "): %02x, want %02x", round, volume, name, i,
			    i / obj_size, got[i], want[i]);
	free(got);
	image_close(img);
	volume_meta_free(&m);
}

static void
remove_volume(const char *name)
{
	struct volume_meta m;
	struct snapshot *list;
	uint64_t seq;
	size_t n;
	char err[1024];

	if (catalog_get(st, name, &m) < 0)
		return;
	if (snapshot_records(&m, &list, &n, &seq) == 0) {
		for (size_t i = 0; i < n; i++)
			if (snapshot_remove(st, name, list[i].name, err, sizeof(err)) < 0)
				failx("snapshot rm %s@%s: %s", name, list[i].name, err);
		free(list);
	}
	volume_meta_free(&m);
	if (catalog_remove(st, name, err, sizeof(err)) < 0)
		failx("volume rm %s: %s", name, err);
}

static void
round_run(unsigned round)
{
	struct backup_stats stats;
	struct vol v;
	char name[64], rname[64], err[2048];
	int fds[SNAPS];
	enum backup_format fmt = rnd_below(2) ? BACKUP_IMAGE_V2 : BACKUP_DIFF_V1;

	snprintf(name, sizeof(name), "bm-%u-%08" PRIx64, round, rnd() & 0xffffffff);
	snprintf(rname, sizeof(rname), "%s-r", name);
	vol_create(&v, name);
	for (unsigned k = 0; k < SNAPS; k++) {
		unsigned n = 1 + (unsigned)rnd_below(CHANGES);
		for (unsigned i = 0; i < n; i++)
			change(&v, k);
		vol_snapshot(&v, k);
	}
	/* export: the first in full, then each from the one before */
	for (unsigned k = 0; k < SNAPS; k++) {
		if ((fds[k] = memfd_create("stream", 0)) < 0)
			failx("memfd");
		if (backup_export(st, name, v.names[k], k ? v.names[k - 1] : NULL,
		    k ? BACKUP_DIFF_V1 : fmt, fds[k], NULL, &stats, err, sizeof(err)) < 0)
			failx("round %u: export %s@%s: %s", round, name, v.names[k], err);
		if (k > 0 && stats.data_bytes + stats.zero_bytes > 0 &&
		    stats.stream_bytes > v.copy_size[k] + 4096)
			failx("round %u: increment %s is larger than the volume", round,
			    v.names[k]);
		lseek(fds[k], 0, SEEK_SET);
	}
	image_close(v.img);
	lease_release(v.ls);
	/* restore and compare every snapshot */
	for (unsigned k = 0; k < SNAPS; k++) {
		int r = k == 0 ? backup_import(st, &cfg, fds[0], rname, NULL, NULL, &stats,
		    err, sizeof(err)) : backup_import_diff(st, &cfg, fds[k], rname, NULL,
		    &stats, err, sizeof(err));
		if (r < 0)
			failx("round %u: import %s: %s", round, v.names[k], err);
		close(fds[k]);
	}
	for (unsigned k = 0; k < SNAPS; k++) {
		compare(rname, v.names[k], v.copy[k], v.copy_size[k], round);
		compare(name, v.names[k], v.copy[k], v.copy_size[k], round);
	}
	remove_volume(rname);
	remove_volume(name);
	for (unsigned k = 0; k < SNAPS; k++)
		free(v.copy[k]);
	free(v.model);
	volume_meta_free(&v.m);
}

static noreturn void
usage(void)
{
	fprintf(stderr, "usage: backup_model -c CONF [--seed N] [--rounds N] "
	    "[--object-size S] [--size S]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "object-size", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	uint64_t seed = 0, rounds = 10;
	struct timespec t0;
	char err[512];
	int c;

	obj_size = 64 * 1024;
	base_size = 2 * 1024 * 1024;
	while ((c = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': rounds = strtoull(optarg, NULL, 0); break;
		case 'o': if (size_parse(optarg, &obj_size) < 0) usage(); break;
		case 'S': if (size_parse(optarg, &base_size) < 0) usage(); break;
		default: usage();
		}
	}
	if (optind != argc || obj_size < 65536 || (obj_size & (obj_size - 1)) ||
	    base_size % obj_size)
		usage();
	clock_gettime(CLOCK_REALTIME, &t0);
	if (seed == 0)
		seed = (uint64_t)t0.tv_nsec ^ ((uint64_t)getpid() << 32);
	rng = seed ? seed : 1;
	printf("backup_model: seed %" PRIu64 " rounds %" PRIu64 " object-size %"
	    PRIu64 " size %" PRIu64 "\n", seed, rounds, obj_size, base_size);
	fflush(stdout);
	log_init("backup_model", LOG_LEVEL_WARN, LOG_TARGET_STDERR);
	if (config_init(&cfg, conf, NULL, 0, err, sizeof(err)) < 0 ||
	    store_connect(&cfg, STORE_CREATE_POOL, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "backup_model: %s\n", err);
		return 1;
	}
	for (unsigned r = 1; r <= rounds; r++)
		round_run(r);
	printf("backup_model: %" PRIu64 " rounds of %d snapshots: every snapshot "
	    "restored exactly\n", rounds, SNAPS);
	store_close(st);
	config_free(&cfg);
	return 0;
}
