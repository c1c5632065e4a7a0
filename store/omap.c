/*
 * omap.c - read one omap value by key (store/omap.h).
 *
 * One read op with omap_get_vals_by_keys: the object's absence, the op's
 * own result and the key's absence all come back as -errno, and the value
 * is copied out of librados' iterator before the op is released. No state,
 * no locking.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

#include "store/conn.h"
#include "store/omap.h"

char *
omap_value_dup(const char *v, size_t len)
{
	char *s = malloc(len + 1);

	if (s) {
		if (len)
			memcpy(s, v, len);
		s[len] = '\0';
	}
	return s;
}

int
omap_get(struct store *st, const char *oid, const char *key, char **out,
    size_t *len)
{
	rados_read_op_t op = rados_create_read_op();
	rados_omap_iter_t it = NULL;
	const char *keys[] = { key };
	int prval = 0, r;

	*out = NULL;
	rados_read_op_omap_get_vals_by_keys(op, keys, 1, &it, &prval);
	r = rados_read_op_operate(op, store_ioctx(st), oid, 0);
	if (r == 0 && prval < 0)
		r = prval;
	if (r == 0) {
		char *k = NULL, *v = NULL;
		size_t vlen = 0;
		r = -ENOENT;
		if (rados_omap_get_next(it, &k, &v, &vlen) == 0 && k != NULL) {
			*out = omap_value_dup(v, vlen);
			r = *out ? 0 : -ENOMEM;
			if (r == 0 && len)
				*len = vlen;
		}
	}
	if (it)
		rados_omap_get_end(it);
	rados_release_read_op(op);
	return r;
}
