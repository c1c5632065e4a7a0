/*
 * store/lease_internal.h - what the lease's own files share: store/lease.c
 * (holding one), lease_holder.c (who holds it; fencing them),
 * lease_gen.c (the generation) and lease_break.c. Not for other callers:
 * everything else goes through store/lease.h.
 *
 * The lease's record, all on the volume's header object
 * (store/catalog_header.h):
 *   lock "cephvol.lease"             exclusive: a lease; shared with tag
 *                                    "cephvol.mounted": a mount registration
 *   xattr "cephvol.lease_gen"        the generation, LEASE_GEN_LEN hex digits
 *   xattr "cephvol.lease_released"   "client.N COOKIE" of the last holder
 *                                    that let go cleanly
 */
#ifndef CEPHVOL_STORE_LEASE_INTERNAL_H
#define CEPHVOL_STORE_LEASE_INTERNAL_H

#include <errno.h>
#include <stddef.h>

#include <rados/librados.h>

#include "store/lease.h"

#define LEASE_LOCK		"cephvol.lease"
#define LEASE_REG_TAG		"cephvol.mounted"
#define LEASE_GEN_XATTR		"cephvol.lease_gen"
#define LEASE_RELEASED_XATTR	"cephvol.lease_released"
#define LEASE_GEN_LEN		16
#define LEASE_MAX_LOCKERS	16	/* lockers read from the record at most */

#ifndef EBLOCKLISTED
#define EBLOCKLISTED	ESHUTDOWN
#endif

/* store/lease_holder.c */
/* Every locker of the lease on header oid, expired ones included, up to
 * max (at most LEASE_MAX_LOCKERS); their number, or -errno. */
int	lease_holder_list(struct store *st, const char *oid, struct lease_holder *out,
	    int max);
/* "volume V is in use by ..." or "... is mounted by ..." into err. */
void	lease_holder_busy(struct store *st, const char *oid, const char *volume,
	    char *err, size_t errlen);
/* Blocklist h's address and wait until our osdmap has it. */
int	lease_holder_blocklist(struct store *st, const struct lease_holder *h,
	    char *err, size_t errlen);

/* store/lease_gen.c */
/* Into gen (LEASE_GEN_LEN + 1 bytes): "" when none; -ENOENT if no header. */
int	lease_gen_read(struct store *st, const char *oid, char *gen);
/* The generation after gen ("" counts as 0), into next. */
void	lease_gen_next(const char *gen, char *next);
/* Add to op: the header exists, and its generation is gen ("" = none yet). */
void	lease_gen_guard(rados_write_op_t op, const char *gen);
/* Move the generation on (into next), guarded by the one read. */
int	lease_gen_bump(struct store *st, const char *oid, char *next);

#endif
