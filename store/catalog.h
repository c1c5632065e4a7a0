/*
 * store/catalog.h - which volumes exist, and each one's metadata.
 *
 * RADOS layout (pool from config):
 *   "cephvol.catalog"            omap: volume name -> JSON {"id","type","created"}
 *   "cephvol.header.<id>"        the volume's header: its full metadata as JSON
 *                                (omap key "meta"); its RADOS lock is the lease
 *   "cephvol.data.<id>.<16 hex>" data objects (store/image.h)
 * List and Get read the catalogue object and headers only, so they are the
 * same on every host. Changes spanning objects are ordered so that a crash
 * at any point is either complete or found and repaired by catalog_fsck().
 */
#ifndef CEPHVOL_STORE_CATALOG_H
#define CEPHVOL_STORE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/util.h"

struct store;
struct config;

#define VOLUME_ID_LEN	16

enum volume_type {
	VOLUME_BLOCK = 0,
	VOLUME_SECRETS,
};

/* Bits of volume_meta.given: the options the caller named explicitly. */
enum volume_opt {
	VOLUME_OPT_SIZE		= 1 << 0,
	VOLUME_OPT_FS		= 1 << 1,
	VOLUME_OPT_OBJECT_SIZE	= 1 << 2,
	VOLUME_OPT_TYPE		= 1 << 3,
	VOLUME_OPT_SECRETS	= 1 << 4,
	VOLUME_OPT_LABELS	= 1 << 5,
};

/* Smallest and largest block volume; sizes are multiples of 4 KiB. */
#define VOLUME_MIN_SIZE		((uint64_t)1 << 20)
#define VOLUME_MAX_SIZE		((uint64_t)1 << 50)

struct volume_meta {
	char		 name[NAME_MAX_LEN + 1];
	char		 id[VOLUME_ID_LEN + 1];		/* hex */
	enum volume_type type;
	uint64_t	 size;				/* bytes, block only */
	uint64_t	 object_size;			/* bytes, block only */
	char		 fs[8];				/* "ext4" | "xfs", block only */
	json_t		*labels;	/* owned; object of strings, never NULL after parse */
	json_t		*secrets;	/* owned; array of "name" / "name@N", secrets only */
	int64_t		 created;	/* unix seconds */
	unsigned	 given;		/* VOLUME_OPT_* named by the caller;
					 * only these are compared when the
					 * volume already exists */
};

/*
 * Parse Docker-style options (the same for `docker volume create -o` and
 * `cephvol volume create -o`) into *out, filling defaults from cfg:
 *   size=10G  fs=ext4|xfs  objectsize=4M  type=block|secrets
 *   secrets=a,b@2  label.KEY=VALUE (or labels as KEY=VALUE,KEY2=VALUE2)
 * opts is a JSON object of strings, or NULL for none. An unknown or bad
 * option gives -EINVAL and a sentence in err that lists what is accepted.
 */
int	volume_opts_parse(const struct config *cfg, const char *name,
	    json_t *opts, struct volume_meta *out, char *err, size_t errlen);
void	volume_meta_free(struct volume_meta *m);
/* The metadata as a JSON object (new reference), for inspect and Docker. */
json_t	*volume_meta_json(const struct volume_meta *m);
/* The reverse (the header's "meta"); -EINVAL if j is not one. *out is new. */
int	volume_meta_from_json(json_t *j, struct volume_meta *out);
/* Copy (labels and secrets are new references). */
int	volume_meta_copy(const struct volume_meta *src, struct volume_meta *dst);
/*
 * Compare what `want` names explicitly (want->given, type always) with an
 * existing volume. Returns true when they agree; otherwise false and a
 * sentence in err naming every difference.
 */
bool	volume_meta_matches(const struct volume_meta *have,
	    const struct volume_meta *want, char *err, size_t errlen);
/* "block" or "secrets". */
const char *volume_type_name(enum volume_type t);

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
/* Grow only: shrinking is -EINVAL with a reason. */
int	catalog_resize(struct store *st, const char *name, uint64_t new_size,
	    char *err, size_t errlen);

/* Name of the header object of volume id, into buf. */
const char *catalog_header_oid(const char *id, char *buf, size_t len);

/*
 * Below: the catalogue's raw state, for fsck (store/fsck.c) and the lease.
 *
 * A catalogue entry moves creating -> ready -> removing -> (gone). Only
 * "ready" volumes are visible to catalog_get/catalog_list.
 *   creating: the entry names the id; the header may not exist yet. The
 *             exclusive create of the header decides the volume's options.
 *   removing: the volume is going away; no lease may be taken on it.
 */
enum catalog_state {
	CATALOG_READY = 0,
	CATALOG_CREATING,
	CATALOG_REMOVING,
};

struct catalog_entry {
	char		 name[NAME_MAX_LEN + 1];
	char		 id[VOLUME_ID_LEN + 1];
	enum volume_type type;
	int64_t		 created;
	enum catalog_state state;
	bool		 bad;		/* value did not parse: see raw */
	char		*raw;		/* owned: the stored value */
};

/* Every entry, whatever its state. *out is new: catalog_entries_free(). */
int	catalog_entries(struct store *st, struct catalog_entry **out, size_t *n);
void	catalog_entries_free(struct catalog_entry *e, size_t n);
/* One entry; -ENOENT if absent. out->raw is new: free() it. */
int	catalog_entry_get(struct store *st, const char *name, struct catalog_entry *out);
/* The header's metadata; -ENOENT if no header, -EINVAL if unreadable. */
int	catalog_header_read(struct store *st, const char *id, struct volume_meta *out);
/* Finish an interrupted creation whose header exists (entry -> ready). */
int	catalog_finish_create(struct store *st, const struct catalog_entry *e);
/* Drop an entry still creating with no header (guarded by its value). */
int	catalog_drop_entry(struct store *st, const struct catalog_entry *e);
/* Finish an interrupted removal: data, header, entry. */
int	catalog_finish_remove(struct store *st, const struct catalog_entry *e);
const char *catalog_state_name(enum catalog_state s);

#endif
