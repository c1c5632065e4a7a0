/*
 * catalog.c - which volumes exist: create, get, list, remove and resize a
 * volume over the catalogue object and its header.
 *
 * Objects (configured pool):
 *   cephvol.catalog        omap: name -> {"id","type","created","state"}
 *                          (store/catalog_entry.c: codec, guarded swap)
 *   cephvol.header.<id>    omap "meta": the volume's full metadata (JSON);
 *                          its RADOS lock "cephvol.lease" is the lease
 *                          (store/catalog_header.c)
 *   cephvol.data.<id>.*    the image's objects (store/image.c)
 *
 * Every change touches one object per atomic write op, guarded so that a
 * racer or a crash cannot leave a half-state nobody can explain:
 *
 * create:  1. entry name -> {id, state:creating}, guarded by "name absent"
 *             (omap_cmp with an empty value)             [create.entry]
 *          2. header created exclusively with the options [create.header]
 *             -- this is the one decision point: whoever creates the header
 *             decides the volume's options; everyone else compares to it
 *          3. entry -> ready, guarded by the creating value [create.ready]
 *   A crash after 1 leaves "creating": a re-run of create finishes it with
 *   its own options; fsck drops it (no header) or finishes it (header).
 *   Racing creators all end on the same entry and the same header; every
 *   creator first passes [create.begin], where a test lines them up.
 *
 * remove:  0. take the lease (refused with the holder's name while held)
 *          1. entry -> removing, guarded by its value   [remove.mark]
 *          2. data objects                              [remove.data]
 *          3. header                                    [remove.header]
 *          4. entry, guarded by the removing value
 *   From 1 on the volume is invisible and no lease can be taken on it
 *   (lease.c checks the entry after locking), so a re-run of rm or
 *   fsck --repair finishes steps 2-4 safely.
 *
 * resize:  one guarded write of the header's "meta" (grow only).
 *
 * list:    the entries, then the ready ones' headers, LIST_WINDOW reads in
 *          flight at once [list.headers between the two].
 *
 * The steps in brackets are test points (common/testhook.h).
 * No state in this file; no locking: RADOS ops are the synchronisation.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <rados/librados.h>

#include "common/log.h"
#include "common/testhook.h"
#include "common/util.h"
#include "store/catalog.h"
#include "store/catalog_header.h"
#include "store/conn.h"
#include "store/image.h"
#include "store/lease.h"
#include "store/omap.h"
#include "store/snapshot_record.h"

#define RETRIES			16
#define REMOVE_LOCK_SECONDS	30
#define LIST_WINDOW		128	/* header reads in flight in catalog_list */

static int
new_id(char id[VOLUME_ID_LEN + 1])
{
	unsigned char b[VOLUME_ID_LEN / 2];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -errno;
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(id + 2 * i, 3, "%02x", b[i]);
	return 0;
}

int
catalog_finish_create(struct store *st, const struct catalog_entry *e)
{
	struct volume_meta have;
	struct catalog_entry ready;
	int r;

	r = catalog_header_read(st, e->id, &have);
	if (r < 0)
		return r;
	ready = *e;
	ready.type = have.type;
	ready.created = have.created;
	ready.state = CATALOG_READY;
	volume_meta_free(&have);
	return catalog_entry_swap(st, e->name, e->raw, &ready);
}

int
catalog_drop_entry(struct store *st, const struct catalog_entry *e)
{
	return catalog_entry_swap(st, e->name, e->raw, NULL);
}

void
catalog_release_snapshots(struct store *st, const char *id, const char *name)
{
	struct snapshot *list;
	struct volume_meta m;
	uint64_t seq;
	size_t n;
	int r;

	if ((r = catalog_header_read(st, id, &m)) < 0) {
		if (r != -ENOENT)
			log_warn("volume=%s id=%s: cannot read its header to give its "
			    "snapshot ids back: %s", name, id, strerror(-r));
		return;
	}
	if (snapshot_records(&m, &list, &n, &seq) == 0) {
		for (size_t i = 0; i < n; i++) {
			r = rados_ioctx_selfmanaged_snap_remove(store_ioctx(st),
			    list[i].id);
			if (r < 0 && r != -ENOENT)
				log_warn("volume=%s: cannot give back snapshot id %"
				    PRIu64 ": %s", name, list[i].id, strerror(-r));
		}
		free(list);
	}
	volume_meta_free(&m);
}

struct live_arg {
	struct store		*st;
	const char		*parent_id;
	char			*buf;
	size_t			 len;
	int			 n;
	int			 err;
};

int
catalog_clone_live(struct store *st, const char *clone, const char *parent_id,
    uint64_t snap_id)
{
	struct catalog_entry e;
	struct volume_meta c;
	int live = 1, r;

	if ((r = catalog_entry_get(st, clone, &e)) < 0)
		return r == -ENOENT ? 0 : r;
	if (!e.bad && catalog_header_read(st, e.id, &c) == 0) {
		live = c.parent != NULL &&
		    strcmp(json_string_value(json_object_get(c.parent, "id")) ?: "",
		    parent_id) == 0 &&
		    (uint64_t)json_integer_value(json_object_get(c.parent, "snap_id")) ==
		    snap_id;
		volume_meta_free(&c);
	}
	catalog_entry_clear(&e);
	return live;
}

static void
live_one(const char *snap, uint64_t id, const char *clone, void *arg)
{
	struct live_arg *a = arg;
	int r = catalog_clone_live(a->st, clone, a->parent_id, id);

	(void)snap;
	if (r < 0 && a->err == 0)
		a->err = r;
	if (r > 0) {
		size_t used = strlen(a->buf);
		snprintf(a->buf + used, a->len - used, "%s%s", a->n ? ", " : "", clone);
		a->n++;
	}
}

int
catalog_live_clones(struct store *st, const struct volume_meta *m, const char *snap,
    char *buf, size_t len)
{
	struct live_arg a = { st, m->id, buf, len, 0, 0 };

	if (len > 0)
		buf[0] = '\0';
	snapshot_clone_names(m, snap, live_one, &a);
	return a.err < 0 ? a.err : a.n;
}

static int refuse_with_clones(struct store *st, const struct catalog_entry *e,
    char *err, size_t errlen);

int
catalog_finish_remove(struct store *st, const struct catalog_entry *e)
{
	char oid[64], why[1024], parent_id[VOLUME_ID_LEN + 1] = "";
	char parent_snap[NAME_MAX_LEN + 1] = "";
	struct snapshot_clone_ref dp = { parent_snap, e->name };
	struct volume_meta m;
	int r;

	if (e->state != CATALOG_REMOVING)
		return -EINVAL;
	/* A removal that stopped between its mark and its check for clones
	 * (or whose entry could not be put back): never finish one that
	 * volumes still read through to. */
	if ((r = refuse_with_clones(st, e, why, sizeof(why))) < 0) {
		struct catalog_entry back = *e;
		back.state = CATALOG_READY;
		if (r == -EBUSY && catalog_entry_swap(st, e->name, e->raw, &back) == 0)
			log_err("volume=%s: its removal is undone (entry ready again): "
			    "%s", e->name, why);
		else
			log_err("volume=%s: not removed: %s", e->name, why);
		return r;
	}
	catalog_release_snapshots(st, e->id, e->name);
	if (catalog_header_read(st, e->id, &m) == 0) {
		const char *pid = json_string_value(json_object_get(m.parent, "id"));
		const char *ps = json_string_value(json_object_get(m.parent, "snapshot"));
		if (pid && ps && strlen(pid) < sizeof(parent_id)) {
			snprintf(parent_id, sizeof(parent_id), "%s", pid);
			snprintf(parent_snap, sizeof(parent_snap), "%s", ps);
		}
		volume_meta_free(&m);
	}
	r = image_remove_all(st, e->id);
	if (r < 0 && r != -ENOENT) {
		log_err("cannot remove data objects of volume=%s id=%s: %s",
		    e->name, e->id, strerror(-r));
		return r;
	}
	testhook_point("remove.data");
	r = rados_remove(store_ioctx(st), catalog_header_oid(e->id, oid, sizeof(oid)));
	if (r < 0 && r != -ENOENT) {
		log_err("cannot remove header %s of volume=%s: %s", oid, e->name,
		    strerror(-r));
		return r;
	}
	testhook_point("remove.header");
	r = catalog_entry_swap(st, e->name, e->raw, NULL);
	/* made from a snapshot: its name goes from that snapshot's record
	 * (if this is lost, fsck finds the name dead and drops it) */
	if (r == 0 && parent_id[0] != '\0')
		(void)catalog_header_update(st, parent_id, snapshot_record_drop_clone,
		    &dp, NULL);
	if (r == -ECANCELED) {
		/* Someone finished it first (a concurrent rm or fsck). */
		struct catalog_entry now;
		if (catalog_entry_get(st, e->name, &now) == -ENOENT)
			return 0;
		catalog_entry_clear(&now);
	}
	return r;
}

int
catalog_create(struct store *st, const struct volume_meta *want,
    struct volume_meta *out, char *err, size_t errlen)
{
	struct catalog_entry e;
	int r = -EAGAIN;

	testhook_point("create.begin");
	for (int attempt = 0; attempt < RETRIES; attempt++) {
		struct volume_meta have, mine;
		bool created_header = false;

		r = catalog_entry_get(st, want->name, &e);
		if (r == -ENOENT) {
			memset(&e, 0, sizeof(e));
			snprintf(e.name, sizeof(e.name), "%s", want->name);
			if ((r = new_id(e.id)) < 0) {
				snprintf(err, errlen, "cannot make a volume id: %s",
				    strerror(-r));
				return r;
			}
			e.type = want->type;
			e.created = (int64_t)time(NULL);
			e.state = CATALOG_CREATING;
			r = catalog_entry_swap(st, want->name, NULL, &e);
			if (r == -ECANCELED) {
				log_debug("volume=%s: another creator's entry came "
				    "first; reading it", want->name);
				continue;
			}
			if (r < 0) {
				snprintf(err, errlen, "cannot add volume %s to the "
				    "catalogue %s in pool %s: %s", want->name,
				    CATALOG_OID, store_pool(st), strerror(-r));
				return r;
			}
			testhook_point("create.entry");
			if ((e.raw = catalog_entry_encode(&e)) == NULL)
				return -ENOMEM;
		} else if (r < 0) {
			snprintf(err, errlen, "cannot read the catalogue %s in pool "
			    "%s: %s", CATALOG_OID, store_pool(st), strerror(-r));
			return r;
		}
		if (e.bad) {
			snprintf(err, errlen, "catalogue entry of volume %s is "
			    "damaged (%.100s); run 'cephvol fsck'", e.name, e.raw);
			catalog_entry_clear(&e);
			return -EIO;
		}
		if (e.state == CATALOG_REMOVING) {
			snprintf(err, errlen, "volume %s is being removed; finish "
			    "with 'cephvol volume rm %s' (or 'cephvol fsck --repair'), "
			    "then create it again", e.name, e.name);
			catalog_entry_clear(&e);
			return -EBUSY;
		}
		if (e.state == CATALOG_CREATING) {
			if ((r = volume_meta_copy(want, &mine)) < 0) {
				catalog_entry_clear(&e);
				return r;
			}
			snprintf(mine.id, sizeof(mine.id), "%s", e.id);
			mine.created = (int64_t)time(NULL);
			r = catalog_header_create(st, &mine);
			volume_meta_free(&mine);
			if (r == 0) {
				created_header = true;
				testhook_point("create.header");
			} else if (r == -EEXIST)
				log_debug("volume=%s id=%s: header made by another "
				    "creator; comparing with it", e.name, e.id);
			else {
				snprintf(err, errlen, "cannot create header of volume "
				    "%s in pool %s: %s", e.name, store_pool(st),
				    strerror(-r));
				catalog_entry_clear(&e);
				return r;
			}
			r = catalog_finish_create(st, &e);
			if (r == -ECANCELED || r == -ENOENT) {
				struct catalog_entry now;
				bool ours = false;
				if (catalog_entry_get(st, e.name, &now) == 0) {
					ours = !now.bad && strcmp(now.id, e.id) == 0;
					catalog_entry_clear(&now);
				}
				if (!ours && created_header) {
					/* fsck dropped our entry meanwhile: our
					 * header is an orphan; take it back. */
					char oid[64];
					rados_remove(store_ioctx(st), catalog_header_oid(
					    e.id, oid, sizeof(oid)));
				}
				catalog_entry_clear(&e);
				continue;
			}
			if (r < 0) {
				snprintf(err, errlen, "cannot finish creating volume %s: "
				    "%s", e.name, strerror(-r));
				catalog_entry_clear(&e);
				return r;
			}
			testhook_point("create.ready");
		}
		/* Ready (now or before): the header is the truth. */
		r = catalog_header_read(st, e.id, &have);
		if (r < 0) {
			snprintf(err, errlen, "volume %s is in the catalogue (id %s) "
			    "but its header %s%s cannot be read: %s; run 'cephvol "
			    "fsck'", e.name, e.id, CATALOG_HEADER_PREFIX, e.id, strerror(-r));
			catalog_entry_clear(&e);
			return r == -ENOENT ? -EIO : r;
		}
		catalog_entry_clear(&e);
		if (!volume_meta_matches(&have, want, err, errlen)) {
			volume_meta_free(&have);
			return -EEXIST;
		}
		if (out)
			*out = have;
		else
			volume_meta_free(&have);
		return 0;
	}
	snprintf(err, errlen, "cannot create volume %s: the catalogue kept "
	    "changing under us (%d attempts)", want->name, RETRIES);
	return r < 0 ? r : -EAGAIN;
}

int
catalog_get(struct store *st, const char *name, struct volume_meta *out)
{
	struct catalog_entry e;
	int r;

	if (!name_valid(name))
		return -ENOENT;
	r = catalog_entry_get(st, name, &e);
	if (r < 0)
		return r;
	if (e.bad || e.state != CATALOG_READY) {
		catalog_entry_clear(&e);
		return -ENOENT;
	}
	r = catalog_header_read(st, e.id, out);
	if (r < 0) {
		log_err("volume=%s id=%s is in the catalogue but its header cannot "
		    "be read: %s (run cephvol fsck)", name, e.id, strerror(-r));
		r = -EIO;
	}
	catalog_entry_clear(&e);
	return r;
}

/* Read many headers at once: one aio read op per header. */
struct header_read {
	rados_read_op_t		 op;
	rados_completion_t	 c;
	rados_omap_iter_t	 it;
	int			 prval;
};

/*
 * A header that could not be read because a remove got there between our
 * catalogue read and the header read: the entry is no longer that ready
 * volume. Not damage, so no "run fsck"; the volume is simply not listed.
 */
static bool
list_gone(struct store *st, const struct catalog_entry *was)
{
	struct catalog_entry now;
	bool gone;
	int r;

	r = catalog_entry_get(st, was->name, &now);
	if (r < 0)
		gone = r == -ENOENT;
	else {
		gone = !now.bad && (now.state != CATALOG_READY ||
		    strcmp(now.id, was->id) != 0);
		catalog_entry_clear(&now);
	}
	if (gone)
		log_debug("volume=%s id=%s removed while being listed", was->name,
		    was->id);
	return gone;
}

/* Read the headers of e[base..lim) at once, appending to v. */
static void
list_window(struct store *st, const struct catalog_entry *e,
    struct header_read *hr, size_t base, size_t lim, struct volume_meta *v,
    size_t *cnt)
{
	for (size_t i = base; i < lim; i++) {
		char oid[64];
		const char *keys[] = { CATALOG_HEADER_META };

		if (e[i].bad || e[i].state != CATALOG_READY)
			continue;
		hr[i].op = rados_create_read_op();
		rados_read_op_omap_get_vals_by_keys(hr[i].op, keys, 1, &hr[i].it,
		    &hr[i].prval);
		if (rados_aio_create_completion2(NULL, NULL, &hr[i].c) < 0 ||
		    rados_aio_read_op_operate(hr[i].op, store_ioctx(st), hr[i].c,
		    catalog_header_oid(e[i].id, oid, sizeof(oid)), 0) < 0) {
			if (hr[i].c)
				rados_aio_release(hr[i].c);
			hr[i].c = NULL;
		}
	}
	for (size_t i = base; i < lim; i++) {
		char *k = NULL, *val = NULL;
		size_t len = 0;

		if (hr[i].op == NULL)
			continue;
		if (hr[i].c) {
			rados_aio_wait_for_complete(hr[i].c);
			int rr = rados_aio_get_return_value(hr[i].c);
			if (rr == 0 && hr[i].prval == 0 &&
			    rados_omap_get_next(hr[i].it, &k, &val, &len) == 0 && k) {
				char *raw = omap_value_dup(val, len);
				if (raw && catalog_header_decode(raw, &v[*cnt]) == 0)
					(*cnt)++;
				else
					log_warn("volume=%s id=%s: header metadata "
					    "unreadable (run cephvol fsck)",
					    e[i].name, e[i].id);
				free(raw);
			} else if (!list_gone(st, &e[i]))
				log_warn("volume=%s id=%s: header missing or "
				    "unreadable (run cephvol fsck)", e[i].name,
				    e[i].id);
			rados_aio_release(hr[i].c);
		}
		if (hr[i].it)
			rados_omap_get_end(hr[i].it);
		rados_release_read_op(hr[i].op);
	}
}

int
catalog_list(struct store *st, struct volume_meta **out, size_t *n)
{
	struct catalog_entry *e;
	struct volume_meta *v;
	struct header_read *hr;
	size_t ne, cnt = 0;
	int r;

	r = catalog_entries(st, &e, &ne);
	if (r < 0)
		return r;
	testhook_point("list.headers");
	v = calloc(ne ? ne : 1, sizeof(*v));
	hr = calloc(ne ? ne : 1, sizeof(*hr));
	if (v == NULL || hr == NULL) {
		free(v);
		free(hr);
		catalog_entries_free(e, ne);
		return -ENOMEM;
	}
	for (size_t base = 0; base < ne; base += LIST_WINDOW)
		list_window(st, e, hr, base, base + LIST_WINDOW < ne ?
		    base + LIST_WINDOW : ne, v, &cnt);
	free(hr);
	catalog_entries_free(e, ne);
	*out = v;
	*n = cnt;
	return 0;
}

/* A volume whose snapshots have clones cannot go: they read through to it. */
static int
refuse_with_clones(struct store *st, const struct catalog_entry *e, char *err,
    size_t errlen)
{
	struct volume_meta m;
	char names[512];
	int n;

	if ((n = catalog_header_read(st, e->id, &m)) < 0) {
		if (n == -ENOENT)
			return 0;	/* no header, no snapshots */
		snprintf(err, errlen, "cannot remove volume %s: cannot read its "
		    "header to check for volumes made from its snapshots: %s",
		    e->name, strerror(-n));
		return n;
	}
	n = catalog_live_clones(st, &m, NULL, names, sizeof(names));
	volume_meta_free(&m);
	if (n > 0) {
		snprintf(err, errlen, "cannot remove volume %s: volumes made from its "
		    "snapshots read through to it: %s (remove them, or 'cephvol "
		    "volume flatten' them, first)", e->name, names);
		return -EBUSY;
	}
	if (n < 0) {
		snprintf(err, errlen, "cannot remove volume %s: cannot check the "
		    "volumes made from its snapshots: %s", e->name, strerror(-n));
		return n;
	}
	return 0;
}

int
catalog_remove(struct store *st, const char *name, char *err, size_t errlen)
{
	struct catalog_entry e;
	struct lease *ls = NULL;
	char why[512];
	int r;

	if (!name_valid(name)) {
		snprintf(err, errlen, "no such volume: %s (%s)", name, NAME_RULE);
		return -ENOENT;
	}
	r = catalog_entry_get(st, name, &e);
	if (r == -ENOENT) {
		snprintf(err, errlen, "no such volume: %s", name);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot read the catalogue %s in pool %s: %s",
		    CATALOG_OID, store_pool(st), strerror(-r));
		return r;
	}
	if (e.bad) {
		snprintf(err, errlen, "catalogue entry of volume %s is damaged "
		    "(%.100s); run 'cephvol fsck'", name, e.raw);
		catalog_entry_clear(&e);
		return -EIO;
	}
	if (e.state == CATALOG_CREATING) {
		/* Never finished: no one can hold it. Drop it, or mark it
		 * removing if a header was made, and go on as for a volume. */
		struct volume_meta have;
		r = catalog_header_read(st, e.id, &have);
		if (r == -ENOENT) {
			r = catalog_drop_entry(st, &e);
			catalog_entry_clear(&e);
			if (r < 0)
				snprintf(err, errlen, "cannot remove volume %s: "
				    "the catalogue changed meanwhile (%s); retry",
				    name, strerror(-r));
			return r;
		}
		if (r == 0)
			volume_meta_free(&have);
	}
	if (e.state != CATALOG_REMOVING) {
		struct catalog_entry rm;

		if (e.state == CATALOG_READY &&
		    (r = refuse_with_clones(st, &e, err, errlen)) < 0) {
			catalog_entry_clear(&e);
			return r;
		}
		if (e.state == CATALOG_READY) {
			r = lease_acquire(st, name, e.id, REMOVE_LOCK_SECONDS, NULL,
			    &ls, why, sizeof(why));
			if (r < 0) {
				snprintf(err, errlen, "cannot remove volume %s: %s",
				    name, why);
				catalog_entry_clear(&e);
				return r;
			}
		}
		rm = e;
		rm.state = CATALOG_REMOVING;
		r = catalog_entry_swap(st, name, e.raw, &rm);
		if (r < 0) {
			snprintf(err, errlen, "cannot remove volume %s: %s", name,
			    r == -ECANCELED ? "the catalogue entry changed meanwhile; "
			    "retry" : strerror(-r));
			if (ls)
				lease_release(ls);
			catalog_entry_clear(&e);
			return r;
		}
		testhook_point("remove.mark");
		/* A clone made meanwhile (store/clone.c checks for this mark
		 * after it made one, we check for clones after marking, so
		 * one of the two sees the other): put the entry back. */
		if (e.state == CATALOG_READY &&
		    (r = refuse_with_clones(st, &e, err, errlen)) < 0) {
			char *marked = catalog_entry_encode(&rm);
			if (marked == NULL || catalog_entry_swap(st, name, marked, &e) < 0)
				log_err("volume=%s: cannot put its catalogue entry back "
				    "to ready after a refused removal; 'cephvol volume "
				    "rm' it again once its clones are gone", name);
			free(marked);
			if (ls)
				lease_release(ls);
			catalog_entry_clear(&e);
			return r;
		}
		/* Marked: no lease can be taken on it any more (lease.c checks
		 * the entry), so ours has done its work. Let go now, before
		 * the header and its lock go away under the renewer. */
		if (ls)
			lease_release(ls);
		ls = NULL;
		catalog_entry_clear(&e);
		if ((r = catalog_entry_get(st, name, &e)) < 0) {
			if (r == -ENOENT)	/* finished by someone else */
				return 0;
			snprintf(err, errlen, "cannot read the catalogue: %s",
			    strerror(-r));
			return r;
		}
	}
	r = catalog_finish_remove(st, &e);
	if (r < 0)
		snprintf(err, errlen, "cannot finish removing volume %s (id %s): "
		    "%s; re-run 'cephvol volume rm %s' or 'cephvol fsck --repair'",
		    name, e.id, strerror(-r), name);
	catalog_entry_clear(&e);
	return r;
}

struct limits_arg {
	json_t		*changes;
	struct volume_qos now;
	char		*err;
	size_t		 errlen;
};

static int
apply_limits(json_t *meta, void *arg)
{
	struct limits_arg *a = arg;
	struct volume_meta m;
	const char *k;
	json_t *v, *q;
	int r;

	if (volume_meta_from_json(meta, &m) < 0) {
		snprintf(a->err, a->errlen, "its header cannot be read");
		return -EIO;
	}
	a->now = m.qos;
	r = m.type != VOLUME_BLOCK || m.readonly ? -EINVAL : 0;
	if (r < 0)
		snprintf(a->err, a->errlen, "only a writable block volume has I/O "
		    "limits (this is a %s)", m.readonly ? "read-only snapshot volume" :
		    "secrets volume");
	volume_meta_free(&m);
	if (r < 0)
		return r;
	json_object_foreach(a->changes, k, v) {
		if (!json_is_string(v)) {
			snprintf(a->err, a->errlen, "the value of %s must be a string", k);
			return -EINVAL;
		}
		if ((r = volume_qos_set(&a->now, k, json_string_value(v), true, a->err,
		    a->errlen)) < 0)
			return -EINVAL;
	}
	if ((q = volume_qos_json(&a->now)) == NULL)
		return -ENOMEM;
	if (json_object_size(q) == 0) {
		json_decref(q);
		json_object_del(meta, "qos");
		return 0;
	}
	return json_object_set_new(meta, "qos", q) < 0 ? -ENOMEM : 0;
}

int
catalog_set_limits(struct store *st, const char *name, json_t *changes,
    struct volume_qos *out, char *err, size_t errlen)
{
	struct limits_arg a = { changes, { 0 }, err, errlen };
	struct catalog_entry e;
	char why[512] = "";
	int r;

	a.err = why;
	a.errlen = sizeof(why);
	if ((r = catalog_entry_get(st, name, &e)) < 0 || e.bad ||
	    e.state != CATALOG_READY) {
		if (r == 0)
			catalog_entry_clear(&e);
		snprintf(err, errlen, "no such volume: %s", name);
		return -ENOENT;
	}
	r = catalog_header_update(st, e.id, apply_limits, &a, NULL);
	catalog_entry_clear(&e);
	if (r < 0) {
		snprintf(err, errlen, "cannot set the limits of volume %s: %s", name,
		    why[0] ? why : strerror(-r));
		return r;
	}
	if (out)
		*out = a.now;
	return 0;
}

int
catalog_resize(struct store *st, const char *name, uint64_t new_size,
    char *err, size_t errlen)
{
	char a[32], b[32];
	int r = -EAGAIN;

	for (int attempt = 0; attempt < RETRIES; attempt++) {
		struct catalog_entry e;
		struct volume_meta m;
		char *raw, *nraw;

		r = catalog_entry_get(st, name, &e);
		if (r == 0 && (e.bad || e.state != CATALOG_READY)) {
			catalog_entry_clear(&e);
			r = -ENOENT;
		}
		if (r < 0) {
			snprintf(err, errlen, r == -ENOENT ? "no such volume: %s" :
			    "cannot read the catalogue for volume %s", name);
			return r;
		}
		r = catalog_header_read_raw(st, e.id, &raw);
		if (r < 0 || (r = catalog_header_decode(raw, &m)) < 0) {
			snprintf(err, errlen, "cannot read header of volume %s: %s; "
			    "run 'cephvol fsck'", name, strerror(-r));
			if (r != -ENOENT)
				free(raw);
			catalog_entry_clear(&e);
			return r == -ENOENT ? -EIO : r;
		}
		catalog_entry_clear(&e);
		if (m.type != VOLUME_BLOCK) {
			snprintf(err, errlen, "cannot resize volume %s: a secrets "
			    "volume has no size", name);
			r = -EINVAL;
		} else if (m.readonly) {
			snprintf(err, errlen, "cannot resize volume %s: it is a "
			    "read-only snapshot volume", name);
			r = -EINVAL;
		} else if (new_size < m.size) {
			snprintf(err, errlen, "cannot shrink volume %s from %s to %s: "
			    "the filesystem on it may use every block up to its "
			    "end, so shrinking could destroy data; create a smaller "
			    "volume and copy the files instead", name,
			    size_format(m.size, a, sizeof(a)),
			    size_format(new_size, b, sizeof(b)));
			r = -EINVAL;
		} else if (new_size > VOLUME_MAX_SIZE || new_size % 4096 != 0) {
			snprintf(err, errlen, "cannot resize volume %s to %s: a size "
			    "must be a multiple of 4K and at most 1P", name,
			    size_format(new_size, b, sizeof(b)));
			r = -EINVAL;
		} else if (new_size == m.size)
			r = 0;
		else
			r = 1;
		if (r <= 0) {
			volume_meta_free(&m);
			free(raw);
			return r;
		}
		m.size = new_size;
		nraw = catalog_header_encode(&m);
		if (nraw == NULL) {
			volume_meta_free(&m);
			free(raw);
			return -ENOMEM;
		}
		r = catalog_header_replace(st, m.id, raw, nraw);
		volume_meta_free(&m);
		free(raw);
		free(nraw);
		if (r == -ECANCELED)
			continue;
		if (r < 0)
			snprintf(err, errlen, "cannot resize volume %s: %s", name,
			    strerror(-r));
		return r;
	}
	snprintf(err, errlen, "cannot resize volume %s: its header kept changing",
	    name);
	return r;
}
