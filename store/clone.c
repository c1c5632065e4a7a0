/*
 * clone.c - volumes made from a snapshot (store/clone.h).
 *
 * Making one, in this order, so that a snapshot (or its volume) can never
 * be removed from under a volume that reads through to it:
 *  1. the clone's name is added to the snapshot's record ("clones"),
 *     guarded: refused if the record is gone or being removed;
 *  2. the volume is created (catalog_create) with "parent" in its header;
 *  3. the snapshot's record and its volume's entry are read again: if the
 *     snapshot is now being removed, or its volume is (they check for
 *     clones after marking themselves, we check for the mark after
 *     creating, so one of the two always sees the other), the new volume
 *     is removed again and the create fails.
 * A name counts while that volume (in any state: one being made counts)
 * reads through to this snapshot (catalog_clone_live). Removing a clone,
 * or a refused create, drops its name; a name left behind all the same
 * (a crash) is dead, and fsck drops it; step 3 puts a name fsck took too
 * early back.
 *
 * Flatten: refused while the clone has snapshots of its own (they read
 * through to the parent too); else, under the clone's lease, every object
 * still inherited is copied up (image_flatten); then "parent" goes from
 * its header; then its name from the snapshot's record (if that last step
 * is lost, the name is dead anyway). No state, no locking.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "store/catalog.h"
#include "store/catalog_header.h"
#include "store/clone.h"
#include "store/conn.h"
#include "store/lease.h"
#include "store/snapshot_record.h"

static json_t *
record_of(json_t *meta, const char *snap)
{
	json_t *list = json_object_get(json_object_get(meta, "snapshots"), "list"), *rec;
	size_t i;

	json_array_foreach(list, i, rec) {
		const char *n = json_string_value(json_object_get(rec, "name"));
		if (n != NULL && strcmp(n, snap) == 0)
			return rec;
	}
	return NULL;
}

struct name_arg {
	const char	*snap;
	const char	*clone;
	uint64_t	 id;		/* add: the snapshot meant */
	bool		 added;		/* add: it was not there before */
};

static int
add_clone_name(json_t *meta, void *arg)
{
	struct name_arg *a = arg;
	json_t *rec = record_of(meta, a->snap), *clones, *c;
	size_t i;

	if (rec == NULL || json_is_string(json_object_get(rec, "state")) ||
	    (uint64_t)json_integer_value(json_object_get(rec, "id")) != a->id)
		return -ENOENT;
	if ((clones = json_object_get(rec, "clones")) == NULL) {
		if ((clones = json_array()) == NULL ||
		    json_object_set_new(rec, "clones", clones) < 0)
			return -ENOMEM;
	}
	a->added = false;
	json_array_foreach(clones, i, c)
		if (json_is_string(c) && strcmp(json_string_value(c), a->clone) == 0)
			return 1;	/* there already: a create again */
	a->added = true;
	return json_array_append_new(clones, json_string(a->clone)) < 0 ? -ENOMEM : 0;
}

/* The volume to be made: the snapshot's geometry, want's name and labels. */
static int
made_from(const struct volume_meta *want, const struct volume_meta *pm,
    const struct snapshot *s, const char *pvol, struct volume_meta *child,
    char *err, size_t errlen)
{
	char a[32], b[32];

	if (volume_meta_copy(want, child) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	child->type = VOLUME_BLOCK;
	snprintf(child->fs, sizeof(child->fs), "%s", pm->fs);
	child->object_size = pm->object_size;
	if (!(want->given & VOLUME_OPT_SIZE) || want->readonly)
		child->size = s->size;
	else if (want->size < s->size) {
		snprintf(err, errlen, "cannot make volume %s of %s from %s@%s: the "
		    "snapshot holds %s", want->name, size_format(want->size, a,
		    sizeof(a)), pvol, s->name, size_format(s->size, b, sizeof(b)));
		volume_meta_free(child);
		return -EINVAL;
	}
	child->parent = json_pack("{s:s, s:s, s:s, s:I, s:I}", "volume", pvol, "id",
	    pm->id, "snapshot", s->name, "snap_id", (json_int_t)s->id, "overlap",
	    (json_int_t)s->size);
	if (child->parent == NULL) {
		volume_meta_free(child);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* Step 3: still there, and not going? */
static int
origin_still_there(struct store *st, const struct volume_meta *pm, const char *pvol,
    const struct snapshot *want)
{
	struct volume_meta now;
	struct snapshot s;
	int r;

	if ((r = catalog_get(st, pvol, &now)) < 0)
		return r == -ENOENT ? -ECANCELED : r;
	r = strcmp(now.id, pm->id) != 0 ? -ECANCELED :
	    snapshot_find(&now, want->name, &s) < 0 || s.id != want->id ?
	    -ECANCELED : 0;
	volume_meta_free(&now);
	return r;
}

int
clone_create(struct store *st, const struct volume_meta *want,
    struct volume_meta *out, char *err, size_t errlen)
{
	char pvol[NAME_MAX_LEN + 1], snap[NAME_MAX_LEN + 1], why[512];
	struct volume_meta pm, child;
	struct image_layer *layers = NULL;
	struct snapshot s;
	unsigned depth = 0;
	int r;

	if (!(want->given & (VOLUME_OPT_FROM | VOLUME_OPT_SNAPSHOT)))
		return catalog_create(st, want, out, err, errlen);
	if (!volume_ref_parse(want->origin, pvol, sizeof(pvol), snap, sizeof(snap))) {
		snprintf(err, errlen, "bad snapshot reference '%.80s': expected "
		    "VOLUME@SNAPSHOT", want->origin);
		return -EINVAL;
	}
	if ((r = catalog_get(st, pvol, &pm)) < 0) {
		snprintf(err, errlen, r == -ENOENT ? "cannot make volume %s from "
		    "%s: no such volume: %s" : "cannot make volume %s from %s: "
		    "cannot read volume %s", want->name, want->origin, pvol);
		return r;
	}
	r = -EINVAL;
	if (pm.type != VOLUME_BLOCK)
		snprintf(err, errlen, "cannot make volume %s from %s: volume %s is a "
		    "%s volume, which has no snapshots", want->name, want->origin,
		    pvol, volume_type_name(pm.type));
	else if (pm.readonly)
		snprintf(err, errlen, "cannot make volume %s from %s: volume %s is a "
		    "read-only snapshot volume, which has no snapshots", want->name,
		    want->origin, pvol);
	else if ((r = snapshot_find(&pm, snap, &s)) < 0)
		snprintf(err, errlen, "cannot make volume %s from %s: volume %s has "
		    "no snapshot %s", want->name, want->origin, pvol, snap);
	else if ((r = clone_layers(st, &pm, &layers, &depth, why, sizeof(why))) < 0)
		snprintf(err, errlen, "cannot make volume %s from %s: %s", want->name,
		    want->origin, why);
	else if (depth + 1 > CLONE_MAX_DEPTH) {
		snprintf(err, errlen, "cannot make volume %s from %s: a chain of "
		    "clones is at most %d deep (flatten %s first)", want->name,
		    want->origin, CLONE_MAX_DEPTH, pvol);
		r = -EINVAL;
	}
	clone_layers_free(layers, depth);
	if (r < 0 || (r = made_from(want, &pm, &s, pvol, &child, err, errlen)) < 0) {
		volume_meta_free(&pm);
		return r;
	}

	/* An existing volume of that name: catalog_create compares (a create
	 * again is idempotent) and nothing below may remove it. */
	struct volume_meta existing;
	bool existed = catalog_get(st, want->name, &existing) == 0;
	if (existed)
		volume_meta_free(&existing);

	/* 1. the name on the snapshot's record */
	struct name_arg na = { snap, want->name, s.id, false };
	r = catalog_header_update(st, pm.id, add_clone_name, &na, NULL);
	if (r < 0) {
		snprintf(err, errlen, "cannot make volume %s from %s: %s", want->name,
		    want->origin, r == -ENOENT ? "the snapshot is being removed" :
		    strerror(-r));
		goto out;
	}
	/* 2. the volume (refused: the name goes again, if we added it) */
	if ((r = catalog_create(st, &child, out, err, errlen)) < 0) {
		struct snapshot_clone_ref ref = { snap, want->name };
		if (na.added)
			(void)catalog_header_update(st, pm.id,
			    snapshot_record_drop_clone, &ref, NULL);
		goto out;
	}
	/* 3. its name still on the record (fsck may have taken it for a dead
	 * one before the entry existed), and its origin still there
	 * (-ECANCELED: it is not) */
	r = catalog_header_update(st, pm.id, add_clone_name, &na, NULL);
	if (r == -ENOENT)
		r = -ECANCELED;
	if (r == 0)
		r = origin_still_there(st, &pm, pvol, &s);
	if (r < 0) {
		char rmerr[512];
		volume_meta_free(out);
		if (r == -ECANCELED && !existed &&
		    catalog_remove(st, want->name, rmerr, sizeof(rmerr)) < 0)
			log_err("volume=%s: made from %s, which went meanwhile, and "
			    "cannot be removed again: %s", want->name, want->origin,
			    rmerr);
		if (r == -ECANCELED)
			snprintf(err, errlen, "cannot make volume %s from %s: the "
			    "snapshot or its volume was removed meanwhile", want->name,
			    want->origin);
		else
			snprintf(err, errlen, "cannot make volume %s from %s: cannot "
			    "check that the snapshot is still there: %s (the volume "
			    "was made; remove it if the snapshot is gone)", want->name,
			    want->origin, strerror(-r));
	}
out:
	volume_meta_free(&child);
	volume_meta_free(&pm);
	return r;
}

void
clone_layers_free(struct image_layer *layers, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free((char *)layers[i].id);
	free(layers);
}

int
clone_layers(struct store *st, const struct volume_meta *m,
    struct image_layer **layers, unsigned *n, char *err, size_t errlen)
{
	json_t *parent = m->parent ? json_deep_copy(m->parent) : NULL;
	struct image_layer *l = NULL;
	const char *child = m->name;
	char childbuf[NAME_MAX_LEN + 1];
	unsigned k = 0;
	int r = 0;

	*layers = NULL;
	*n = 0;
	while (parent != NULL) {
		const char *id = json_string_value(json_object_get(parent, "id"));
		const char *pv = json_string_value(json_object_get(parent, "volume"));
		json_int_t snap = json_integer_value(json_object_get(parent, "snap_id"));
		json_int_t overlap = json_integer_value(json_object_get(parent, "overlap"));
		struct volume_meta pm;

		if (id == NULL || snap <= 0 || overlap < 0 || k >= CLONE_MAX_DEPTH) {
			snprintf(err, errlen, "the parent of volume %s is damaged in its "
			    "header", child);
			r = -EINVAL;
			break;
		}
		if ((l = realloc(*layers, (k + 1) * sizeof(*l))) == NULL) {
			r = -ENOMEM;
			break;
		}
		*layers = l;
		l[k] = (struct image_layer){ .id = strdup(id), .snap = (uint64_t)snap,
		    .overlap = (uint64_t)overlap };
		if (l[k].id == NULL) {
			r = -ENOMEM;
			break;
		}
		k++;
		if ((r = catalog_header_read(st, id, &pm)) < 0) {
			snprintf(err, errlen, "volume %s reads through to volume %s (id "
			    "%s), whose header %s", child, pv ? pv : "?", id,
			    r == -ENOENT ? "is gone: what it inherited is lost" :
			    "cannot be read");
			if (r == -ENOENT)
				r = -EIO;
			break;
		}
		snprintf(childbuf, sizeof(childbuf), "%s", pm.name);
		child = childbuf;
		json_decref(parent);
		parent = pm.parent ? json_deep_copy(pm.parent) : NULL;
		volume_meta_free(&pm);
	}
	json_decref(parent);
	if (r < 0) {
		clone_layers_free(*layers, k);
		*layers = NULL;
		return r;
	}
	*n = k;
	return 0;
}

static int
drop_parent(json_t *meta, void *arg)
{
	(void)arg;
	if (json_object_get(meta, "parent") == NULL)
		return 1;
	json_object_del(meta, "parent");
	return 0;
}

int
clone_flatten(struct store *st, const struct config *cfg, const char *name,
    char *err, size_t errlen)
{
	struct image_geometry geom = { 0 };
	struct volume_meta m;
	struct image_layer *layers = NULL;
	struct image *img;
	struct lease *ls;
	unsigned n = 0;
	char why[1024];
	int r;

	if ((r = catalog_get(st, name, &m)) < 0) {
		snprintf(err, errlen, r == -ENOENT ? "no such volume: %s" :
		    "cannot read volume %s", name);
		return r;
	}
	if (m.parent == NULL || m.readonly) {
		snprintf(err, errlen, m.readonly ? "volume %s is a read-only snapshot "
		    "volume: it has no data of its own to flatten into (make a clone "
		    "with -o from= instead)" : "volume %s is not a clone: nothing to "
		    "flatten", name);
		volume_meta_free(&m);
		return -EINVAL;
	}
	r = lease_acquire(st, name, m.id, (unsigned)cfg->volume_lease_seconds, NULL,
	    &ls, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "cannot flatten volume %s: %s%s", name, why,
		    r == -EBUSY ? " (unmount it everywhere first)" : "");
		volume_meta_free(&m);
		return r;
	}
	/* again under the lease: what we copy into must be what it is now */
	snprintf(why, sizeof(why), "%s", m.id);
	volume_meta_free(&m);
	if ((r = catalog_header_read(st, why, &m)) < 0) {
		snprintf(err, errlen, "cannot read volume %s: %s", name, strerror(-r));
		lease_release(ls);
		return r;
	}
	/* Its snapshots read through to the parent too (an object the clone
	 * had not copied up when one was taken): they would lose it. */
	if (json_array_size(json_object_get(m.snapshots, "list")) > 0) {
		snprintf(err, errlen, "cannot flatten volume %s: its snapshots read "
		    "through to %s@%s as well; remove them first (or make a new "
		    "clone of one and flatten that)", name,
		    json_string_value(json_object_get(m.parent, "volume")) ?: "?",
		    json_string_value(json_object_get(m.parent, "snapshot")) ?: "?");
		r = -EBUSY;
		goto out;
	}
	if ((r = clone_layers(st, &m, &layers, &n, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "cannot flatten volume %s: %s", name, why);
		goto out;
	}
	geom.id = m.id;
	geom.size = m.size;
	geom.object_size = m.object_size;
	geom.layers = layers;
	geom.n_layers = n;
	if ((r = image_open(st, &geom, &img)) < 0) {
		snprintf(err, errlen, "cannot open volume %s: %s", name, strerror(-r));
		goto out;
	}
	/* copy-ups are writes: they carry the volume's snapshot context */
	{
		uint64_t seq, *ids;
		size_t nids;
		if ((r = snapshot_context(&m, &seq, &ids, &nids)) == 0) {
			r = image_set_snap_context(img, seq, ids, nids);
			free(ids);
		}
	}
	if (r == 0)
		r = image_flatten(img, NULL, NULL);
	image_close(img);
	if (r < 0) {
		snprintf(err, errlen, "cannot flatten volume %s: copying its parent's "
		    "objects failed: %s (run it again)", name, strerror(-r));
		goto out;
	}
	if ((r = catalog_header_update(st, m.id, drop_parent, NULL, NULL)) < 0) {
		snprintf(err, errlen, "cannot flatten volume %s: its data is copied "
		    "but its header cannot be updated: %s (run it again)", name,
		    strerror(-r));
		goto out;
	}
	{
		const char *pid = json_string_value(json_object_get(m.parent, "id"));
		struct snapshot_clone_ref ref = { json_string_value(json_object_get(
		    m.parent, "snapshot")), name };
		if (pid != NULL && ref.snap != NULL)
			(void)catalog_header_update(st, pid, snapshot_record_drop_clone,
			    &ref, NULL);
	}
out:
	clone_layers_free(layers, n);
	lease_release(ls);
	volume_meta_free(&m);
	return r;
}
