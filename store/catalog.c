/*
 * catalog.c - which volumes exist: the catalogue object and volume headers.
 *
 * Objects (configured pool):
 *   cephvol.catalog        omap: name -> {"id","type","created","state"}
 *   cephvol.header.<id>    omap "meta": the volume's full metadata (JSON);
 *                          its RADOS lock "cephvol.lease" is the lease
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
 *   Racing creators all end on the same entry and the same header.
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
 * No state in this file; no locking: RADOS ops are the synchronisation.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <rados/librados.h>

#include "common/log.h"
#include "common/testhook.h"
#include "common/util.h"
#include "store/catalog.h"
#include "store/conn.h"
#include "store/image.h"
#include "store/lease.h"
#include "store/omap.h"

#define CATALOG_OID		"cephvol.catalog"
#define HEADER_PREFIX		"cephvol.header."
#define META_KEY		"meta"
#define RETRIES			16
#define REMOVE_LOCK_SECONDS	30
#define LIST_WINDOW		128	/* header reads in flight in catalog_list */

const char *
catalog_header_oid(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, HEADER_PREFIX "%s", id);
	return buf;
}

const char *
catalog_state_name(enum catalog_state s)
{
	switch (s) {
	case CATALOG_CREATING:
		return "creating";
	case CATALOG_REMOVING:
		return "removing";
	default:
		return "ready";
	}
}

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

/* The stored value of an entry (new, malloc'd). */
static char *
entry_encode(const struct catalog_entry *e)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "id", e->id, "type",
	    volume_type_name(e->type), "created", (json_int_t)e->created,
	    "state", catalog_state_name(e->state));
	char *s;

	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/* Fill e from name and raw value (steals raw). A bad value sets e->bad. */
static void
entry_decode(const char *name, char *raw, struct catalog_entry *e)
{
	const char *id = "", *type = "block", *state = "ready";
	json_int_t created = 0;
	json_t *j;

	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->raw = raw;
	j = json_loads(raw, 0, NULL);
	if (j == NULL || json_unpack(j, "{s:s, s?:s, s?:I, s?:s}", "id", &id,
	    "type", &type, "created", &created, "state", &state) < 0 ||
	    strlen(id) != VOLUME_ID_LEN ||
	    strspn(id, "0123456789abcdef") != VOLUME_ID_LEN || !name_valid(name))
		e->bad = true;
	else {
		snprintf(e->id, sizeof(e->id), "%s", id);
		e->type = strcmp(type, "secrets") == 0 ? VOLUME_SECRETS : VOLUME_BLOCK;
		e->created = created;
		if (strcmp(state, "creating") == 0)
			e->state = CATALOG_CREATING;
		else if (strcmp(state, "removing") == 0)
			e->state = CATALOG_REMOVING;
		else if (strcmp(state, "ready") == 0)
			e->state = CATALOG_READY;
		else
			e->bad = true;
	}
	json_decref(j);
}

int
catalog_entry_get(struct store *st, const char *name, struct catalog_entry *out)
{
	char *raw;
	int r;

	r = omap_get(st, CATALOG_OID, name, &raw, NULL);
	if (r < 0)
		return r;
	entry_decode(name, raw, out);
	return 0;
}

int
catalog_entries(struct store *st, struct catalog_entry **out, size_t *n)
{
	struct catalog_entry *v = NULL;
	size_t cnt = 0, cap = 0;
	char after[NAME_MAX_LEN + 1] = "";
	unsigned char more = 1;
	int r = 0;

	while (more) {
		rados_read_op_t op = rados_create_read_op();
		rados_omap_iter_t it = NULL;
		int prval = 0;

		more = 0;
		rados_read_op_omap_get_vals2(op, after, "", 1000, &it, &more, &prval);
		r = rados_read_op_operate(op, store_ioctx(st), CATALOG_OID, 0);
		if (r == 0 && prval < 0)
			r = prval;
		if (r == 0) {
			char *k, *val;
			size_t len;
			while (rados_omap_get_next(it, &k, &val, &len) == 0 && k) {
				if (cnt == cap) {
					cap = cap ? cap * 2 : 16;
					void *nv = realloc(v, cap * sizeof(*v));
					if (nv == NULL) {
						r = -ENOMEM;
						break;
					}
					v = nv;
				}
				char *raw = omap_value_dup(val, len);
				if (raw == NULL) {
					r = -ENOMEM;
					break;
				}
				entry_decode(k, raw, &v[cnt++]);
				snprintf(after, sizeof(after), "%s", k);
			}
		}
		if (it)
			rados_omap_get_end(it);
		rados_release_read_op(op);
		if (r == -ENOENT) {	/* no catalogue yet: no volumes */
			r = 0;
			break;
		}
		if (r < 0)
			break;
	}
	if (r < 0) {
		catalog_entries_free(v, cnt);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

void
catalog_entries_free(struct catalog_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].raw);
	free(e);
}

static int
header_read_raw(struct store *st, const char *id, char **raw)
{
	char oid[64];

	return omap_get(st, catalog_header_oid(id, oid, sizeof(oid)), META_KEY, raw,
	    NULL);
}

static int
meta_decode(const char *raw, struct volume_meta *out)
{
	json_t *j = json_loads(raw, 0, NULL);
	int r;

	if (j == NULL)
		return -EINVAL;
	r = volume_meta_from_json(j, out);
	json_decref(j);
	return r;
}

int
catalog_header_read(struct store *st, const char *id, struct volume_meta *out)
{
	char *raw;
	int r;

	r = header_read_raw(st, id, &raw);
	if (r < 0)
		return r;
	r = meta_decode(raw, out);
	free(raw);
	return r;
}

/* Create the header exclusively with m. -EEXIST if it exists. */
static int
header_create(struct store *st, const struct volume_meta *m)
{
	rados_write_op_t op;
	char oid[64], *raw;
	json_t *j = volume_meta_json(m);
	int r;

	if (j == NULL)
		return -ENOMEM;
	raw = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (raw == NULL)
		return -ENOMEM;
	const char *keys[] = { META_KEY };
	const char *vals[] = { raw };
	size_t lens[] = { strlen(raw) };
	op = rados_create_write_op();
	rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
	rados_write_op_omap_set(op, keys, vals, lens, 1);
	r = rados_write_op_operate(op, store_ioctx(st),
	    catalog_header_oid(m->id, oid, sizeof(oid)), NULL, 0);
	rados_release_write_op(op);
	free(raw);
	return r;
}

/*
 * Set entry `name` to the encoding of e, but only if its current value is
 * `expect` (NULL: only if it is absent). -ECANCELED when the guard fails.
 * e == NULL removes the entry.
 */
static int
entry_swap(struct store *st, const char *name, const char *expect,
    const struct catalog_entry *e)
{
	rados_write_op_t op = rados_create_write_op();
	const char *keys[] = { name };
	char *raw = NULL;
	int cmp = 0, r;

	if (e != NULL && (raw = entry_encode(e)) == NULL) {
		rados_release_write_op(op);
		return -ENOMEM;
	}
	if (expect == NULL)
		rados_write_op_create(op, LIBRADOS_CREATE_IDEMPOTENT, NULL);
	rados_write_op_omap_cmp(op, name, LIBRADOS_CMPXATTR_OP_EQ,
	    expect ? expect : "", expect ? strlen(expect) : 0, &cmp);
	if (e != NULL) {
		const char *vals[] = { raw };
		size_t lens[] = { strlen(raw) };
		rados_write_op_omap_set(op, keys, vals, lens, 1);
	} else
		rados_write_op_omap_rm_keys(op, keys, 1);
	r = rados_write_op_operate(op, store_ioctx(st), CATALOG_OID, NULL, 0);
	rados_release_write_op(op);
	free(raw);
	return r;
}

static void
entry_clear(struct catalog_entry *e)
{
	free(e->raw);
	e->raw = NULL;
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
	return entry_swap(st, e->name, e->raw, &ready);
}

int
catalog_drop_entry(struct store *st, const struct catalog_entry *e)
{
	return entry_swap(st, e->name, e->raw, NULL);
}

int
catalog_finish_remove(struct store *st, const struct catalog_entry *e)
{
	char oid[64];
	int r;

	if (e->state != CATALOG_REMOVING)
		return -EINVAL;
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
	r = entry_swap(st, e->name, e->raw, NULL);
	if (r == -ECANCELED) {
		/* Someone finished it first (a concurrent rm or fsck). */
		struct catalog_entry now;
		if (catalog_entry_get(st, e->name, &now) == -ENOENT)
			return 0;
		entry_clear(&now);
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
			r = entry_swap(st, want->name, NULL, &e);
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
			if ((e.raw = entry_encode(&e)) == NULL)
				return -ENOMEM;
		} else if (r < 0) {
			snprintf(err, errlen, "cannot read the catalogue %s in pool "
			    "%s: %s", CATALOG_OID, store_pool(st), strerror(-r));
			return r;
		}
		if (e.bad) {
			snprintf(err, errlen, "catalogue entry of volume %s is "
			    "damaged (%.100s); run 'cephvol fsck'", e.name, e.raw);
			entry_clear(&e);
			return -EIO;
		}
		if (e.state == CATALOG_REMOVING) {
			snprintf(err, errlen, "volume %s is being removed; finish "
			    "with 'cephvol volume rm %s' (or 'cephvol fsck --repair'), "
			    "then create it again", e.name, e.name);
			entry_clear(&e);
			return -EBUSY;
		}
		if (e.state == CATALOG_CREATING) {
			if ((r = volume_meta_copy(want, &mine)) < 0) {
				entry_clear(&e);
				return r;
			}
			snprintf(mine.id, sizeof(mine.id), "%s", e.id);
			mine.created = (int64_t)time(NULL);
			r = header_create(st, &mine);
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
				entry_clear(&e);
				return r;
			}
			r = catalog_finish_create(st, &e);
			if (r == -ECANCELED || r == -ENOENT) {
				struct catalog_entry now;
				bool ours = false;
				if (catalog_entry_get(st, e.name, &now) == 0) {
					ours = !now.bad && strcmp(now.id, e.id) == 0;
					entry_clear(&now);
				}
				if (!ours && created_header) {
					/* fsck dropped our entry meanwhile: our
					 * header is an orphan; take it back. */
					char oid[64];
					rados_remove(store_ioctx(st), catalog_header_oid(
					    e.id, oid, sizeof(oid)));
				}
				entry_clear(&e);
				continue;
			}
			if (r < 0) {
				snprintf(err, errlen, "cannot finish creating volume %s: "
				    "%s", e.name, strerror(-r));
				entry_clear(&e);
				return r;
			}
			testhook_point("create.ready");
		}
		/* Ready (now or before): the header is the truth. */
		r = catalog_header_read(st, e.id, &have);
		if (r < 0) {
			snprintf(err, errlen, "volume %s is in the catalogue (id %s) "
			    "but its header %s%s cannot be read: %s; run 'cephvol "
			    "fsck'", e.name, e.id, HEADER_PREFIX, e.id, strerror(-r));
			entry_clear(&e);
			return r == -ENOENT ? -EIO : r;
		}
		entry_clear(&e);
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
		entry_clear(&e);
		return -ENOENT;
	}
	r = catalog_header_read(st, e.id, out);
	if (r < 0) {
		log_err("volume=%s id=%s is in the catalogue but its header cannot "
		    "be read: %s (run cephvol fsck)", name, e.id, strerror(-r));
		r = -EIO;
	}
	entry_clear(&e);
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
		entry_clear(&now);
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
		const char *keys[] = { META_KEY };

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
				if (raw && meta_decode(raw, &v[*cnt]) == 0)
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
		entry_clear(&e);
		return -EIO;
	}
	if (e.state == CATALOG_CREATING) {
		/* Never finished: no one can hold it. Drop it, or mark it
		 * removing if a header was made, and go on as for a volume. */
		struct volume_meta have;
		r = catalog_header_read(st, e.id, &have);
		if (r == -ENOENT) {
			r = catalog_drop_entry(st, &e);
			entry_clear(&e);
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

		if (e.state == CATALOG_READY) {
			r = lease_acquire(st, name, e.id, REMOVE_LOCK_SECONDS, NULL,
			    &ls, why, sizeof(why));
			if (r < 0) {
				snprintf(err, errlen, "cannot remove volume %s: %s",
				    name, why);
				entry_clear(&e);
				return r;
			}
		}
		rm = e;
		rm.state = CATALOG_REMOVING;
		r = entry_swap(st, name, e.raw, &rm);
		if (r < 0) {
			snprintf(err, errlen, "cannot remove volume %s: %s", name,
			    r == -ECANCELED ? "the catalogue entry changed meanwhile; "
			    "retry" : strerror(-r));
			if (ls)
				lease_release(ls);
			entry_clear(&e);
			return r;
		}
		testhook_point("remove.mark");
		/* Marked: no lease can be taken on it any more (lease.c checks
		 * the entry), so ours has done its work. Let go now, before
		 * the header and its lock go away under the renewer. */
		if (ls)
			lease_release(ls);
		ls = NULL;
		entry_clear(&e);
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
	entry_clear(&e);
	return r;
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
		char *raw, *nraw, oid[64];
		json_t *j;

		r = catalog_entry_get(st, name, &e);
		if (r == 0 && (e.bad || e.state != CATALOG_READY)) {
			entry_clear(&e);
			r = -ENOENT;
		}
		if (r < 0) {
			snprintf(err, errlen, r == -ENOENT ? "no such volume: %s" :
			    "cannot read the catalogue for volume %s", name);
			return r;
		}
		r = header_read_raw(st, e.id, &raw);
		if (r < 0 || (r = meta_decode(raw, &m)) < 0) {
			snprintf(err, errlen, "cannot read header of volume %s: %s; "
			    "run 'cephvol fsck'", name, strerror(-r));
			if (r != -ENOENT)
				free(raw);
			entry_clear(&e);
			return r == -ENOENT ? -EIO : r;
		}
		entry_clear(&e);
		if (m.type != VOLUME_BLOCK) {
			snprintf(err, errlen, "cannot resize volume %s: a secrets "
			    "volume has no size", name);
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
		j = volume_meta_json(&m);
		nraw = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(j);
		if (nraw == NULL) {
			volume_meta_free(&m);
			free(raw);
			return -ENOMEM;
		}
		rados_write_op_t op = rados_create_write_op();
		const char *keys[] = { META_KEY };
		const char *vals[] = { nraw };
		size_t lens[] = { strlen(nraw) };
		int cmp = 0;
		rados_write_op_assert_exists(op);
		rados_write_op_omap_cmp(op, META_KEY, LIBRADOS_CMPXATTR_OP_EQ, raw,
		    strlen(raw), &cmp);
		rados_write_op_omap_set(op, keys, vals, lens, 1);
		r = rados_write_op_operate(op, store_ioctx(st),
		    catalog_header_oid(m.id, oid, sizeof(oid)), NULL, 0);
		rados_release_write_op(op);
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
