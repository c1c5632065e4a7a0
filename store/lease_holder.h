/*
 * store/lease_holder.h - who holds a volume's lease (store/lease.h): the
 * lock "cephvol.lease" on the volume's header, read back as lockers, said
 * in a sentence, and fenced by blocklisting.
 *
 * The first part is for everyone; the second is for the lease's own files
 * (store/lease.c, lease_break.c), which work on the header object by name.
 */
#ifndef CEPHVOL_STORE_LEASE_HOLDER_H
#define CEPHVOL_STORE_LEASE_HOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

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
	bool		shared;		/* a mount registration (secrets volume) */
};

/* The current holder of volume `id`'s lease (or a mount registration);
 * -ENOENT when none. A holder whose lock has expired but was not yet
 * dropped is returned with expired set (it holds nothing; the next
 * acquirer blocklists it). lease_holders() gives every locker (a volume
 * mounted without a lease has one per host), up to max; their number or
 * -errno. */
int	lease_holder(struct store *st, const char *id, struct lease_holder *out);
int	lease_holders(struct store *st, const char *id, struct lease_holder *out,
	    int max);
/* "client.4127 (addr) on host since time" into buf. */
const char *lease_holder_describe(const struct lease_holder *h, char *buf, size_t len);

/* ---- for store/lease*.c ---- */

#define LEASE_LOCK		"cephvol.lease"	/* the lock's name */
#define LEASE_MAX_LOCKERS	16	/* lockers read from the record at most */

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

#endif
