/*
 * store/lease.h - a volume's lease: an exclusive RADOS lock on its header
 * object, renewed in the background, with a generation that every
 * acquirer bumps; and the shared registration of a mount that takes no
 * lease (a secrets volume), so that a volume in use anywhere cannot be
 * removed.
 *
 * A stall of the cluster is a stall. The lock's duration is how long a
 * dead holder keeps others out, not a deadline for a live one. When the
 * holder's deadline passes unrenewed (cluster stalled, process stopped),
 * hold() tells it to stop sending I/O and to take back what is in flight,
 * since another host may take the volume over from now on; when a renewal
 * succeeds again, resume() tells it to go on. It is lost (lost(), for
 * good) only when the cluster says another host took the volume: the lock
 * is someone else's or was broken, the lease generation moved (someone
 * acquired it in between, even if they released it since), or we were
 * blocklisted. A lost lease is never taken back, whatever the blocklist
 * says later.
 *
 * Taking over: when the holder's lock has expired, the acquirer takes the
 * lock (cls_lock drops the expired locker) and, before it returns,
 * blocklists the holder's RADOS address and waits for the osdmap that
 * carries it; a holder that let go cleanly (cephvol.lease_released) is not
 * fenced. lease_break() blocklists first, then moves the generation and
 * breaks. Never break without blocklisting.
 *
 * Lock operations add no data: they run on a full pool (FULL_FORCE), so a
 * full pool cannot cost a holder its lease.
 */
#ifndef CEPHVOL_STORE_LEASE_H
#define CEPHVOL_STORE_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/lease_holder.h"

struct store;
struct lease;

/*
 * What the holder is told, always on the lease's own threads (never inside
 * lease_valid()), so the callbacks may take the caller's locks. Any may be
 * NULL. resume() follows every successful renewal (cheap when nothing is
 * held); lost() comes once, and neither hold() nor resume() after it.
 */
struct lease_events {
	void	(*hold)(void *arg);
	void	(*resume)(void *arg);
	void	(*lost)(void *arg, int err);
	void	*arg;
};

/*
 * Acquire the lease on volume `id` (whose header object the catalogue
 * owns). -EBUSY when another live client holds it (or, for a volume
 * mounted without a lease, registered its mount); err then names it:
 * "volume pgdata is in use by client.hostb (127.0.0.1:0/123) on hostb,
 * pid 4127, since 2026-11-26 12:01:03". -ENOENT when the volume is gone.
 * ev may be NULL. *out is new: lease_release().
 */
int	lease_acquire(struct store *st, const char *volume, const char *id,
	    unsigned seconds, const struct lease_events *ev, struct lease **out,
	    char *err, size_t errlen);
/*
 * Register a mount that takes no lease (a secrets volume, served on any
 * number of hosts): a shared lock on the header, renewed like a lease, so
 * lease_acquire() (volume rm) is refused while it lives. Lost (lost()) when
 * the volume is removed or its generation moves.
 */
int	lease_register(struct store *st, const char *volume, const char *id,
	    unsigned seconds, const struct lease_events *ev, struct lease **out,
	    char *err, size_t errlen);
/* Confirmed now: not lost, and the deadline of the last renewal not past. */
bool	lease_valid(struct lease *ls);
/* Lost for good. */
bool	lease_lost(struct lease *ls);
/*
 * When acquiring took over from an expired holder, lease_taken_from()
 * fills *out with the holder that was blocklisted and returns true.
 */
bool	lease_taken_from(struct lease *ls, struct lease_holder *out);
/* The lock cookie of this lease (borrowed). */
const char *lease_cookie(struct lease *ls);
/* Stop renewing and unlock. */
void	lease_release(struct lease *ls);

/* Who holds a lease: store/lease_holder.h. */

/* Blocklist the holder's address, then break its lock and bump the
 * generation (it never comes back). Every registration too, for a volume
 * mounted without a lease. -ENOENT if none. (store/lease_break.c) */
int	lease_break(struct store *st, const char *id, struct lease_holder *broken,
	    char *err, size_t errlen);

#endif
