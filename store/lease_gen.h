/*
 * store/lease_gen.h - a volume's lease generation: the header's xattr
 * "cephvol.lease_gen", LEASE_GEN_LEN hex digits, that every acquirer moves
 * on and every lock operation of a holder is guarded by. For the lease's
 * own files (store/lease.c, lease_break.c).
 */
#ifndef CEPHVOL_STORE_LEASE_GEN_H
#define CEPHVOL_STORE_LEASE_GEN_H

#include <rados/librados.h>

struct store;

#define LEASE_GEN_XATTR		"cephvol.lease_gen"
#define LEASE_GEN_LEN		16

/* Into gen (LEASE_GEN_LEN + 1 bytes): "" when none; -ENOENT if no header. */
int	lease_gen_read(struct store *st, const char *oid, char *gen);
/* The generation after gen ("" counts as 0), into next. */
void	lease_gen_next(const char *gen, char *next);
/* Add to op: the header exists, and its generation is gen ("" = none yet). */
void	lease_gen_guard(rados_write_op_t op, const char *gen);
/* Move the generation on (into next), guarded by the one read. */
int	lease_gen_bump(struct store *st, const char *oid, char *next);

#endif
