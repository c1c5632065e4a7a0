/*
 * lease_gen.c - a volume's lease generation (store/lease_gen.h).
 *
 * The header's xattr "cephvol.lease_gen" (16 hex digits) is bumped in the
 * same atomic operation that takes the lock (store/lease.c), and by
 * lease_break(). Every renewal carries "generation is still mine" as a
 * guard (cmpxattr) in the same operation as the lock method, so a holder
 * that was away (stopped, partitioned, stalled) while someone else held
 * the volume, even briefly, learns it at its first renewal and never
 * writes again: what decides is the cluster's record, not the blocklist,
 * whose entries expire and can be removed by hand. A volume older than
 * the generation has none (""): the guard then says "there is none yet".
 *
 * lease_gen_bump() moves it on guarded by the one read, so every holder of
 * the old one is lost from its next renewal, whatever its blocklist says.
 * Sent with LIBRADOS_OPERATION_FULL_FORCE like every lock operation: it
 * changes an xattr, no data. No state in this file; no locking.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

#include "store/conn.h"
#include "store/lease_gen.h"

int
lease_gen_read(struct store *st, const char *oid, char *gen)
{
	char buf[64];
	int r = rados_getxattr(store_ioctx(st), oid, LEASE_GEN_XATTR, buf, sizeof(buf) - 1);

	gen[0] = '\0';
	if (r == -ENODATA)
		return 0;
	if (r < 0)
		return r;
	buf[r] = '\0';
	snprintf(gen, LEASE_GEN_LEN + 1, "%s", buf);
	return 0;
}

void
lease_gen_next(const char *gen, char *next)
{
	uint64_t v = gen[0] ? strtoull(gen, NULL, 16) : 0;

	snprintf(next, LEASE_GEN_LEN + 1, "%016" PRIx64, v + 1);
}

void
lease_gen_guard(rados_write_op_t op, const char *gen)
{
	rados_write_op_assert_exists(op);
	rados_write_op_cmpxattr(op, LEASE_GEN_XATTR, LIBRADOS_CMPXATTR_OP_EQ, gen,
	    strlen(gen));
}

int
lease_gen_bump(struct store *st, const char *oid, char *next)
{
	char gen[LEASE_GEN_LEN + 1];
	int r = -EAGAIN;

	for (int attempt = 0; attempt < 16 && r == -EAGAIN; attempt++) {
		if ((r = lease_gen_read(st, oid, gen)) < 0)
			return r;
		lease_gen_next(gen, next);
		rados_write_op_t op = rados_create_write_op();
		if (op == NULL)
			return -ENOMEM;
		lease_gen_guard(op, gen);
		rados_write_op_setxattr(op, LEASE_GEN_XATTR, next, strlen(next));
		r = rados_write_op_operate(op, store_ioctx(st), oid, NULL,
		    LIBRADOS_OPERATION_FULL_FORCE);
		rados_release_write_op(op);
		if (r == -ECANCELED)
			r = -EAGAIN;
	}
	return r;
}
