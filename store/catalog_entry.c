/*
 * catalog_entry.c - the catalogue object's entries (store/catalog_entry.h):
 * their stored form, reading one or all, and the guarded swap every change
 * of an entry is made with.
 *
 * An entry is the omap value name -> {"id","type","created","state"} of
 * "cephvol.catalog", compact JSON with sorted keys, so that the value read
 * is byte for byte the value a guard compares (omap_cmp): a swap succeeds
 * only if nobody changed the entry since it was read. A value that does
 * not decode is kept whole (raw) and marked bad, for fsck to report.
 *
 * No state in this file; no locking: RADOS ops are the synchronisation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

#include "common/util.h"
#include "store/catalog_entry.h"
#include "store/conn.h"
#include "store/omap.h"

static const char *
state_name(enum catalog_state s)
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

char *
catalog_entry_encode(const struct catalog_entry *e)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "id", e->id, "type",
	    volume_type_name(e->type), "created", (json_int_t)e->created,
	    "state", state_name(e->state));
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return s;
}

void
catalog_entry_decode(const char *name, char *raw, struct catalog_entry *e)
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
	catalog_entry_decode(name, raw, out);
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
				if ((r = array_grow(&v, &cap, cnt, sizeof(*v), 16)) < 0)
					break;
				char *raw = omap_value_dup(val, len);
				if (raw == NULL) {
					r = -ENOMEM;
					break;
				}
				catalog_entry_decode(k, raw, &v[cnt++]);
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

int
catalog_entry_swap(struct store *st, const char *name, const char *expect,
    const struct catalog_entry *e)
{
	rados_write_op_t op = rados_create_write_op();
	const char *keys[] = { name };
	char *raw = NULL;
	int cmp = 0, r;

	if (e != NULL && (raw = catalog_entry_encode(e)) == NULL) {
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

void
catalog_entry_clear(struct catalog_entry *e)
{
	free(e->raw);
	e->raw = NULL;
}
