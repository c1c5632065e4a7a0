/*
 * snapshot.c - a block volume's snapshots (store/snapshot.h).
 *
 * The records live in the header's "meta" JSON, member "snapshots", and
 * change only by a replace guarded by the value read (catalog_header_
 * replace), patched as JSON so every other member stays as it was: two
 * changes cannot lose one another, and a resize keeps the snapshots
 * (volume_meta carries them).
 *
 * Order of the steps, so that a crash leaves nothing that matters:
 *  create:   id from the monitors; record (the snapshot exists from here).
 *            A crash between leaves an id no write ever carried: nothing
 *            on the OSDs.
 *  remove:   record marked "removing"; id given back to the monitors (the
 *            OSDs then trim its clones); record dropped. Interrupted, the
 *            next rm of it finishes (giving an id back twice is harmless).
 *  rollback: under the lease, every object of the image rolled back to
 *            the snapshot with the current snapshot context (so newer
 *            snapshots keep their bytes); then the size. Interrupted, the
 *            volume is half rolled back: roll back again.
 *
 * No state, no locking: RADOS ops are the synchronisation, and the lease
 * says who writes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rados/librados.h>

#include "common/config.h"
#include "common/log.h"
#include "common/testhook.h"
#include "store/catalog.h"
#include "store/catalog_header.h"
#include "store/conn.h"
#include "store/image.h"
#include "store/lease.h"
#include "store/snapshot.h"
#include "store/volctl.h"


static json_t *
find_record(json_t *meta, const char *name, size_t *index)
{
	json_t *arr = json_object_get(json_object_get(meta, "snapshots"), "list"), *it;
	size_t i;

	json_array_foreach(arr, i, it) {
		if (json_is_string(json_object_get(it, "name")) &&
		    strcmp(json_string_value(json_object_get(it, "name")), name) == 0) {
			if (index)
				*index = i;
			return it;
		}
	}
	return NULL;
}

/* ---- the holder's side ------------------------------------------------------ */

int
snapshot_alloc_id(struct store *st, uint64_t *id)
{
	rados_snap_t s;
	int r = rados_ioctx_selfmanaged_snap_create(store_ioctx(st), &s);

	if (r == 0)
		*id = s;
	return r;
}

void
snapshot_release_id(struct store *st, uint64_t id)
{
	int r = rados_ioctx_selfmanaged_snap_remove(store_ioctx(st), id);

	if (r < 0 && r != -ENOENT)
		log_warn("cannot give back snapshot id %" PRIu64 ": %s", id,
		    strerror(-r));
}

struct add_arg {
	const char	*name;
	uint64_t	 id;
};

static int
add_record(json_t *meta, void *arg)
{
	struct add_arg *a = arg;
	json_t *snaps = json_object_get(meta, "snapshots"), *list, *rec;
	json_int_t seq = 0, size = 0;

	if (find_record(meta, a->name, NULL) != NULL)
		return -EEXIST;
	if (snaps == NULL) {
		snaps = json_pack("{s:I, s:[]}", "seq", (json_int_t)0, "list");
		if (snaps == NULL || json_object_set_new(meta, "snapshots", snaps) < 0)
			return -ENOMEM;
	}
	list = json_object_get(snaps, "list");
	seq = json_integer_value(json_object_get(snaps, "seq"));
	size = json_integer_value(json_object_get(meta, "size"));
	if (!json_is_array(list))
		return -EINVAL;
	rec = json_pack("{s:s, s:I, s:I, s:I}", "name", a->name, "id",
	    (json_int_t)a->id, "created", (json_int_t)time(NULL), "size", size);
	if (rec == NULL || json_array_append_new(list, rec) < 0)
		return -ENOMEM;
	if ((json_int_t)a->id > seq)
		json_object_set_new(snaps, "seq", json_integer((json_int_t)a->id));
	return 0;
}

int
snapshot_commit(struct store *st, const char *id_hex, const char *name,
    uint64_t id, struct volume_meta *out, char *err, size_t errlen)
{
	struct add_arg a = { name, id };
	int r = catalog_header_update(st, id_hex, add_record, &a, out);

	if (r == -EEXIST)
		snprintf(err, errlen, "a snapshot named %s exists already", name);
	else if (r < 0)
		snprintf(err, errlen, "cannot record snapshot %s in the volume's "
		    "header: %s", name, strerror(-r));
	return r;
}

/* ---- anyone's side ----------------------------------------------------------- */

/* The volume, which must be a block volume with snapshot `snap` present
 * (want_snap) or absent (!want_snap, a valid name). */
static int
volume_for(struct store *st, const char *volume, const char *snap, bool want_snap,
    struct volume_meta *m, struct snapshot *found, char *err, size_t errlen)
{
	struct snapshot *list;
	uint64_t seq;
	size_t n;
	int r;

	r = catalog_get(st, volume, m);
	if (r == -ENOENT) {
		snprintf(err, errlen, "no such volume: %s", volume);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot read volume %s: %s", volume, strerror(-r));
		return r;
	}
	r = -EINVAL;
	if (m->type != VOLUME_BLOCK)
		snprintf(err, errlen, "volume %s is a %s volume: only block volumes "
		    "have snapshots", volume, volume_type_name(m->type));
	else if (m->readonly)
		snprintf(err, errlen, "volume %s is a read-only snapshot volume: it "
		    "has no snapshots of its own", volume);
	else if (!name_valid(snap))
		snprintf(err, errlen, "bad snapshot name '%.64s': %s", snap, NAME_RULE);
	else if ((r = snapshot_records(m, &list, &n, &seq)) < 0)
		snprintf(err, errlen, "the snapshot records of volume %s are "
		    "damaged (its header's \"snapshots\" member)", volume);
	else {
		r = want_snap ? -ENOENT : 0;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(list[i].name, snap) != 0)
				continue;
			r = want_snap ? 0 : -EEXIST;
			if (found)
				*found = list[i];
		}
		free(list);
		if (r == -ENOENT)
			snprintf(err, errlen, "volume %s has no snapshot %s", volume,
			    snap);
		else if (r == -EEXIST)
			snprintf(err, errlen, "volume %s already has a snapshot named "
			    "%s", volume, snap);
	}
	if (r < 0)
		volume_meta_free(m);
	return r;
}

/* Not mounted anywhere: under our own lease, nothing to freeze. -EBUSY
 * when someone took the lease first. */
static int
create_offline(struct store *st, const struct config *cfg, const struct volume_meta *m,
    const char *name, struct snapshot_result *res, char *err, size_t errlen)
{
	struct volume_meta now;
	struct lease *ls;
	char why[1024];
	uint64_t id = 0;
	int r;

	r = lease_acquire(st, m->name, m->id, (unsigned)cfg->volume_lease_seconds,
	    NULL, &ls, why, sizeof(why));
	if (r < 0) {
		if (r != -EBUSY)
			snprintf(err, errlen, "cannot snapshot volume %s: %s", m->name,
			    why);
		return r;
	}
	if ((r = snapshot_alloc_id(st, &id)) < 0)
		snprintf(err, errlen, "cannot snapshot volume %s: the monitors "
		    "gave no snapshot id: %s", m->name, strerror(-r));
	else if ((r = snapshot_commit(st, m->id, name, id, &now, why,
	    sizeof(why))) < 0) {
		snapshot_release_id(st, id);
		snprintf(err, errlen, "cannot snapshot volume %s: %s", m->name, why);
	} else {
		res->id = id;
		volume_meta_free(&now);
	}
	lease_release(ls);
	return r;
}

static int
create_online(struct store *st, const struct volume_meta *m, const char *name,
    unsigned timeout_s, struct snapshot_result *res, char *err, size_t errlen)
{
	struct lease_holder h;
	json_t *req, *reply = NULL;
	const char *e = NULL;
	char why[1024], who[512] = "another host";
	json_int_t id = 0;
	double frozen = 0;
	int froze = 0, r;

	if (lease_holder(st, m->id, &h) == 0)
		lease_holder_describe(&h, who, sizeof(who));
	if ((req = json_pack("{s:s, s:s}", "op", "snapshot", "name", name)) == NULL)
		return -ENOMEM;
	r = volctl_request(st, m->id, req, timeout_s * 1000, &reply, why, sizeof(why));
	json_decref(req);
	if (r == -ENOTCONN) {
		snprintf(err, errlen, "cannot snapshot volume %s: it is in use by %s, "
		    "which does not answer snapshot requests (a cephvol-mount "
		    "older than snapshots, or one that is gone and whose lease "
		    "has not expired yet); no snapshot was made", m->name, who);
		return -EBUSY;
	}
	if (r == -ETIMEDOUT) {
		snprintf(err, errlen, "cannot snapshot volume %s: it is in use by %s: "
		    "%s; if it was about to record the snapshot it may still appear "
		    "('cephvol snapshot ls %s' tells)", m->name, who, why, m->name);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot snapshot volume %s: it is in use by %s: "
		    "%s; no snapshot was made", m->name, who, why);
		return r;
	}
	if (json_unpack(reply, "{s:s}", "err", &e) == 0) {
		snprintf(err, errlen, "cannot snapshot volume %s: %s (said %s)",
		    m->name, e, who);
		r = strstr(e, "exists already") ? -EEXIST : -EIO;
	} else if (json_unpack(reply, "{s:b, s:I, s?:b, s?:F}", "ok", &(int){0},
	    "id", &id, "froze", &froze, "frozen_ms", &frozen) < 0) {
		snprintf(err, errlen, "cannot snapshot volume %s: %s answered "
		    "something else than expected", m->name, who);
		r = -EIO;
	} else {
		res->online = true;
		res->id = (uint64_t)id;
		res->froze = froze;
		res->frozen_ms = frozen;
		snprintf(res->holder, sizeof(res->holder), "%s", who);
	}
	json_decref(reply);
	return r;
}

int
snapshot_create(struct store *st, const struct config *cfg, const char *volume,
    const char *name, unsigned timeout_s, struct snapshot_result *res, char *err,
    size_t errlen)
{
	struct lease_holder h;
	struct volume_meta m;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = volume_for(st, volume, name, false, &m, NULL, err, errlen)) < 0)
		return r;
	/* Nobody, or a holder whose lease expired (gone: taking the lease
	 * fences it, as a mount would): under our own lease. */
	r = lease_holder(st, m.id, &h);
	if (r == -ENOENT || (r == 0 && h.expired))
		r = create_offline(st, cfg, &m, name, res, err, errlen);
	else
		r = -EBUSY;
	if (r == -EBUSY)
		r = create_online(st, &m, name, timeout_s, res, err, errlen);
	volume_meta_free(&m);
	return r;
}

struct mark_arg {
	const char	*name;
	uint64_t	 id;		/* the snapshot meant, not one made since
					 * under the same name */
	bool		 mark;		/* mark removing, or take the mark back */
};

static json_t *
find_this(json_t *meta, const struct mark_arg *a)
{
	json_t *rec = find_record(meta, a->name, NULL);

	if (rec == NULL ||
	    (uint64_t)json_integer_value(json_object_get(rec, "id")) != a->id)
		return NULL;
	return rec;
}

/* Marked "removing" (clones and all: they are checked after the mark), or
 * the mark taken back; refused while a rollback to it runs or broke off. */
static int
mark_removing(json_t *meta, void *arg)
{
	struct mark_arg *a = arg;
	json_t *rec = find_this(meta, a);

	if (rec == NULL)
		return -ENOENT;
	if (!a->mark)
		return json_object_del(rec, "state") == 0 ? 0 : 1;
	if (json_is_true(json_object_get(rec, "rollback")))
		return -EBUSY;
	if (json_is_string(json_object_get(rec, "state")))
		return 1;
	return json_object_set_new(rec, "state", json_string("removing")) < 0 ?
	    -ENOMEM : 0;
}

static int
drop_record(json_t *meta, void *arg)
{
	size_t i;

	if (find_record(meta, arg, &i) == NULL)
		return 1;
	return json_array_remove(json_object_get(json_object_get(meta,
	    "snapshots"), "list"), i) < 0 ? -EINVAL : 0;
}

int
snapshot_remove(struct store *st, const char *volume, const char *name, char *err,
    size_t errlen)
{
	struct volume_meta m;
	struct snapshot s;
	int r;

	struct mark_arg ma = { name, 0, true };
	struct volume_meta now;
	char names[512];
	int n;

	if ((r = volume_for(st, volume, name, true, &m, &s, err, errlen)) < 0)
		return r;
	ma.id = s.id;
	/* Mark first, then look for volumes made from it: one being made
	 * right now either saw the mark (and refused) or is seen here
	 * (store/clone.c makes its entry, then looks for the mark). */
	r = catalog_header_update(st, m.id, mark_removing, &ma, &now);
	if (r == -EBUSY) {
		snprintf(err, errlen, "cannot remove snapshot %s of volume %s: a "
		    "rollback to it is running, or broke off (run the rollback "
		    "again first)", name, volume);
		volume_meta_free(&m);
		return r;
	}
	if (r < 0)
		goto fail;
	n = catalog_live_clones(st, &now, name, names, sizeof(names));
	volume_meta_free(&now);
	if (n != 0) {
		if (n > 0)
			snprintf(err, errlen, "cannot remove snapshot %s of volume %s: "
			    "these volumes were made from it: %s (remove them, or "
			    "'cephvol volume flatten' them, first)", name, volume,
			    names);
		else
			snprintf(err, errlen, "cannot remove snapshot %s of volume %s: "
			    "cannot check the volumes made from it: %s", name, volume,
			    strerror(-n));
		/* Never given back while a volume reads through to it (the
		 * clone check comes before the release), so the mark goes,
		 * also one an interrupted rm left. */
		ma.mark = false;
		if (catalog_header_update(st, m.id, mark_removing, &ma, NULL) < 0)
			log_err("volume=%s: cannot take back the removal mark of "
			    "snapshot %s", volume, name);
		volume_meta_free(&m);
		return n > 0 ? -EBUSY : n;
	}
	testhook_point("snapshot.rm.mark");
	r = rados_ioctx_selfmanaged_snap_remove(store_ioctx(st), s.id);
	if (r < 0 && r != -ENOENT)
		goto fail;
	testhook_point("snapshot.rm.released");
	if ((r = catalog_header_update(st, m.id, drop_record, (void *)name, NULL)) < 0)
		goto fail;
	volume_meta_free(&m);
	return 0;
fail:
	snprintf(err, errlen, "cannot remove snapshot %s of volume %s: %s; run "
	    "'cephvol snapshot rm %s %s' again", name, volume, strerror(-r), volume,
	    name);
	volume_meta_free(&m);
	return r;
}

/* Under the lease, before the objects: the snapshot must still be there
 * and not going, and `snapshot rm` is kept out until end_rollback(). */
static int
begin_rollback(json_t *meta, void *arg)
{
	const struct snapshot *s = arg;
	json_t *rec = find_record(meta, s->name, NULL);

	/* the same snapshot, not one made since under its name */
	if (rec == NULL || json_is_string(json_object_get(rec, "state")) ||
	    (uint64_t)json_integer_value(json_object_get(rec, "id")) != s->id)
		return -ENOENT;
	return json_object_set_new(rec, "rollback", json_true()) < 0 ? -ENOMEM : 0;
}

struct end_arg {
	const char	*name;
	uint64_t	 size;
};

/* The size it had, and rm allowed again. */
static int
end_rollback(json_t *meta, void *arg)
{
	struct end_arg *a = arg;
	json_t *rec = find_record(meta, a->name, NULL);

	if (rec != NULL)
		json_object_del(rec, "rollback");
	return json_object_set_new(meta, "size",
	    json_integer((json_int_t)a->size)) < 0 ? -ENOMEM : 0;
}

static bool
lease_still_valid(void *arg)
{
	return lease_valid(arg);
}

/* Every object of the image back to snapshot s, carrying the context of
 * now (so newer snapshots keep their bytes). */
static int
rollback_objects(struct store *st, struct lease *ls, const struct volume_meta *now,
    const struct snapshot *s, char *err, size_t errlen)
{
	uint64_t seq, *ids, span = now->size > s->size ? now->size : s->size;
	size_t n;
	int r;

	if ((r = snapshot_context(now, &seq, &ids, &n)) < 0) {
		snprintf(err, errlen, "the snapshot records are damaged");
		return r;
	}
	r = image_rollback(st, now->id, (span + now->object_size - 1) / now->object_size,
	    s->id, seq, ids, n, lease_still_valid, ls);
	free(ids);
	if (r == -ENOLCK)
		snprintf(err, errlen, "the lease was lost meanwhile");
	else if (r < 0)
		snprintf(err, errlen, "cannot roll its objects back: %s", strerror(-r));
	return r;
}

int
snapshot_rollback(struct store *st, const struct config *cfg, const char *volume,
    const char *name, char *err, size_t errlen)
{
	struct volume_meta m, now;
	struct snapshot s;
	struct lease *ls;
	char why[1024];
	int r;

	if ((r = volume_for(st, volume, name, true, &m, &s, err, errlen)) < 0)
		return r;
	if (s.removing) {
		snprintf(err, errlen, "snapshot %s of volume %s is being removed",
		    name, volume);
		volume_meta_free(&m);
		return -ENOENT;
	}
	r = lease_acquire(st, volume, m.id, (unsigned)cfg->volume_lease_seconds,
	    NULL, &ls, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "cannot roll back volume %s: %s%s", volume, why,
		    r == -EBUSY ? " (unmount it everywhere first)" : "");
		volume_meta_free(&m);
		return r;
	}
	/* Again under the lease: the snapshot must still be there (a
	 * snapshot rm may have run meanwhile: rolling back to a snapshot
	 * given back would remove every object), and the context must be
	 * the newest. */
	r = catalog_header_update(st, m.id, begin_rollback, &s, &now);
	if (r == -ENOENT)
		snprintf(why, sizeof(why), "the snapshot was removed meanwhile");
	else if (r < 0)
		snprintf(why, sizeof(why), "cannot update its header: %s", strerror(-r));
	else {
		struct end_arg end = { name, s.size };

		r = rollback_objects(st, ls, &now, &s, why, sizeof(why));
		if (r == 0 && (r = catalog_header_update(st, m.id, end_rollback, &end,
		    NULL)) < 0)
			snprintf(why, sizeof(why), "cannot set its size back: %s",
			    strerror(-r));
		volume_meta_free(&now);
	}
	if (r < 0)
		snprintf(err, errlen, "cannot roll back volume %s to %s: %s; it may be "
		    "half rolled back: run the rollback again", volume, name, why);
	lease_release(ls);
	volume_meta_free(&m);
	return r;
}

