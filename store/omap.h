/*
 * store/omap.h - one value of an object's omap, read by key.
 *
 * The catalogue (entries, headers' "meta") and the secret store (records,
 * the list) keep their values in omaps; this is the one way they read one.
 */
#ifndef CEPHVOL_STORE_OMAP_H
#define CEPHVOL_STORE_OMAP_H

#include <stddef.h>

struct store;

/*
 * The value of key in oid's omap. *out is new (malloc), NUL-terminated
 * after its *len bytes (len may be NULL), so a text value is a string and
 * a binary one keeps its length. -ENOENT when the object or the key is
 * absent; *out is NULL on any error.
 */
int	omap_get(struct store *st, const char *oid, const char *key, char **out,
	    size_t *len);
/* A new NUL-terminated copy of len bytes of an omap value (v may be NULL
 * when len is 0: librados hands an empty value so); NULL if out of memory. */
char	*omap_value_dup(const char *v, size_t len);

#endif
