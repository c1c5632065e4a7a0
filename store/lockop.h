/*
 * store/lockop.h - RADOS advisory locks (the "lock" object class) as parts
 * of compound write operations, and the lock's raw record.
 *
 * librados' rados_lock_exclusive() and friends are whole operations of
 * their own: they cannot be guarded by a compare in the same atomic step
 * and cannot be flagged to run on a full pool. The lease needs both, so
 * these add the class method to a rados_write_op_t the caller builds (and
 * may guard with rados_write_op_cmpxattr / assert_exists) and sends with
 * the flags it wants. The input is encoded here as Ceph's cls_lock_*_op
 * structures (little-endian, ENCODE_START(1, 1) framing).
 *
 * lockop_lockers() decodes the lock's xattr ("lock.<name>", a cls_lock
 * lock_info_t) itself, so it also sees lockers whose lock has expired
 * (the class's own listing hides those): the lease needs to know whom it
 * takes over from.
 */
#ifndef CEPHVOL_STORE_LOCKOP_H
#define CEPHVOL_STORE_LOCKOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rados/librados.h>

enum lockop_type {
	LOCKOP_EXCLUSIVE = 1,
	LOCKOP_SHARED = 2,
};

/* cls_lock flags: take it afresh or renew it (never -EEXIST), or renew
 * only (-ENOENT when we do not hold it, e.g. it expired or was broken). */
#define LOCKOP_MAY_RENEW	0x1
#define LOCKOP_MUST_RENEW	0x2

/*
 * The lock's input is built in the caller's buf (at least
 * LOCKOP_BUF bytes); librados copies it when the op is added. prval, if
 * not NULL, receives the method's own result. -ENAMETOOLONG when the
 * strings do not fit.
 */
#define LOCKOP_BUF	1024
int	lockop_lock(rados_write_op_t op, const char *name, enum lockop_type type,
	    const char *cookie, const char *tag, const char *desc,
	    unsigned seconds, uint8_t flags, char *buf, size_t buflen, int *prval);
int	lockop_unlock(rados_write_op_t op, const char *name, const char *cookie,
	    char *buf, size_t buflen);
/* Break client.NUM's lock with cookie (client = "client.4127"). */
int	lockop_break(rados_write_op_t op, const char *name, const char *client,
	    const char *cookie, char *buf, size_t buflen);

struct lockop_locker {
	char		client[64];	/* "client.4127" */
	char		addr[128];	/* "127.0.0.1:0/3748291" */
	char		cookie[64];
	char		desc[512];
	int64_t		expires;	/* unix seconds by the OSD's clock, 0 = never */
	uint32_t	expires_nsec;	/* and nanoseconds (the clock check) */
	bool		expired;	/* expires is past by our clock */
};

/*
 * Every locker recorded for lock `name` on oid, expired ones included, up
 * to max into out, and the lock's type and tag. Returns how many (0 when
 * unlocked or no such object), -EINVAL when the record does not decode
 * (a Ceph with another encoding), or -errno.
 */
int	lockop_lockers(rados_ioctx_t io, const char *oid, const char *name,
	    struct lockop_locker *out, int max, enum lockop_type *type);

#endif
