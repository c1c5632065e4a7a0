/*
 * image_layer.c - a clone's reads through to its ancestors, and copy-up
 * (store/image.h, struct image_layer), as RBD's layering does.
 *
 * Reads: a piece that finds no object of the clone (-ENOENT) is taken
 * here and read from the parent's object at its snapshot, then the
 * grandparent's, ...; the first that exists gives the bytes (a short one is
 * zero-filled), none gives zeros. Past a layer's overlap there is nothing
 * to inherit.
 *
 * Writes and partial discards: an object inside the overlap may still be
 * the parent's, so before the first one is sent it is copied up: if the
 * clone has no such object yet, the ancestors' bytes are read and written
 * as the clone's object, created exclusively (another writer's copy-up, or
 * a later one after a takeover, then changes nothing: the bytes are the
 * snapshot's, which never change). Its state (struct layer_state, one byte
 * per object, in chunks allocated when first touched) goes UNKNOWN ->
 * COPYING -> READY; pieces that arrive while it is COPYING wait on the
 * job in the order they were dispatched, and are dispatched again, in that
 * order, once it is READY, so two writes of one object still reach RADOS
 * in the order they were submitted. A copy-up is safe whatever the lease
 * says (it writes only the snapshot's bytes, and never over an object that
 * exists), so it does not wait for the gate; the pieces do.
 * A whole-object discard inside the overlap leaves an empty object instead
 * of removing it, so the parent's bytes do not show through.
 *
 * Reads through are asynchronous, one ancestor after the other from the
 * completions. Copy-ups are done by one thread, synchronously, in order
 * (image_set_snap_context() waits for the one running: it writes through
 * the image's ioctx). A copy-up that fails fails its waiting pieces; the
 * next write of the object tries again. The jobs and the states are under
 * img->lock; the I/O runs without it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

#include "common/log.h"
#include "store/conn.h"
#include "store/image_internal.h"

#define CHUNK_SHIFT	16		/* objects per state chunk: 64K */
#define CHUNK_OBJECTS	((uint64_t)1 << CHUNK_SHIFT)

enum obj_state { OBJ_UNKNOWN = 0, OBJ_COPYING, OBJ_READY };

struct ancestor {
	char		 id[40];
	uint64_t	 overlap;	/* clipped by every nearer one */
	rados_ioctx_t	 ioctx;		/* reads at its snapshot */
};

struct job {
	struct job	*next;		/* the queue */
	struct job	*cnext;		/* l->copying */
	uint64_t	 objno;		/* copy this object up */
	struct plist	 waiting;	/* its pieces, in dispatch order */
};

struct layer {
	struct ancestor	*anc;
	unsigned	 n;
	uint64_t	 overlap;	/* the parent's: nothing past it */
	uint8_t		**chunks;	/* lock: enum obj_state per object */
	size_t		 n_chunks;
	struct job	*head, *tail;	/* lock: to do, in order */
	struct job	*copying;	/* lock: copy-ups queued or running */
	bool		 copying_now;	/* lock: one is running (unlocked) */
	bool		 stop;		/* lock */
	pthread_cond_t	 cond;
	pthread_t	 thread;
	char		*buf;		/* the thread's: one object */
};

static void *layer_main(void *arg);

/* ---- object states --------------------------------------------------------- */

static enum obj_state
state_get(struct layer *l, uint64_t objno)
{
	uint64_t c = objno >> CHUNK_SHIFT;

	if (c >= l->n_chunks || l->chunks[c] == NULL)
		return OBJ_UNKNOWN;
	return l->chunks[c][objno & (CHUNK_OBJECTS - 1)];
}

/* False when out of memory (the state stays UNKNOWN: copied up again). */
static bool
state_set(struct layer *l, uint64_t objno, enum obj_state s)
{
	uint64_t c = objno >> CHUNK_SHIFT;

	if (c >= l->n_chunks)
		return false;
	if (l->chunks[c] == NULL &&
	    (l->chunks[c] = calloc(CHUNK_OBJECTS, 1)) == NULL)
		return false;
	l->chunks[c][objno & (CHUNK_OBJECTS - 1)] = (uint8_t)s;
	return true;
}

/* ---- open and close ---------------------------------------------------------- */

int
layer_open(struct image *img, struct store *st, const struct image_geometry *geom)
{
	struct layer *l;
	uint64_t overlap = UINT64_MAX, objects;
	int r = -ENOMEM;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -ENOMEM;
	if ((l->anc = calloc(geom->n_layers, sizeof(*l->anc))) == NULL)
		goto fail;
	for (unsigned i = 0; i < geom->n_layers; i++) {
		struct ancestor *a = &l->anc[i];

		if (strlen(geom->layers[i].id) >= sizeof(a->id)) {
			r = -EINVAL;
			goto fail;
		}
		snprintf(a->id, sizeof(a->id), "%s", geom->layers[i].id);
		if (geom->layers[i].overlap < overlap)
			overlap = geom->layers[i].overlap;
		a->overlap = overlap;
		if ((r = store_ioctx_new(st, &a->ioctx)) < 0)
			goto fail;
		rados_ioctx_snap_set_read(a->ioctx, geom->layers[i].snap);
		l->n++;
	}
	l->overlap = l->anc[0].overlap;
	objects = (l->overlap + img->osz - 1) >> img->shift;
	l->n_chunks = (size_t)((objects + CHUNK_OBJECTS - 1) >> CHUNK_SHIFT);
	r = -ENOMEM;
	if ((l->chunks = calloc(l->n_chunks ? l->n_chunks : 1, sizeof(*l->chunks))) == NULL ||
	    (l->buf = malloc(img->osz)) == NULL)
		goto fail;
	pthread_cond_init(&l->cond, NULL);
	img->layer = l;		/* before the thread, which reads it */
	if (pthread_create(&l->thread, NULL, layer_main, img) != 0) {
		img->layer = NULL;
		pthread_cond_destroy(&l->cond);
		r = -EAGAIN;
		goto fail;
	}
	return 0;
fail:
	for (unsigned i = 0; i < l->n; i++)
		rados_ioctx_destroy(l->anc[i].ioctx);
	free(l->anc);
	free(l->chunks);
	free(l->buf);
	free(l);
	return r;
}

void
layer_close(struct image *img)
{
	struct layer *l = img->layer;

	if (l == NULL)
		return;
	pthread_mutex_lock(&img->lock);
	l->stop = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&img->lock);
	pthread_join(l->thread, NULL);
	for (unsigned i = 0; i < l->n; i++)
		rados_ioctx_destroy(l->anc[i].ioctx);
	for (size_t c = 0; c < l->n_chunks; c++)
		free(l->chunks[c]);
	pthread_cond_destroy(&l->cond);
	free(l->chunks);
	free(l->anc);
	free(l->buf);
	free(l);
	img->layer = NULL;
}

/* ---- reading through ----------------------------------------------------------- */

/*
 * The inherited bytes of object objno, [ooff, ooff + len), into buf: from
 * the nearest ancestor that has the object. *found: how many bytes (from
 * ooff) are data; the rest of len is zeroed. 0 or -errno.
 */
static int
read_through(struct image *img, uint64_t objno, uint64_t ooff, size_t len,
    char *buf, size_t *found)
{
	struct layer *l = img->layer;
	uint64_t base = objno << img->shift;

	*found = 0;
	for (unsigned i = 0; i < l->n; i++) {
		struct ancestor *a = &l->anc[i];
		char oid[OID_LEN];
		size_t want = len;
		int r;

		if (base + ooff >= a->overlap)
			break;			/* nothing to inherit here */
		if (base + ooff + want > a->overlap)
			want = (size_t)(a->overlap - base - ooff);
		snprintf(oid, sizeof(oid), OID_FMT, a->id, objno);
		r = rados_read(a->ioctx, oid, buf, want, ooff);
		if (r == -ENOENT)
			continue;		/* the next ancestor's, if any */
		if (r < 0)
			return r;
		*found = (size_t)r;
		break;
	}
	memset(buf + *found, 0, len - *found);
	return 0;
}

/* An asynchronous read-through: one ancestor after the other. */
struct through {
	struct image	*img;
	struct piece	*p;
	unsigned	 i;		/* the ancestor being read */
	rados_completion_t c;
};

static void through_done(rados_completion_t c, void *arg);

/* Read t's piece from ancestor t->i on: 1 sent, 0 when none is left to ask
 * (the rest of the piece is then zeros), or -errno when it cannot be sent. */
static int
through_send(struct through *t)
{
	struct layer *l = t->img->layer;
	struct piece *p = t->p;
	uint64_t objno = p->off >> t->img->shift, ooff = p->off & (t->img->osz - 1);
	int r;

	for (; t->i < l->n; t->i++) {
		struct ancestor *a = &l->anc[t->i];
		char oid[OID_LEN];
		size_t want = p->len;

		if (p->off >= a->overlap)
			return 0;
		if (p->off + want > a->overlap)
			want = (size_t)(a->overlap - p->off);
		snprintf(oid, sizeof(oid), OID_FMT, a->id, objno);
		if ((r = rados_aio_create_completion2(t, through_done, &t->c)) < 0)
			return r;
		if ((r = rados_aio_read(a->ioctx, oid, t->c, p->buf, want, ooff)) == 0)
			return 1;
		rados_aio_release(t->c);
		return r;
	}
	return 0;
}

static void
through_done(rados_completion_t c, void *arg)
{
	struct through *t = arg;
	struct piece *p = t->p;
	int r = rados_aio_get_return_value(c);

	rados_aio_release(c);
	if (r == -ENOENT) {
		t->i++;
		if ((r = through_send(t)) > 0)
			return;
		/* 0: no ancestor has it: zeros */
	}
	if (r >= 0) {
		memset(p->buf + r, 0, p->len - (size_t)r);
		r = 0;
	}
	free(t);
	image_read_answered(p, r);
}

bool
layer_take_read(struct image *img, struct piece *p)
{
	struct through *t;
	int r;

	if (p->off >= img->layer->overlap)
		return false;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		image_read_answered(p, -ENOMEM);
		return true;
	}
	t->img = img;
	t->p = p;
	if ((r = through_send(t)) <= 0) {
		free(t);
		if (r == 0)
			memset(p->buf, 0, p->len);
		image_read_answered(p, r);
	}
	return true;
}

/* ---- copy-up ------------------------------------------------------------------ */

bool
layer_masks_discard(const struct image *img, uint64_t objno)
{
	return img->layer != NULL && (objno << img->shift) < img->layer->overlap;
}

/* Onto a job's waiting list in submission order: a piece sent again after a
 * hold (an older one: a whole-object discard needs no copy-up and may have
 * gone out first) must not queue behind a newer one of the same object. */
static void
wait_in_order(struct plist *w, struct piece *p)
{
	struct piece *at = w->tail;

	while (at != NULL && (p->rq->seq < at->rq->seq ||
	    (p->rq->seq == at->rq->seq && p->idx < at->idx)))
		at = at->prev;
	p->prev = at;
	p->next = at ? at->next : w->head;
	if (p->next)
		p->next->prev = p;
	else
		w->tail = p;
	if (at)
		at->next = p;
	else
		w->head = p;
}

bool
layer_take_send_locked(struct image *img, struct piece *p, struct plist *failed)
{
	struct layer *l = img->layer;
	uint64_t objno = p->off >> img->shift;
	struct job *j;

	if ((objno << img->shift) >= l->overlap)
		return false;
	switch (state_get(l, objno)) {
	case OBJ_READY:
		return false;
	case OBJ_COPYING:
		for (j = l->copying; j; j = j->cnext)
			if (j->objno == objno) {
				wait_in_order(&j->waiting, p);
				return true;
			}
		image_fail_locked(p, -EIO, failed);	/* cannot happen */
		return true;
	case OBJ_UNKNOWN:
		break;
	}
	/* A whole-object discard needs nothing inherited. */
	if (p->rq->op == OP_DISCARD && (p->off & (img->osz - 1)) == 0 &&
	    (p->len == img->osz || p->off + p->len == img->size))
		return false;
	if ((j = calloc(1, sizeof(*j))) == NULL || !state_set(l, objno, OBJ_COPYING)) {
		free(j);
		image_fail_locked(p, -ENOMEM, failed);	/* never without the copy */
		return true;
	}
	j->objno = objno;
	j->waiting.head = j->waiting.tail = p;
	p->prev = p->next = NULL;
	j->cnext = l->copying;
	l->copying = j;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	pthread_cond_signal(&l->cond);
	return true;
}

/* Copy object objno up, unless the clone has it already. 0 or -errno. */
static int
copy_up(struct image *img, uint64_t objno)
{
	struct layer *l = img->layer;
	uint64_t base = objno << img->shift;
	size_t len = img->osz, found;
	rados_write_op_t op;
	char oid[OID_LEN];
	uint64_t size;
	time_t mtime;
	int r;

	image_oid(img, objno, oid);
	r = rados_stat(img->ioctx, oid, &size, &mtime);
	if (r == 0)
		return 0;
	if (r != -ENOENT)
		return r;
	if (base + len > l->overlap)
		len = (size_t)(l->overlap - base);
	if ((r = read_through(img, objno, 0, len, l->buf, &found)) < 0)
		return r;
	if (found == 0)
		return 0;		/* nothing inherited: a plain write is right */
	if ((op = rados_create_write_op()) == NULL)
		return -ENOMEM;
	rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
	rados_write_op_write(op, l->buf, found, 0);
	r = rados_write_op_operate(op, img->ioctx, oid, NULL, 0);
	rados_release_write_op(op);
	return r == -EEXIST ? 0 : r;
}

/* The job's object is copied up (r == 0) or cannot be: its pieces go on,
 * in order, dispatched under the same hold of the lock that makes the
 * object READY, so no newer piece can pass them; or they fail. */
static void
copy_up_done(struct image *img, struct job *j, int r)
{
	struct layer *l = img->layer;
	struct plist failed = { NULL, NULL };
	struct piece *p, *next;

	if (r < 0)
		log_err("image %s: cannot copy object %" PRIu64 " up from its "
		    "parent: %s", img->id, j->objno, strerror(-r));
	if (r == -EBLOCKLISTED)
		image_fence(img, r);
	pthread_mutex_lock(&img->lock);
	state_set(l, j->objno, r == 0 ? OBJ_READY : OBJ_UNKNOWN);
	for (struct job **pp = &l->copying; *pp; pp = &(*pp)->cnext)
		if (*pp == j) {
			*pp = j->cnext;
			break;
		}
	/* Could not: its pieces fail with why (the next write of the object
	 * tries again); else they go on. */
	for (p = j->waiting.head; p; p = next) {
		next = p->next;
		p->prev = p->next = NULL;
		if (r < 0)
			image_fail_locked(p, r, &failed);
		else
			image_dispatch_locked(img, p, &failed);
	}
	l->copying_now = false;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&img->lock);
	image_finish_failed(&failed);
	free(j);
}

static void *
layer_main(void *arg)
{
	struct image *img = arg;
	struct layer *l = img->layer;

	pthread_mutex_lock(&img->lock);
	for (;;) {
		struct job *j = l->head;

		if (j == NULL) {
			if (l->stop)
				break;
			pthread_cond_wait(&l->cond, &img->lock);
			continue;
		}
		l->head = j->next;
		if (l->head == NULL)
			l->tail = NULL;
		l->copying_now = true;	/* image_set_snap_context waits */
		pthread_mutex_unlock(&img->lock);
		copy_up_done(img, j, copy_up(img, j->objno));
		pthread_mutex_lock(&img->lock);
	}
	pthread_mutex_unlock(&img->lock);
	return NULL;
}

int
image_flatten(struct image *img, void (*progress)(uint64_t, uint64_t, void *),
    void *arg)
{
	struct layer *l = img->layer;
	uint64_t objects;
	int r = 0;

	if (l == NULL)
		return 0;
	objects = (l->overlap + img->osz - 1) >> img->shift;
	for (uint64_t o = 0; r == 0 && o < objects; o++) {
		if ((r = copy_up(img, o)) < 0)
			log_err("image %s: cannot copy object %" PRIu64 " up: %s",
			    img->id, o, strerror(-r));
		if (progress)
			progress(o + 1, objects, arg);
	}
	return r;
}

void
layer_wait_idle_locked(struct image *img)
{
	struct layer *l = img->layer;

	while (l != NULL && l->copying_now)
		pthread_cond_wait(&l->cond, &img->lock);
}
