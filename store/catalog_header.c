/*
 * catalog_header.c - a volume's header object (store/catalog_header.h):
 * "cephvol.header.<id>", whose omap key "meta" holds the volume's full
 * metadata (store/volopts.h) as compact JSON with sorted keys.
 *
 * The header is made once, exclusively: whoever creates it decides the
 * volume's options (store/catalog.c). After that it changes only by a
 * replace guarded by the value read (omap_cmp), so two resizes cannot
 * lose one another. The lease's lock and generation live on the same
 * object (store/lease.c) but are not this file's.
 *
 * catalog_header_update() is the one read-modify-write of members that
 * volume_meta does not own the meaning of (snapshots, clones): it patches
 * the stored JSON, so every other member stays exactly as it was.
 *
 * No state in this file; no locking: RADOS ops are the synchronisation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rados/librados.h>

#include "store/catalog_header.h"
#include "store/conn.h"
#include "store/omap.h"

#define UPDATE_RETRIES	16	/* replaces lost to another writer in a row */

const char *
catalog_header_oid(const char *id, char *buf, size_t len)
{
	snprintf(buf, len, CATALOG_HEADER_PREFIX "%s", id);
	return buf;
}

int
catalog_header_read_raw(struct store *st, const char *id, char **raw)
{
	char oid[64];

	return omap_get(st, catalog_header_oid(id, oid, sizeof(oid)),
	    CATALOG_HEADER_META, raw, NULL);
}

int
catalog_header_decode(const char *raw, struct volume_meta *out)
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

	r = catalog_header_read_raw(st, id, &raw);
	if (r < 0)
		return r;
	r = catalog_header_decode(raw, out);
	free(raw);
	return r;
}

char *
catalog_header_encode(const struct volume_meta *m)
{
	json_t *j = volume_meta_json(m);
	char *raw = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(j);
	return raw;
}

int
catalog_header_create(struct store *st, const struct volume_meta *m)
{
	rados_write_op_t op;
	char oid[64], *raw;
	int r;

	if ((raw = catalog_header_encode(m)) == NULL)
		return -ENOMEM;
	const char *keys[] = { CATALOG_HEADER_META };
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

int
catalog_header_replace(struct store *st, const char *id, const char *expect,
    const char *raw)
{
	rados_write_op_t op = rados_create_write_op();
	const char *keys[] = { CATALOG_HEADER_META };
	const char *vals[] = { raw };
	size_t lens[] = { strlen(raw) };
	char oid[64];
	int cmp = 0, r;

	rados_write_op_assert_exists(op);
	rados_write_op_omap_cmp(op, CATALOG_HEADER_META, LIBRADOS_CMPXATTR_OP_EQ,
	    expect, strlen(expect), &cmp);
	rados_write_op_omap_set(op, keys, vals, lens, 1);
	r = rados_write_op_operate(op, store_ioctx(st),
	    catalog_header_oid(id, oid, sizeof(oid)), NULL, 0);
	rados_release_write_op(op);
	return r;
}

int
catalog_header_update(struct store *st, const char *id_hex,
    int (*fn)(json_t *meta, void *arg), void *arg, struct volume_meta *out)
{
	int r = -EAGAIN;

	for (int attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
		char *raw = NULL, *nraw = NULL;
		json_t *meta;

		if ((r = catalog_header_read_raw(st, id_hex, &raw)) < 0)
			return r;
		if ((meta = json_loads(raw, 0, NULL)) == NULL ||
		    !json_is_object(meta)) {
			json_decref(meta);
			free(raw);
			return -EINVAL;
		}
		r = fn(meta, arg);
		if (r == 0) {
			nraw = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
			r = nraw ? catalog_header_replace(st, id_hex, raw, nraw) :
			    -ENOMEM;
		} else if (r == 1)
			r = 0;
		if (r == 0 && out != NULL)
			r = volume_meta_from_json(meta, out);
		json_decref(meta);
		free(raw);
		free(nraw);
		if (r != -ECANCELED)
			return r;
	}
	return r;
}
