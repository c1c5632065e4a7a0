/*
 * store/image.h - a block volume's bytes in RADOS: byte ranges to objects.
 *
 * A volume of `size` bytes is striped over objects of `object_size` bytes
 * named "cephvol.data.<volume id>.<object number as 16 hex digits>". A
 * missing object, or the part of an object past its end, reads as zeros.
 * Every call returns 0 or -errno. I/O is asynchronous: a request carries
 * its completion, which runs on a librados callback thread (never inline in
 * the submit call), exactly once. The caller owns struct image_io and its
 * buffer (read or write) until done() runs: a request held while the lease
 * is unconfirmed is sent again from it (see the gate below).
 *
 * Nothing above this layer knows an object name; this layer knows nothing of
 * FUSE or of leases (a guard callback tells it whether it may still do I/O).
 */
#ifndef CEPHVOL_STORE_IMAGE_H
#define CEPHVOL_STORE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct image;

/* Data objects are IMAGE_OID_PREFIX "<volume id>.<16 hex digits>". */
#define IMAGE_OID_PREFIX	"cephvol.data."

struct image_io {
	uint64_t	 off;
	size_t		 len;
	void		*buf;					/* caller's */
	void		(*done)(struct image_io *, int r);	/* r: 0 or -errno */
	void		*arg;					/* caller's */
	/* private to image.c */
	int		 priv_result;
	unsigned	 priv_pending;
};

/*
 * A clone reads through to the snapshot it was made from: an object it has
 * not written yet reads as that snapshot's object, and the first write or
 * partial discard of such an object copies it up first (the clone's own
 * object then holds the inherited bytes). The snapshot's volume may itself
 * be a clone: layers[0] is the parent, layers[1] the grandparent, ...
 * Only the first `overlap` bytes come from a layer (the parent's size when
 * the clone was made), and an ancestor never beyond a nearer one's.
 * Every layer has the image's object size.
 */
struct image_layer {
	const char	*id;		/* the ancestor's volume id */
	uint64_t	 snap;		/* its RADOS snapshot id */
	uint64_t	 overlap;	/* bytes */
};

struct image_geometry {
	const char	*id;		/* volume id, 16 hex digits */
	uint64_t	 size;		/* bytes */
	uint64_t	 object_size;	/* power of two */
	uint64_t	 read_snap;	/* 0: the image as it is now; else the
					 * RADOS snapshot id to read at (the
					 * image is then read-only: -EROFS) */
	const struct image_layer *layers;	/* NULL, or n_layers (copied) */
	unsigned	 n_layers;
	bool		 readonly;	/* writes and discards fail: -EROFS */
};

/* geom is copied. *out is new: image_close(). */
int	image_open(struct store *st, const struct image_geometry *geom,
	    struct image **out);
/* Fail with -EIO (-EINVAL if the range is past the end: off + len > size). */
int	image_submit_read(struct image *img, struct image_io *io);
int	image_submit_write(struct image *img, struct image_io *io);
/* Whole objects inside the range are removed, partial ones zeroed or
 * truncated at their tail. */
int	image_submit_discard(struct image *img, struct image_io *io);
/* Returns when every write and discard submitted before it is acknowledged
 * and the gate is open (the lease confirmed): 0, or the fence error. */
int	image_flush(struct image *img);
/* Waits for everything in flight, then frees. */
void	image_close(struct image *img);
/*
 * The snapshot context every later write carries (store/snapshot.h): seq
 * and the snapshot ids, newest first. The image has its own ioctx, so this
 * touches nothing else of the store. Set it before I/O starts, and after
 * image_flush() when a snapshot was taken.
 */
int	image_set_snap_context(struct image *img, uint64_t seq,
	    const uint64_t *ids, size_t n);
/* The image grows to size bytes (a resize of a mounted volume): grow only,
 * -EINVAL otherwise. Requests up to the new end are accepted from now. */
int	image_set_size(struct image *img, uint64_t size);
/* A clone's every object still inherited, copied up (no other I/O may run:
 * `cephvol volume flatten`, under the lease); after it the image reads
 * nothing through. progress(done, total, arg) may be NULL. 0 or -errno. */
int	image_flatten(struct image *img, void (*progress)(uint64_t done,
	    uint64_t total, void *arg), void *arg);

/*
 * The gate: what the lease allows (store/lease.h).
 *  - image_hold(): the lease is unconfirmed (its deadline passed, another
 *    host may take the volume from now on). Nothing more is sent to RADOS;
 *    what librados still has in flight is cancelled (it would resend it by
 *    itself when the cluster comes back) and kept, with every new request,
 *    to be sent again, in the order submitted, by image_resume(). Nothing
 *    fails: the caller only waits, as for a slow cluster.
 *  - image_resume(): the lease is confirmed again; cheap when nothing is
 *    held.
 *  - image_fence(): lost for good. Everything held or in flight completes
 *    with err at once, and every later request fails with err at submit.
 * guard(arg) is asked before anything is sent; false holds the image (the
 * lease's clock ran out before its thread said so).
 */
void	image_set_guard(struct image *img, bool (*guard)(void *arg), void *arg);
void	image_hold(struct image *img);
void	image_resume(struct image *img);
void	image_fence(struct image *img, int err);
/* Pieces held now (waiting for image_resume), for logs and tests. */
unsigned image_held(struct image *img);

/* Whole-image walks (store/image_walk.c), found by listing the pool. */
/* Bytes allocated in RADOS for this image (sum of its objects' sizes). */
int	image_allocated(struct store *st, const char *id, uint64_t *bytes,
	    uint64_t *objects);
/* Remove every data object of the image (volume rm, fsck). */
int	image_remove_all(struct store *st, const char *id);
/*
 * Roll objects 0..objects-1 of image id back to snapshot snap (an object
 * that did not exist then is removed), writing with the snapshot context
 * (seq, ids newest first) so that newer snapshots keep their bytes.
 * still_ours(arg) (may be NULL) is asked every 64 objects; false stops it
 * with -ENOLCK. Interrupted, the image is partly rolled back.
 */
int	image_rollback(struct store *st, const char *id, uint64_t objects,
	    uint64_t snap, uint64_t seq, const uint64_t *ids, size_t n,
	    bool (*still_ours)(void *arg), void *arg);

/*
 * Which of objects first..first+count-1 of image id differ between two read
 * points (snapshot ids; 0: the image as it is now): out[i] for object
 * first+i. Exact, from the OSDs' own record: an object that was not
 * written between the two reads as the same object version at both (a
 * snapshot read of an object untouched since resolves to the same clone),
 * and every write changes the version; one that exists at only one of them
 * changed too. A stat of each object at each point, nothing read. Objects
 * of a clone's ancestors are not looked at (they do not change).
 */
struct image_change {
	bool		 changed;
	bool		 both;		/* it exists at both points */
	uint64_t	 size_a, size_b;	/* its size at each (0: absent) */
};
int	image_changed_objects(struct store *st, const char *id, uint64_t first,
	    uint64_t count, uint64_t snap_a, uint64_t snap_b,
	    struct image_change *out);
/*
 * For n objects that changed and exist at both points (objects[i], cs[i]
 * from image_changed_objects), which of their object_size / block blocks
 * differ: changed[i * (object_size / block) + b] for block b of the i-th.
 * From an xxhash64 of each block the OSD computes at both points (it reads
 * the objects; only the sums come here), all n in flight at once; blocks
 * past the smaller of an object's two sizes count as changed.
 */
int	image_changed_blocks(struct store *st, const char *id,
	    const uint64_t *objects, const struct image_change *cs, size_t n,
	    uint64_t snap_a, uint64_t snap_b, uint64_t block, uint64_t object_size,
	    bool *changed);
/*
 * Whether one object holds the same bytes at both read points, for one
 * image_changed_objects() calls changed: a rollback rewrites an object
 * with its old bytes under a new version. Its size and an xxhash64 the
 * OSD computes over it at each (the OSD reads it, nothing comes here).
 */
int	image_objects_equal(struct store *st, const char *id, uint64_t object,
	    uint64_t snap_a, uint64_t snap_b, bool *equal);

#endif
