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

#endif
