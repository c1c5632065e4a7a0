/*
 * store/image_internal.h - the inside of an image (store/image.h), shared
 * by image.c (requests, pieces, the gate, flush) and image_layer.c (a
 * clone's reads through to its ancestors, and copy-up). Nothing else
 * includes it.
 *
 * Everything under img->lock as image.c's top comment says; the layer
 * state (struct layer_state) is under the same lock.
 */
#ifndef CEPHVOL_STORE_IMAGE_INTERNAL_H
#define CEPHVOL_STORE_IMAGE_INTERNAL_H

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rados/librados.h>

#include "store/image.h"

#define OID_LEN		96
#define OID_FMT		IMAGE_OID_PREFIX "%s.%016" PRIx64

#ifndef EBLOCKLISTED
#define EBLOCKLISTED	ESHUTDOWN
#endif

enum op { OP_READ, OP_WRITE, OP_DISCARD };
enum gate { GATE_OPEN, GATE_HELD, GATE_FENCED };

struct piece {
	struct req		*rq;
	unsigned		 idx;
	rados_completion_t	 c;		/* current send, or NULL */
	rados_write_op_t	 wop;		/* discard truncate/zero, or NULL */
	char			*buf;		/* read: where it lands; write: from */
	uint64_t		 off;		/* in the image */
	size_t			 len;
	int			 err;		/* when failed without a send */
	bool			 sent;		/* lock: on img->sent */
	bool			 cancelling;	/* lock: rados_aio_cancel asked */
	bool			 parked;	/* lock: on img->parked */
	struct piece		*prev, *next;	/* lock: sent, parked or a
						 * local list of failed ones */
};

struct req {
	struct image	*img;
	struct image_io	*io;
	enum op		 op;
	uint64_t	 seq;			/* submission order */
	uint64_t	 ticket;		/* mutating only, else 0 */
	struct req	*prev, *next;		/* img->lock: mutating list */
	struct req	*defer_next;		/* img->lock: finisher's queue */
	unsigned	 n;
	struct piece	 p[];
};

struct plist {
	struct piece	*head, *tail;
};

struct image {
	rados_ioctx_t	 ioctx;			/* its own: the snapshot context */
	bool		 readonly;		/* reads at a snapshot */
	char		 id[40];
	_Atomic uint64_t size;			/* grows (image_set_size) */
	uint64_t	 osz;
	unsigned	 shift;			/* log2(osz) */
	bool		(*guard)(void *);	/* set before I/O */
	void		*guard_arg;
	atomic_int	 fence;			/* 0 or -errno */

	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;			/* a request left */
	enum gate	 gate;			/* lock */
	struct plist	 sent;			/* lock: in librados */
	struct plist	 parked;		/* lock: held, submission order */
	unsigned	 n_cancelling;		/* lock: cancelled, not back yet */
	unsigned	 n_parked;		/* lock */
	uint64_t	 next_seq;		/* lock */
	struct req	*mut_head;		/* lock: mutating, ticket order */
	struct req	*mut_tail;		/* lock */
	uint64_t	 next_ticket;		/* lock: last ticket given */
	unsigned	 n_inflight;		/* lock: requests not yet freed */
	struct req	*defer_head, *defer_tail;	/* lock: the finisher's */
	struct req	*unanswered_head, *unanswered_tail;	/* lock: complete,
						 * answered when the gate opens */
	pthread_cond_t	 defer_cond;		/* the finisher waits on it */
	bool		 finisher_stop;		/* lock */
	pthread_t	 finisher;
	struct layer	*layer;			/* a clone's ancestors, or NULL
						 * (image_layer.c) */
};

/* Object objno's name into buf (OID_LEN bytes). */
void	image_oid(const struct image *img, uint64_t objno, char *buf);
/* Send p as the gate says (again, after a copy-up); img->lock held.
 * Pieces that fail at once go on failed, for image_finish_failed()
 * without the lock. */
void	image_dispatch_locked(struct image *img, struct piece *p,
	    struct plist *failed);
void	image_finish_failed(struct plist *failed);
/* p fails with err (onto failed, finished by image_finish_failed()). */
void	image_fail_locked(struct piece *p, int err, struct plist *failed);
/* A read piece the layer answered: r is 0 or -errno. */
void	image_read_answered(struct piece *p, int r);

/* ---- image_layer.c ---- */

/* Start the layer of a clone (geom->n_layers > 0): a thread and the
 * ancestors' ioctxs. 0 or -errno. */
int	layer_open(struct image *img, struct store *st,
	    const struct image_geometry *geom);
/* After every request is done. Nothing when the image has no layers. */
void	layer_close(struct image *img);
/* img->lock held. A write or discard piece about to be sent: true when
 * the layer took it (its object must be copied up first, or is being; or
 * it failed onto `failed`). */
bool	layer_take_send_locked(struct image *img, struct piece *p,
	    struct plist *failed);
/* No lock. A read piece that found no object: true when the layer took it
 * (it reads through to the ancestors, asynchronously, and answers it). */
bool	layer_take_read(struct image *img, struct piece *p);
/* img->lock held: until no copy-up is running (it writes through the
 * image's ioctx, whose snapshot context is about to change). */
void	layer_wait_idle_locked(struct image *img);
/* Whole-object discards of a clone inside the overlap leave an empty
 * object (the ancestors' bytes must not show through): true then. */
bool	layer_masks_discard(const struct image *img, uint64_t objno);

#endif
