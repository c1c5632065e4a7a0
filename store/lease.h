/*
 * store/lease.h - a volume's lease: an exclusive RADOS lock on its header
 * object, renewed in the background, with self-fencing and takeover.
 *
 * Holding: lease_acquire() takes lock "cephvol.lease" on the volume's header
 * for `seconds`, then a thread renews it every seconds/3. If a renewal fails
 * or the lease's deadline passes unrenewed (the process was stopped), the
 * lease is lost: lost(arg, err) is called once and lease_valid() is false
 * from then on. Callers check lease_valid() before every write.
 *
 * Takeover: if the holder's lock has expired (it did not renew in time), the
 * acquirer first blocklists the holder's RADOS address, then breaks its
 * lock, then takes it. Never break without blocklisting.
 */
#ifndef CEPHVOL_STORE_LEASE_H
#define CEPHVOL_STORE_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct lease;

struct lease_holder {
	char		client[64];	/* "client.4127" */
	char		addr[128];	/* "127.0.0.1:0/3748291" */
	char		cookie[64];
	char		host[256];	/* from the lock description */
	char		user[64];	/* client name from config, e.g. client.hostb */
	int64_t		since;		/* unix seconds */
	int		pid;
	int64_t		expires;	/* unix seconds by the OSD's clock, 0 = never */
	bool		expired;	/* expires is past by our clock: the
					 * next lock attempt will drop it */
};

/*
 * Acquire the lease on volume `id` (whose header object the catalogue
 * owns). -EBUSY when another live client holds it; err then names the
 * holder: "volume pgdata is in use by client.hostb (127.0.0.1:0/123) on
 * hostb since 2026-11-26 12:01:03". *out is new: lease_release().
 */
int	lease_acquire(struct store *st, const char *volume, const char *id,
	    unsigned seconds, void (*lost)(void *arg, int err), void *arg,
	    struct lease **out, char *err, size_t errlen);
bool	lease_valid(struct lease *ls);
/*
 * lost() runs on the lease's own thread, never inside lease_valid(), so it
 * may take the caller's locks (e.g. call image_fence()). It may be NULL.
 * When acquiring took over from an expired holder, lease_taken_from()
 * fills *out with the holder that was blocklisted and returns true.
 */
bool	lease_taken_from(struct lease *ls, struct lease_holder *out);
/* The lock cookie of this lease (borrowed). */
const char *lease_cookie(struct lease *ls);
/* Stop renewing and unlock. */
void	lease_release(struct lease *ls);

/* The current holder of volume `id`'s lease; -ENOENT when none. A holder
 * whose lock has expired but was not yet dropped is returned with expired
 * set (it holds nothing; the next acquirer blocklists it). */
int	lease_holder(struct store *st, const char *id, struct lease_holder *out);
/* Blocklist the holder's address, then break its lock. -ENOENT if none. */
int	lease_break(struct store *st, const char *id, struct lease_holder *broken,
	    char *err, size_t errlen);
/* "client.4127 (addr) on host since time" into buf. */
const char *lease_holder_describe(const struct lease_holder *h, char *buf, size_t len);

#endif
