/*
 * store/catalog_header.h - a volume's header object "cephvol.header.<id>":
 * omap key "meta" holds its full metadata as JSON. Its RADOS lock is the
 * lease (store/lease.h).
 *
 * The raw header under the catalogue (store/catalog.h), for it, fsck and
 * the lease. Every call returns 0 or -errno unless stated.
 */
#ifndef CEPHVOL_STORE_CATALOG_HEADER_H
#define CEPHVOL_STORE_CATALOG_HEADER_H

#include <stddef.h>

#include "store/volopts.h"

struct store;

#define CATALOG_HEADER_PREFIX	"cephvol.header."
#define CATALOG_HEADER_META	"meta"		/* the omap key */

/* Name of the header object of volume id, into buf. Returns buf. */
const char *catalog_header_oid(const char *id, char *buf, size_t len);

/* The stored form of m (new, malloc'd), or NULL when out of memory. */
char	*catalog_header_encode(const struct volume_meta *m);
/* The reverse; -EINVAL if raw is not one. *out is new. */
int	catalog_header_decode(const char *raw, struct volume_meta *out);

/* The header's metadata; -ENOENT if no header, -EINVAL if unreadable. */
int	catalog_header_read(struct store *st, const char *id, struct volume_meta *out);
/* The same, as stored (*raw new, NUL-terminated), for a guarded replace. */
int	catalog_header_read_raw(struct store *st, const char *id, char **raw);
/* Create the header of m->id exclusively with m. -EEXIST if it exists. */
int	catalog_header_create(struct store *st, const struct volume_meta *m);
/* Replace the metadata of header id with raw (an encoding), only if it is
 * still expect, as read: -ECANCELED when it changed, -ENOENT if gone. */
int	catalog_header_replace(struct store *st, const char *id, const char *expect,
	    const char *raw);

/*
 * Read header id's JSON, let fn change it (fn returns 0 to write it, 1 to
 * leave it, or -errno, which is returned), write it back guarded; again
 * when someone else changed it meanwhile. *out (may be NULL) is the header
 * as it then is. -ENOENT if no header.
 */
int	catalog_header_update(struct store *st, const char *id,
	    int (*fn)(json_t *meta, void *arg), void *arg, struct volume_meta *out);

#endif
