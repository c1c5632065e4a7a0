/*
 * fsck.c - find and repair half-finished catalogue changes (store/fsck.h).
 *
 * One pass: list every object of the pool (headers and data by id), then
 * read the catalogue, then judge each entry and each id no entry names.
 * Listing before reading is what makes orphans safe to judge: a header
 * exists only after its entry does (catalog.c), so a header listed before
 * the catalogue was read and not named by it is really an orphan -- unless
 * it was made by a create racing with us, which the re-check just before
 * each repair catches.
 *
 * State lives on the stack of fsck_run(); nothing is shared; no locking.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rados/librados.h>

#include "common/log.h"
#include "common/util.h"
#include "store/catalog_header.h"
#include "store/conn.h"
#include "store/fsck.h"
#include "store/image.h"

struct idcount {
	char		 id[VOLUME_ID_LEN + 1];
	uint64_t	 n;
};

struct idset {
	struct idcount	*v;
	size_t		 n, cap;
};

static bool
id_ok(const char *s, size_t len)
{
	return len == VOLUME_ID_LEN && strspn(s, "0123456789abcdef") >= VOLUME_ID_LEN;
}

static int
idset_add(struct idset *s, const char *id)
{
	int r = array_grow(&s->v, &s->cap, s->n, sizeof(*s->v), 64);

	if (r < 0)
		return r;
	memcpy(s->v[s->n].id, id, VOLUME_ID_LEN);
	s->v[s->n].id[VOLUME_ID_LEN] = '\0';
	s->v[s->n].n = 1;
	s->n++;
	return 0;
}

static int
idcmp(const void *a, const void *b)
{
	return strcmp(((const struct idcount *)a)->id, ((const struct idcount *)b)->id);
}

/* Sort and merge duplicates, counting them. */
static void
idset_finish(struct idset *s)
{
	size_t o = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), idcmp);
	for (size_t i = 1; i < s->n; i++) {
		if (strcmp(s->v[i].id, s->v[o].id) == 0)
			s->v[o].n++;
		else
			s->v[++o] = s->v[i];
	}
	s->n = o + 1;
}

static struct idcount *
idset_find(const struct idset *s, const char *id)
{
	struct idcount key;

	if (s->n == 0)
		return NULL;
	snprintf(key.id, sizeof(key.id), "%s", id);
	return bsearch(&key, s->v, s->n, sizeof(*s->v), idcmp);
}

static int
list_pool(struct store *st, struct idset *headers, struct idset *data,
    uint64_t *count)
{
	rados_list_ctx_t ctx;
	const char *oid;
	int r;

	r = rados_nobjects_list_open(store_ioctx(st), &ctx);
	if (r < 0)
		return r;
	while ((r = rados_nobjects_list_next(ctx, &oid, NULL, NULL)) == 0) {
		(*count)++;
		if (strncmp(oid, CATALOG_HEADER_PREFIX,
		    strlen(CATALOG_HEADER_PREFIX)) == 0) {
			const char *id = oid + strlen(CATALOG_HEADER_PREFIX);
			if (id_ok(id, strlen(id)) && (r = idset_add(headers, id)) < 0)
				break;
		} else if (strncmp(oid, IMAGE_OID_PREFIX,
		    strlen(IMAGE_OID_PREFIX)) == 0) {
			const char *id = oid + strlen(IMAGE_OID_PREFIX);
			const char *dot = strchr(id, '.');
			if (dot && id_ok(id, (size_t)(dot - id)) &&
			    (r = idset_add(data, id)) < 0)
				break;
		}
	}
	rados_nobjects_list_close(ctx);
	if (r == -ENOENT)
		r = 0;
	idset_finish(headers);
	idset_finish(data);
	return r;
}

/* Is id named by any catalogue entry right now? */
static int
id_in_catalog(struct store *st, const char *id)
{
	struct catalog_entry *e;
	size_t n;
	int r, found = 0;

	r = catalog_entries(st, &e, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (!e[i].bad && strcmp(e[i].id, id) == 0)
			found = 1;
	catalog_entries_free(e, n);
	return found;
}

static int
remove_orphan(struct store *st, const char *id, bool header)
{
	char oid[64];
	int r;

	r = id_in_catalog(st, id);
	if (r != 0)
		return r < 0 ? r : -EBUSY;	/* named meanwhile: not an orphan */
	if (header)
		catalog_release_snapshots(st, id, "(orphan)");
	r = image_remove_all(st, id);
	if (r < 0 && r != -ENOENT)
		return r;
	if (header) {
		r = rados_remove(store_ioctx(st), catalog_header_oid(id, oid, sizeof(oid)));
		if (r < 0 && r != -ENOENT)
			return r;
	}
	return 0;
}

struct run {
	struct store	*st;
	bool		 repair;
	void		(*report)(void *, const struct fsck_finding *);
	void		*arg;
	struct fsck_result *res;
};

static void
finding(struct run *run, struct fsck_finding *f)
{
	run->res->found++;
	if (f->repaired == 1)
		run->res->repaired++;
	if (run->report)
		run->report(run->arg, f);
}

static void
emit(void *arg, struct fsck_finding *f)
{
	finding(arg, f);
}

static void
init_finding(struct fsck_finding *f, const char *kind, const char *volume,
    const char *id)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	snprintf(f->volume, sizeof(f->volume), "%s", volume ? volume : "");
	snprintf(f->id, sizeof(f->id), "%s", id ? id : "");
}

static void
check_entry(struct run *run, const struct catalog_entry *e,
    const struct idset *headers, const struct idset *data, unsigned grace)
{
	struct fsck_finding f;
	bool has_header = idset_find(headers, e->id) != NULL;
	struct idcount *d = idset_find(data, e->id);
	int64_t age = (int64_t)time(NULL) - e->created;
	struct volume_meta m;
	int r;

	if (e->bad) {
		init_finding(&f, "bad-entry", e->name, NULL);
		snprintf(f.what, sizeof(f.what), "catalogue entry of volume %s "
		    "cannot be read: %.200s", e->name, e->raw);
		finding(run, &f);
		return;
	}
	switch (e->state) {
	case CATALOG_CREATING:
		if (age < (int64_t)grace) {
			run->res->in_progress++;
			return;
		}
		/* The listing may predate the header: ask again. */
		if (!has_header && catalog_header_read(run->st, e->id, &m) == 0) {
			volume_meta_free(&m);
			has_header = true;
		}
		init_finding(&f, "creating", e->name, e->id);
		f.repairable = true;
		if (has_header)
			snprintf(f.what, sizeof(f.what), "volume %s (id %s): creation "
			    "stopped after its header was written; repair marks it "
			    "ready", e->name, e->id);
		else
			snprintf(f.what, sizeof(f.what), "volume %s (id %s): creation "
			    "stopped before its header was written; repair drops the "
			    "catalogue entry (the volume never existed)", e->name, e->id);
		if (run->repair) {
			r = has_header ? catalog_finish_create(run->st, e) :
			    catalog_drop_entry(run->st, e);
			f.repaired = r == 0 ? 1 : r;
		}
		finding(run, &f);
		return;
	case CATALOG_REMOVING:
		init_finding(&f, "removing", e->name, e->id);
		f.repairable = true;
		snprintf(f.what, sizeof(f.what), "volume %s (id %s): removal stopped "
		    "half way (%s header, %" PRIu64 " data objects left); repair "
		    "finishes it", e->name, e->id, has_header ? "with its" : "no",
		    d ? d->n : 0);
		if (run->repair) {
			r = catalog_finish_remove(run->st, e);
			f.repaired = r == 0 ? 1 : r;
		}
		finding(run, &f);
		return;
	case CATALOG_READY:
		break;
	}
	r = catalog_header_read(run->st, e->id, &m);
	if (r == -ENOENT) {
		init_finding(&f, "missing-header", e->name, e->id);
		snprintf(f.what, sizeof(f.what), "volume %s (id %s) is in the "
		    "catalogue but its header is missing (%" PRIu64 " data objects "
		    "kept); not repaired: its size is unknown", e->name, e->id,
		    d ? d->n : 0);
		finding(run, &f);
		return;
	}
	if (r < 0) {
		init_finding(&f, "bad-header", e->name, e->id);
		snprintf(f.what, sizeof(f.what), "volume %s (id %s): header "
		    "metadata cannot be read: %s", e->name, e->id, strerror(-r));
		finding(run, &f);
		return;
	}
	if (strcmp(m.name, e->name) != 0 || strcmp(m.id, e->id) != 0 ||
	    m.type != e->type) {
		init_finding(&f, "mismatch", e->name, e->id);
		snprintf(f.what, sizeof(f.what), "volume %s (id %s): header says "
		    "name %s, id %s, type %s", e->name, e->id, m.name, m.id,
		    volume_type_name(m.type));
		finding(run, &f);
	}
	fsck_snapshots(run->st, run->repair, &m, emit, run);
	volume_meta_free(&m);
}

int
fsck_run(struct store *st, bool repair, unsigned grace,
    void (*report)(void *arg, const struct fsck_finding *f), void *arg,
    struct fsck_result *res)
{
	struct idset headers = { 0 }, data = { 0 };
	struct catalog_entry *e = NULL;
	struct run run = { st, repair, report, arg, res };
	size_t ne = 0;
	int r;

	memset(res, 0, sizeof(*res));
	r = list_pool(st, &headers, &data, &res->objects);
	if (r < 0) {
		log_err("cannot list pool %s: %s", store_pool(st), strerror(-r));
		goto out_free;
	}
	r = catalog_entries(st, &e, &ne);
	if (r < 0) {
		log_err("cannot read the catalogue in pool %s: %s", store_pool(st),
		    strerror(-r));
		goto out_free;
	}
	res->volumes = (unsigned)ne;
	for (size_t i = 0; i < ne; i++)
		check_entry(&run, &e[i], &headers, &data, grace);

	/* Ids no entry names. Mark the named ones first. */
	for (size_t i = 0; i < ne; i++) {
		struct idcount *h = idset_find(&headers, e[i].id);
		struct idcount *d = idset_find(&data, e[i].id);
		if (!e[i].bad && h)
			h->n = 0;
		if (!e[i].bad && d)
			d->n = 0;
	}
	for (size_t i = 0; i < headers.n; i++) {
		struct fsck_finding f;
		struct volume_meta m;
		struct idcount *d;
		const char *id = headers.v[i].id;

		if (headers.v[i].n == 0)
			continue;
		d = idset_find(&data, id);
		init_finding(&f, "orphan-header", NULL, id);
		r = catalog_header_read(st, id, &m);
		if (r == 0) {
			snprintf(f.volume, sizeof(f.volume), "%s", m.name);
			if ((int64_t)time(NULL) - m.created < (int64_t)grace) {
				volume_meta_free(&m);
				res->in_progress++;
				continue;
			}
			volume_meta_free(&m);
		}
		f.repairable = true;
		snprintf(f.what, sizeof(f.what), "header of id %s%s%s%s is named by "
		    "no catalogue entry (%" PRIu64 " data objects); repair removes "
		    "it and its data", id, f.volume[0] ? " (volume " : "",
		    f.volume, f.volume[0] ? ")" : "", d ? d->n : 0);
		if (d)
			d->n = 0;	/* handled with the header */
		if (repair) {
			r = remove_orphan(st, id, true);
			f.repaired = r == 0 ? 1 : r;
		}
		finding(&run, &f);
	}
	for (size_t i = 0; i < data.n; i++) {
		struct fsck_finding f;
		const char *id = data.v[i].id;

		uint64_t live = 0;

		if (data.v[i].n == 0)
			continue;
		/* Listed but gone: what the snapshots of a removed volume kept,
		 * until the OSDs have trimmed it (they do by themselves). */
		if (image_allocated(st, id, NULL, &live) == 0 && live == 0)
			continue;
		init_finding(&f, "orphan-data", NULL, id);
		f.repairable = true;
		snprintf(f.what, sizeof(f.what), "%" PRIu64 " data objects of id %s "
		    "belong to no header and no catalogue entry; repair removes "
		    "them", data.v[i].n, id);
		if (repair) {
			r = remove_orphan(st, id, false);
			f.repaired = r == 0 ? 1 : r;
		}
		finding(&run, &f);
	}
	r = 0;

out_free:
	catalog_entries_free(e, ne);
	free(headers.v);
	free(data.v);
	return r;
}
