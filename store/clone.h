/*
 * store/clone.h - volumes made from a snapshot, in O(1) whatever its size:
 *  - a clone (from=VOL@SNAP): writable; it reads through to the snapshot
 *    for every object it has not written yet, and copies an object up on
 *    its first write (store/image.h, layers), as RBD's layering does;
 *  - a read-only snapshot volume (snapshot=VOL@SNAP): the same reads, no
 *    writes, no lease, so any number of hosts mount it at once.
 * The snapshot's volume may itself be a clone: a chain of any depth up to
 * CLONE_MAX_DEPTH.
 *
 * The made volume's header records what it reads through to:
 *   "parent": {"volume", "id", "snapshot", "snap_id", "overlap"}
 * (overlap: the snapshot's size; nothing past it is inherited) and, for a
 * snapshot volume, "readonly": true. The snapshot's record names it
 * ("clones", store/snapshot_record.h), so neither the snapshot nor its
 * volume can be removed while it reads through to them; `volume flatten`
 * copies what is still shared and lets go. Every call returns 0 or -errno
 * with a sentence in err.
 */
#ifndef CEPHVOL_STORE_CLONE_H
#define CEPHVOL_STORE_CLONE_H

#include <stddef.h>

#include "store/image.h"
#include "store/volopts.h"

struct config;
struct store;

#define CLONE_MAX_DEPTH	16

/*
 * catalog_create(), and, when want names an origin (VOLUME_OPT_FROM or
 * VOLUME_OPT_SNAPSHOT), a volume made from that snapshot: its type, fs and
 * object size are the snapshot's volume's; its size the snapshot's (a
 * clone may ask for more, never less).
 */
int	clone_create(struct store *st, const struct volume_meta *want,
	    struct volume_meta *out, char *err, size_t errlen);
/* What m reads through to, nearest first, for image_open(); n is 0 for a
 * volume made from nothing. *layers new: clone_layers_free(). */
int	clone_layers(struct store *st, const struct volume_meta *m,
	    struct image_layer **layers, unsigned *n, char *err, size_t errlen);
void	clone_layers_free(struct image_layer *layers, unsigned n);
/* Copy into clone `name` everything it still reads through to, then let
 * go of its parent. Refused while it is mounted anywhere. */
int	clone_flatten(struct store *st, const struct config *cfg, const char *name,
	    char *err, size_t errlen);

#endif
