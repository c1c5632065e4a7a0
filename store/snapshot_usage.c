/*
 * snapshot_usage.c - the bytes each snapshot of a volume holds alone
 * (store/snapshot.h: snapshot_usage), for `volume inspect`.
 *
 * The C API cannot list an object's clones, so this looks at each object
 * as each snapshot sees it and as it is now (a stat through an ioctx that
 * reads at that snapshot): size and mtime, or absent. The OSD keeps one
 * clone per run of snapshots between two writes, so a snapshot holds an
 * object's bytes alone when the object changed between the snapshot before
 * it and this one, and again between this one and the next (or now). Two
 * states are the same when both are absent, or both have the same size and
 * mtime; mtime has one-second resolution, so a write in the same second as
 * a snapshot can make two states look the same and its bytes go uncounted
 * (never counted twice). Every slot up to the largest size is stat'ed (a
 * listing misses objects removed since a snapshot), at most WINDOW objects
 * at a time, each with one aio stat per snapshot plus one now.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rados/librados.h>

#include "store/conn.h"
#include "store/image.h"
#include "store/snapshot.h"

#define WINDOW	16	/* objects in flight */

struct state {
	rados_completion_t	 c;
	uint64_t		 size;
	time_t			 mtime;
	bool			 exists;
};

static bool
same(const struct state *a, const struct state *b)
{
	if (!a->exists || !b->exists)
		return a->exists == b->exists;
	return a->size == b->size && a->mtime == b->mtime;
}

int
snapshot_usage(struct store *st, const struct volume_meta *m, uint64_t *unique,
    size_t n)
{
	struct snapshot *list = NULL;
	rados_ioctx_t *io = NULL;
	struct state *s = NULL;
	uint64_t seq, span = m->size, objects;
	size_t k = 0, per;
	int r;

	if ((r = snapshot_records(m, &list, &k, &seq)) < 0)
		return r;
	if (k != n) {
		free(list);
		return -EINVAL;
	}
	memset(unique, 0, n * sizeof(*unique));
	per = k + 1;		/* the snapshots, oldest first, then now */
	if (k == 0 || (io = calloc(per, sizeof(*io))) == NULL ||
	    (s = calloc(WINDOW * per, sizeof(*s))) == NULL) {
		free(io);
		free(list);
		return k == 0 ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < per && r == 0; i++) {
		if ((r = store_ioctx_new(st, &io[i])) < 0) {
			io[i] = NULL;
			break;
		}
		if (i < k) {
			rados_ioctx_snap_set_read(io[i], list[i].id);
			if (list[i].size > span)
				span = list[i].size;
		}
	}
	objects = (span + m->object_size - 1) / m->object_size;
	for (uint64_t base = 0; r == 0 && base < objects; base += WINDOW) {
		uint64_t nobj = objects - base < WINDOW ? objects - base : WINDOW;

		for (uint64_t o = 0; o < nobj; o++)
			for (size_t i = 0; i < per; i++) {
				struct state *x = &s[o * per + i];
				char oid[96];

				snprintf(oid, sizeof(oid), IMAGE_OID_PREFIX "%s.%016" PRIx64,
				    m->id, base + o);
				x->c = NULL;
				if (rados_aio_create_completion2(NULL, NULL, &x->c) < 0 ||
				    rados_aio_stat(io[i], oid, x->c, &x->size,
				    &x->mtime) < 0) {
					if (x->c)
						rados_aio_release(x->c);
					x->c = NULL;
					r = -EIO;
				}
			}
		for (uint64_t o = 0; o < nobj; o++) {
			struct state *row = &s[o * per];

			for (size_t i = 0; i < per; i++) {
				int rr;

				if (row[i].c == NULL)
					continue;
				rados_aio_wait_for_complete(row[i].c);
				rr = rados_aio_get_return_value(row[i].c);
				rados_aio_release(row[i].c);
				row[i].exists = rr == 0;
				if (rr < 0 && rr != -ENOENT && r == 0)
					r = rr;
			}
			for (size_t i = 0; i < k; i++)
				if (row[i].exists && !same(&row[i], &row[i + 1]) &&
				    (i == 0 || !same(&row[i], &row[i - 1])))
					unique[i] += row[i].size;
		}
	}
	for (size_t i = 0; i < per; i++)
		if (io[i])
			rados_ioctx_destroy(io[i]);
	free(io);
	free(s);
	free(list);
	return r;
}
