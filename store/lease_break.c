/*
 * lease_break.c - take a volume's lease from whoever holds it, for good
 * (`cephvol lock break`): blocklist every holder, move the generation on,
 * then break their locks (store/lease.h). Never break without
 * blocklisting: a broken holder that is still alive would write on.
 *
 * A volume mounted without a lease has a registration per host; a
 * registration may join while we work. So it goes round: read the record,
 * handle every live locker not handled yet, again until none is left. An
 * expired locker stays in the record until the next lock write: it is
 * handled once. Lock operations are sent with
 * LIBRADOS_OPERATION_FULL_FORCE (a full pool must not keep a holder).
 * No state in this file; no locking.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rados/librados.h>

#include "common/log.h"
#include "store/catalog_header.h"
#include "store/conn.h"
#include "store/lease.h"
#include "store/lease_gen.h"
#include "store/lease_holder.h"
#include "store/lockop.h"

/* Break one locker's lock; -ENOENT (already gone, or its lock expired
 * and is trimmed) counts as done. */
static int
break_one(struct store *st, const char *oid, const struct lease_holder *h)
{
	rados_write_op_t op = rados_create_write_op();
	char buf[LOCKOP_BUF];
	int r = -ENOMEM;

	if (op && (r = lockop_break(op, LEASE_LOCK, h->client, h->cookie, buf,
	    sizeof(buf))) == 0)
		r = rados_write_op_operate(op, store_ioctx(st), oid, NULL,
		    LIBRADOS_OPERATION_FULL_FORCE);
	if (op)
		rados_release_write_op(op);
	return r == -ENOENT ? 0 : r;
}

int
lease_break(struct store *st, const char *id, struct lease_holder *broken,
    char *err, size_t errlen)
{
	struct lease_holder h[LEASE_MAX_LOCKERS];
	char oid[64], next[LEASE_GEN_LEN + 1], done[64][128];
	unsigned ndone = 0;
	bool any = false;
	int n, r;

	catalog_header_oid(id, oid, sizeof(oid));
	/* Blocklist, then move the generation, then break; again while the
	 * record lists a live locker not yet handled (a registration that
	 * joined meanwhile, or more than one read holds). An expired locker
	 * stays in the record until the next lock write: handled once. */
	for (int round = 0; round < 64; round++) {
		int todo = 0;

		n = lease_holder_list(st, oid, h, LEASE_MAX_LOCKERS);
		if (n < 0) {
			snprintf(err, errlen, "cannot read lock %s on %s: %s", LEASE_LOCK,
			    oid, strerror(-n));
			return n;
		}
		for (int i = 0; i < n; i++) {
			char key[128];
			bool seen = false;
			snprintf(key, sizeof(key), "%s %s", h[i].client, h[i].cookie);
			for (unsigned k = 0; k < ndone && !seen; k++)
				seen = strcmp(done[k], key) == 0;
			if (seen || (any && h[i].expired))
				continue;
			h[todo++] = h[i];
			if (ndone < 64)
				snprintf(done[ndone++], sizeof(done[0]), "%s", key);
		}
		n = todo;
		if (n == 0)
			break;
		if (!any && broken)
			*broken = h[0];
		for (int i = 0; i < n; i++)
			if ((r = lease_holder_blocklist(st, &h[i], err, errlen)) < 0)
				return r;
		if ((r = lease_gen_bump(st, oid, next)) < 0) {
			snprintf(err, errlen, "blocklisted %s but cannot move the lease "
			    "generation of %s: %s", h[0].addr, oid, strerror(-r));
			return r;
		}
		for (int i = 0; i < n; i++) {
			if ((r = break_one(st, oid, &h[i])) < 0) {
				snprintf(err, errlen, "blocklisted %s but cannot break its "
				    "lock on %s: %s", h[i].addr, oid, strerror(-r));
				return r;
			}
		}
		any = true;
		log_info("broke the lease on %s (generation %s)", oid, next);
	}
	if (!any) {
		snprintf(err, errlen, "no lease is held");
		return -ENOENT;
	}
	return 0;
}
