/*
 * store/catalog.h - which volumes exist, and each one's metadata.
 *
 * RADOS layout (pool from config):
 *   "cephvol.catalog"            omap: volume name -> JSON {"id","type","created",
 *                                "state"} (store/catalog_entry.h)
 *   "cephvol.header.<id>"        the volume's header: its full metadata as JSON
 *                                (omap key "meta"); its RADOS lock is the lease
 *                                (store/catalog_header.h)
 *   "cephvol.data.<id>.<16 hex>" data objects (store/image.h)
 * List and Get read the catalogue object and headers only, so they are the
 * same on every host. Changes spanning objects are ordered so that a crash
 * at any point is either complete or found and repaired by fsck_run()
 * (store/fsck.h).
 */
#ifndef CEPHVOL_STORE_CATALOG_H
#define CEPHVOL_STORE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "store/catalog_entry.h"
#include "store/volopts.h"

struct store;

/*
 * Create volume want->name. Idempotent: if it exists with the same options,
 * returns 0 and fills *out. If it exists with different ones, -EEXIST and err
 * names the difference. Two racing creators agree on one volume.
 */
int	catalog_create(struct store *st, const struct volume_meta *want,
	    struct volume_meta *out, char *err, size_t errlen);
/* -ENOENT when there is no such volume. */
int	catalog_get(struct store *st, const char *name, struct volume_meta *out);
/* *out is a new array of n entries: free each with volume_meta_free, then free(). */
int	catalog_list(struct store *st, struct volume_meta **out, size_t *n);
/* -EBUSY (err names the holder) while leased; deletes data, header, entry. */
int	catalog_remove(struct store *st, const char *name, char *err, size_t errlen);
/*
 * The volumes made from snapshot `snap` of m (every snapshot when snap is
 * NULL) that still exist and still read through to it (store/clone.h):
 * their number, names listed in buf ("a, b"), or -errno.
 */
int	catalog_live_clones(struct store *st, const struct volume_meta *m,
	    const char *snap, char *buf, size_t len);
/* Does volume `clone` read through to snapshot snap_id of volume parent_id?
 * Judged from its catalogue entry whatever its state, so that one being
 * made counts: 0 only when there is no entry, or its header says it reads
 * through to something else; 1 (also when unreadable), or -errno. */
int	catalog_clone_live(struct store *st, const char *clone, const char *parent_id,
	    uint64_t snap_id);
/* Change block volume name's I/O limits: changes is an object of
 * KEY: "VALUE" (volume_qos_set; "none" clears one). All or nothing: a bad
 * one is -EINVAL with a sentence, and nothing changes. *out (may be NULL)
 * the limits now. */
int	catalog_set_limits(struct store *st, const char *name, json_t *changes,
	    struct volume_qos *out, char *err, size_t errlen);
/* Grow only: shrinking is -EINVAL with a reason. */
int	catalog_resize(struct store *st, const char *name, uint64_t new_size,
	    char *err, size_t errlen);

/*
 * Below: finishing or undoing a change that was interrupted, for fsck
 * (store/fsck.c). The raw state they work on is in store/catalog_entry.h
 * and store/catalog_header.h.
 */
/* Finish an interrupted creation whose header exists (entry -> ready). */
int	catalog_finish_create(struct store *st, const struct catalog_entry *e);
/* Drop an entry still creating with no header (guarded by its value). */
int	catalog_drop_entry(struct store *st, const struct catalog_entry *e);
/* Finish an interrupted removal: snapshot ids, data, header, entry. */
int	catalog_finish_remove(struct store *st, const struct catalog_entry *e);
/* Give back every snapshot id header id records (name for messages),
 * before the data objects go, so the OSDs trim what the snapshots kept.
 * Twice is harmless; a header already gone has none. */
void	catalog_release_snapshots(struct store *st, const char *id, const char *name);

#endif
