/*
 * store/volopts.h - a volume's options and metadata: struct volume_meta,
 * Docker's `-o key=value` map parsed into it, its JSON form (the header's
 * "meta", inspect, Docker) and the comparison a repeated create makes.
 *
 * Pure: no RADOS, no state. Where volumes live is store/catalog.h.
 */
#ifndef CEPHVOL_STORE_VOLOPTS_H
#define CEPHVOL_STORE_VOLOPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/util.h"

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
	VOLUME_OPT_FROM		= 1 << 6,	/* a clone of origin */
	VOLUME_OPT_SNAPSHOT	= 1 << 7,	/* read-only, of origin */
	VOLUME_OPT_QOS		= 1 << 8,	/* any *_limit */
};

/* "VOLUME@SNAPSHOT" */
#define VOLUME_REF_MAX	(2 * NAME_MAX_LEN + 1)

/* I/O limits of a block volume, per second; 0: none (fuse/qos.h). */
struct volume_qos {
	uint64_t	 iops, read_iops, write_iops;	/* operations */
	uint64_t	 bps, read_bps, write_bps;	/* bytes */
};

/* Smallest and largest block volume; sizes are multiples of 4 KiB. */
#define VOLUME_MIN_SIZE		((uint64_t)1 << 20)
#define VOLUME_MAX_SIZE		((uint64_t)1 << 50)
/* The smallest volume that gets xfs: mkfs.xfs (6.1) refuses less. */
#define VOLUME_XFS_MIN_SIZE	((uint64_t)300 << 20)

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
	json_t		*snapshots;	/* owned or NULL; block only: the
					 * snapshot records (store/snapshot.h),
					 * kept as stored */
	json_t		*parent;	/* owned or NULL; block only: the
					 * snapshot it reads through to
					 * (store/clone.h), kept as stored */
	bool		 readonly;	/* a read-only snapshot volume */
	struct volume_qos qos;		/* block only; "qos" in the header */
	char		 origin[VOLUME_REF_MAX + 1];	/* asked for: from= or
					 * snapshot= (VOLUME_OPT_FROM/SNAPSHOT) */
	unsigned	 given;		/* VOLUME_OPT_* named by the caller;
					 * only these are compared when the
					 * volume already exists */
};

/*
 * Parse Docker-style options (the same for `docker volume create -o` and
 * `cephvol volume create -o`) into *out, filling defaults from cfg:
 *   size=10G  fs=ext4|xfs  objectsize=4M  type=block|secrets
 *   secrets=a,b@2  label.KEY=VALUE (or labels as KEY=VALUE,KEY2=VALUE2)
 *   from=VOL@SNAP (a clone)  snapshot=VOL@SNAP (a read-only snapshot volume)
 *   iops_limit=N read_iops_limit=N write_iops_limit=N (operations a second)
 *   bps_limit=50M read_bps_limit=.. write_bps_limit=.. (bytes a second)
 * A from= or snapshot= volume is made by store/clone.h, which fills the
 * rest from the snapshot.
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
/*
 * One limit, key=value as in the options above, into q ("none" clears it
 * when clear_ok; a limit is at least 1: 0 is an error, not "no limit"). -EINVAL and a
 * sentence in err (also for an unknown key); -ENOENT when key is not a
 * limit at all (err then lists them).
 */
int	volume_qos_set(struct volume_qos *q, const char *key, const char *v,
	    bool clear_ok, char *err, size_t errlen);
/* The limits as JSON ({"iops_limit": N, ...}, only those set; new). */
json_t	*volume_qos_json(const struct volume_qos *q);
/* Split "VOLUME@SNAPSHOT" (both valid names) into volume and snap (each
 * may be NULL); false if ref is not one. */
bool	volume_ref_parse(const char *ref, char *volume, size_t vlen, char *snap,
	    size_t slen);
/* "block" or "secrets". */
const char *volume_type_name(enum volume_type t);

#endif
