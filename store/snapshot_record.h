/*
 * store/snapshot_record.h - a block volume's snapshot records, as its
 * header keeps them (volume_meta.snapshots):
 *   {"seq": N, "list": [{"name", "id", "created", "size"[, "state":
 *    "removing"][, "rollback": true][, "clones": [NAME, ...]]}, ...]}
 *   (oldest first; "clones" names the volumes made from it, store/clone.h,
 *   some perhaps removed since: a name counts only while that volume's
 *   parent is still this snapshot)
 * and the snapshot context every write of the volume carries. Pure: what
 * snapshots do is store/snapshot.h.
 */
#ifndef CEPHVOL_STORE_SNAPSHOT_RECORD_H
#define CEPHVOL_STORE_SNAPSHOT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "store/volopts.h"

struct snapshot {
	char		 name[NAME_MAX_LEN + 1];
	uint64_t	 id;		/* RADOS self-managed snapshot id */
	int64_t		 created;	/* unix seconds */
	uint64_t	 size;		/* the volume's size when it was taken */
	bool		 removing;	/* rm began and did not finish */
};

/* The records of m, oldest first (*list new: free(); NULL when n is 0), and
 * the context's seq. -EINVAL if the header's member is damaged. */
int	snapshot_records(const struct volume_meta *m, struct snapshot **list,
	    size_t *n, uint64_t *seq);
/* The write context of m: seq and every recorded id, newest first, those
 * being removed too (*ids new: free(); NULL when n is 0). */
/* The live (not being removed) snapshot `name` of m, or with name NULL
 * the newest live one: 0, -ENOENT when there is none, -EINVAL when the
 * records are damaged. */
int	snapshot_find(const struct volume_meta *m, const char *name,
	    struct snapshot *out);
int	snapshot_context(const struct volume_meta *m, uint64_t *seq,
	    uint64_t **ids, size_t *n);

/* fn(snapshot, its id, a clone's name, arg) for every clone name recorded
 * on snapshot `snap` of m (every snapshot when snap is NULL). */
void	snapshot_clone_names(const struct volume_meta *m, const char *snap,
	    void (*fn)(const char *snap, uint64_t id, const char *clone, void *arg),
	    void *arg);

/* A clone's name on a snapshot's record. */
struct snapshot_clone_ref {
	const char	*snap;
	const char	*clone;
};
/* For catalog_header_update(id, snapshot_record_drop_clone, ref): drop
 * ref->clone from snapshot ref->snap's record in the header's JSON. 0
 * dropped, 1 not there, -errno. */
int	snapshot_record_drop_clone(json_t *meta, void *ref);

#endif
