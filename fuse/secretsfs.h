/*
 * fuse/secretsfs.h - a secrets volume served as a read-only, memory-only
 * FUSE tree (`cephvol-mount --secrets`): the state its four files share,
 * and the tree itself (fuse/secretsfs.c). From the bottom up:
 *
 *	secretsfs.c		what it serves: one entry per grant, loaded
 *				at start, and the plaintext values
 *	secretsfs_fuse.c	the FUSE layer: the callbacks, the session
 *	secretsfs_refresh.c	keeping the entries current: watches, the
 *				refresher thread, revoking the whole volume
 *	secretsfs_server.c	its life: start-up, serving, stop (the struct
 *				server of fuse/server.h), the registration
 *
 * Threads and locking. One FUSE thread (every request is a memory access),
 * the refresher, the signal thread (stop only), librados' watch callbacks.
 * fs->lock guards each entry's mutable fields (value, owner, mode, state),
 * the list of live values and their reference counts, and the refresher's
 * flags. Never held across a RADOS call, a FUSE reply or a log line of a
 * value (there are none). Everything else is fixed once the tree is loaded,
 * or belongs to one thread, or is atomic.
 */
#ifndef CEPHVOL_SECRETSFS_H
#define CEPHVOL_SECRETSFS_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/util.h"
#include "store/catalog.h"
#include "store/secretstore.h"

struct fuse_session;
struct lease;
struct masterkey;
struct store;

/* A plaintext value and who refers to it (the tree and open handles). */
struct secretsfs_value {
	struct secretsfs_value	*prev, *next;	/* fs->vals; fs->lock */
	unsigned		 refs;		/* fs->lock */
	struct secret_value	 v;		/* v.data: sodium_malloc, read-only */
};

enum secretsfs_state {
	SECRETSFS_OK = 0,	/* cur is the value to serve */
	SECRETSFS_BAD,		/* failed authentication: listed, open -> EIO */
	SECRETSFS_GONE,		/* removed: not listed */
};

/* One granted secret: inode 2 + its index in fs->e. */
struct secretsfs_entry {
	struct secretsfs	*fs;
	char			 name[NAME_MAX_LEN + 1];
	uint32_t		 pin;		/* 0 = follow the latest */
	uint64_t		 ino;
	uint64_t		 watch;		/* the refresher's once serving */
	bool			 watching;	/* the refresher's once serving */
	atomic_bool		 dirty;		/* notified, or to retry */
	/* fs->lock: */
	struct secretsfs_value	*cur;		/* NULL unless SECRETSFS_OK */
	enum secretsfs_state	 state;
	uid_t			 uid;
	gid_t			 gid;
	mode_t			 mode;
	uint32_t		 version;	/* of cur, or the one that failed */
	struct timespec		 mtime;		/* when cur was installed */
};

/* One per process: made and freed by fuse/secretsfs_server.c, which owns
 * what the pointers below point to (mountpoint is borrowed from argv). */
struct secretsfs {
	/* Fixed once loaded. */
	char			 volume[NAME_MAX_LEN + 1];
	char			 id[VOLUME_ID_LEN + 1];	/* of the volume mounted */
	json_t			*grants;	/* its grants, as mounted */
	const char		*mountpoint;	/* borrowed */
	struct store		*st;
	struct masterkey	*mk;
	struct secretsfs_entry	*e;		/* n entries */
	size_t			 n;
	struct timespec		 started;
	struct lease		*reg;		/* the mount's registration */

	pthread_mutex_t		 lock;
	struct secretsfs_value	*vals;		/* lock: every live value */

	/* The refresher's (fuse/secretsfs_refresh.c). */
	unsigned		 recheck_s;
	pthread_t		 refresher;
	pthread_cond_t		 cond;		/* CLOCK_MONOTONIC; wakes it */
	bool			 stop;		/* lock */
	bool			 kick;		/* lock: some entry is dirty */
	atomic_bool		 revoked;	/* volume gone or changed: serve
						 * nothing, for good */
	char			 revoked_why[256];	/* lock */
	bool			 withdrawn;	/* all withdrawn after revoked */

	/* The FUSE layer's (fuse/secretsfs_fuse.c). */
	struct fuse_session	*se;
	atomic_bool		 stop_asked;

	/* For the unmount line of the audit. */
	_Atomic uint64_t	 n_opens, n_rotations, n_failures;
};

/*
 * One entry per grant in fs->grants, each secret read and authenticated
 * now; fs->st, fs->mk, fs->volume and fs->lock must be set. -errno and a
 * sentence naming the secret when any of them cannot be served (then
 * secretsfs_free() undoes what was loaded).
 */
int	secretsfs_load(struct secretsfs *fs, char *err, size_t errlen);
/* Make v (its data stolen) e's value, with m's owner and mode; the value
 * it replaces is wiped once no reader holds it. 0 or -ENOMEM (logged; e
 * keeps its value). */
int	secretsfs_install(struct secretsfs *fs, struct secretsfs_entry *e,
	    const struct secret_meta *m, struct secret_value *v);
/* Serve nothing for e any more (state SECRETSFS_BAD or SECRETSFS_GONE). */
void	secretsfs_withdraw(struct secretsfs *fs, struct secretsfs_entry *e,
	    enum secretsfs_state state, uint32_t version);
/* e's value, with a reference for an open file; NULL when it has none, and
 * then *state and *version say why. */
struct secretsfs_value *secretsfs_get(struct secretsfs *fs,
	    struct secretsfs_entry *e, enum secretsfs_state *state,
	    uint32_t *version);
/* Drop an open file's reference (NULL: nothing). */
void	secretsfs_put(struct secretsfs *fs, struct secretsfs_value *s);
/* Wipe every value, referenced or not, and free the entries; how many
 * values were wiped. */
size_t	secretsfs_free(struct secretsfs *fs);

#endif
