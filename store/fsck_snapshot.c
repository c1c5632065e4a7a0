/*
 * fsck_snapshot.c - what fsck (store/fsck.h) checks of a volume's
 * snapshots and of what it was made from:
 *   snapshot-removing     a snapshot rm stopped half way: repair finishes it
 *   rollback-unfinished   a rollback broke off (the volume is partly rolled
 *                         back): reported; run the rollback again
 *   snapshots-damaged     the header's snapshot records do not parse
 *   clone-name-stale      a snapshot's record names a volume that no longer
 *                         reads through to it: repair drops the name
 *   parent-missing        a clone or read-only snapshot volume whose parent
 *                         (or an ancestor) is gone: what it inherited is
 *                         lost; reported, never repaired
 * No state; no locking (the repairs are the guarded updates of
 * store/snapshot.c and store/catalog_header.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/catalog.h"
#include "store/catalog_header.h"
#include "store/clone.h"
#include "store/fsck.h"
#include "store/snapshot.h"

struct ctx {
	struct store		*st;
	bool			 repair;
	const struct volume_meta *m;
	void			(*emit)(void *, struct fsck_finding *);
	void			*arg;
};

static void
start(struct fsck_finding *f, const char *kind, const struct volume_meta *m)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	snprintf(f->volume, sizeof(f->volume), "%s", m->name);
	snprintf(f->id, sizeof(f->id), "%s", m->id);
}

static void
check_clone_name(const char *snap, uint64_t id, const char *clone, void *arg)
{
	struct ctx *c = arg;
	struct fsck_finding f;

	/* one being made counts as live (its entry is "creating") */
	if (catalog_clone_live(c->st, clone, c->m->id, id) != 0)
		return;
	start(&f, "clone-name-stale", c->m);
	f.repairable = true;
	snprintf(f.what, sizeof(f.what), "snapshot %s of volume %s names volume %s "
	    "as made from it, which no longer reads through to it; repair drops "
	    "the name", snap, c->m->name, clone);
	if (c->repair) {
		struct snapshot_clone_ref a = { snap, clone };
		int r = catalog_header_update(c->st, c->m->id,
		    snapshot_record_drop_clone, &a, NULL);
		f.repaired = r == 0 ? 1 : r;
	}
	c->emit(c->arg, &f);
}

void
fsck_snapshots(struct store *st, bool repair, const struct volume_meta *m,
    void (*emit)(void *arg, struct fsck_finding *f), void *arg)
{
	struct ctx c = { st, repair, m, emit, arg };
	struct image_layer *layers;
	struct snapshot *list;
	struct fsck_finding f;
	unsigned n_layers;
	char why[512];
	uint64_t seq;
	size_t n;
	int r;

	if (m->type != VOLUME_BLOCK)
		return;
	if (clone_layers(st, m, &layers, &n_layers, why, sizeof(why)) == 0)
		clone_layers_free(layers, n_layers);
	else {
		start(&f, "parent-missing", m);
		snprintf(f.what, sizeof(f.what), "%s; not repaired", why);
		emit(arg, &f);
	}
	if (snapshot_records(m, &list, &n, &seq) < 0) {
		start(&f, "snapshots-damaged", m);
		snprintf(f.what, sizeof(f.what), "volume %s: the snapshot records in "
		    "its header do not parse; not repaired", m->name);
		emit(arg, &f);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!list[i].removing)
			continue;
		start(&f, "snapshot-removing", m);
		f.repairable = true;
		snprintf(f.what, sizeof(f.what), "snapshot %s of volume %s: its "
		    "removal stopped half way; repair finishes it", list[i].name,
		    m->name);
		if (repair) {
			r = snapshot_remove(st, m->name, list[i].name, why, sizeof(why));
			f.repaired = r == 0 ? 1 : r;
		}
		emit(arg, &f);
	}
	free(list);
	json_t *rec;
	size_t i;
	json_array_foreach(json_object_get(m->snapshots, "list"), i, rec) {
		if (!json_is_true(json_object_get(rec, "rollback")))
			continue;
		start(&f, "rollback-unfinished", m);
		snprintf(f.what, sizeof(f.what), "volume %s: a rollback to snapshot %s "
		    "broke off (the volume is partly rolled back, and the snapshot "
		    "cannot be removed); run 'cephvol volume rollback %s %s' again",
		    m->name, json_string_value(json_object_get(rec, "name")) ?: "?",
		    m->name, json_string_value(json_object_get(rec, "name")) ?: "?");
		emit(arg, &f);
	}
	snapshot_clone_names(m, NULL, check_clone_name, &c);
}
