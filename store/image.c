/*
 * image.c - a block volume's bytes in RADOS: byte ranges to objects.
 *
 * A request (struct image_io) is split at object boundaries into pieces,
 * one librados aio operation each; the request completes when its last
 * piece does. io->priv_pending counts the pieces not yet finished plus one
 * held by the submitter while it submits; io->priv_result keeps the first
 * error (compare-and-swap from 0). Whoever takes priv_pending to zero
 * calls done(). The submitter never does: if its own reference is the
 * last (every piece already finished, or none could be sent), the request
 * goes to the image's own finisher thread, so done() never runs inline in
 * a submit call. (Not rados_aio_flush_async(): that waits for every
 * earlier write of the ioctx, so a fast read would wait for a slow
 * unrelated write.)
 *
 * Pieces:
 *	read	rados_aio_read; -ENOENT and a short read are zero-filled.
 *	write	rados_aio_write.
 *	discard	a whole object is removed; a piece that reaches the object's
 *		end (or the image's) truncates it; a middle piece is zeroed.
 *		Truncate and zero assert that the object exists so that a
 *		discard never creates one; -ENOENT is success.
 *
 * The gate (store/image.h). Open: a piece is sent at once and sits on
 * img->sent until its completion. Held (lease unconfirmed): nothing is
 * sent; every piece on img->sent gets rados_aio_cancel(), so librados will
 * not resend it when the cluster comes back, and a piece whose completion
 * says -ECANCELED goes to img->parked, as does every new piece. Parked
 * pieces are kept in submission order (request sequence, then piece
 * index); on resume they are sent again in that order, but only once every
 * cancelled piece is back (n_cancelling == 0), and new pieces queue behind
 * them meanwhile, so two requests on the same bytes reach RADOS in the
 * order they were submitted, whatever the stall did. A resent write is
 * the same bytes at the same place: harmless if the first copy did land.
 * Fenced: parked pieces fail with the fence error at once, pieces in
 * flight are cancelled and fail with it when they come back, new requests
 * fail at submit. A piece that completes with -EBLOCKLISTED (== -ESHUTDOWN
 * on Linux: the OSDs refuse us) fences the image. A request is answered
 * only while the gate is open: one whose last piece comes back while the
 * image is held waits (img->unanswered) for the resume, or fails with the
 * fence, so no success is ever reported once another host may own the
 * volume.
 *
 * Flush: every write and discard takes a ticket (a sequence number) and
 * sits on img->mutating, in ticket order, until done() has returned.
 * image_flush() notes the last ticket given and waits until no request with
 * a ticket at or below it is left. There is no cache: a write is complete
 * when RADOS acknowledges it; a held write keeps a flush waiting, and so
 * does a held image: a flush reports success only while the lease is
 * confirmed (fuse/imagefs.c answers fsync with it).
 *
 * Locking: img->lock guards everything mutable (the gate, the sent and
 * parked lists, the mutating list, the counters) and is held while pieces
 * are handed to librados, so the gate cannot close between the check and
 * the send: once image_hold() has the lock, every piece sent is on
 * img->sent and gets cancelled. librados never runs a completion inline in
 * an aio call (it queues them on its finisher), so this cannot deadlock.
 * Completions and done() run without the lock. The fence is also an atomic
 * for the lock-free check at submit. The guard is set before I/O starts.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

#include "common/log.h"
#include "store/conn.h"
#include "store/image.h"
#include "store/image_internal.h"

static void *finisher_main(void *arg);

void
image_oid(const struct image *img, uint64_t objno, char *buf)
{
	snprintf(buf, OID_LEN, OID_FMT, img->id, objno);
}

int
image_open(struct store *st, const struct image_geometry *geom,
    struct image **out)
{
	struct image *img;
	unsigned shift = 0;
	int r;

	if (geom->object_size == 0 ||
	    (geom->object_size & (geom->object_size - 1)) != 0 ||
	    strlen(geom->id) == 0 || strlen(geom->id) >= sizeof(img->id))
		return -EINVAL;
	while ((1ULL << shift) < geom->object_size)
		shift++;
	if ((img = calloc(1, sizeof(*img))) == NULL)
		return -ENOMEM;
	if ((r = store_ioctx_new(st, &img->ioctx)) < 0) {
		free(img);
		return r;
	}
	if (geom->read_snap != 0)
		rados_ioctx_snap_set_read(img->ioctx, geom->read_snap);
	img->readonly = geom->readonly || geom->read_snap != 0;
	snprintf(img->id, sizeof(img->id), "%s", geom->id);
	img->size = geom->size;
	img->osz = geom->object_size;
	img->shift = shift;
	img->gate = GATE_OPEN;
	atomic_init(&img->fence, 0);
	pthread_mutex_init(&img->lock, NULL);
	pthread_cond_init(&img->cond, NULL);
	pthread_cond_init(&img->defer_cond, NULL);
	if (geom->n_layers > 0 && (r = layer_open(img, st, geom)) < 0)
		goto fail;
	if (pthread_create(&img->finisher, NULL, finisher_main, img) != 0) {
		layer_close(img);
		r = -EAGAIN;
		goto fail;
	}
	*out = img;
	return 0;
fail:
	pthread_cond_destroy(&img->defer_cond);
	pthread_cond_destroy(&img->cond);
	pthread_mutex_destroy(&img->lock);
	rados_ioctx_destroy(img->ioctx);
	free(img);
	return r;
}

void
image_set_guard(struct image *img, bool (*guard)(void *arg), void *arg)
{
	img->guard_arg = arg;
	img->guard = guard;
}

/* ---- piece lists ------------------------------------------------------------ */

static void
plist_remove(struct plist *l, struct piece *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		l->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		l->tail = p->prev;
	p->prev = p->next = NULL;
}

static void
plist_append(struct plist *l, struct piece *p)
{
	p->next = NULL;
	p->prev = l->tail;
	if (l->tail)
		l->tail->next = p;
	else
		l->head = p;
	l->tail = p;
}

static bool
piece_before(const struct piece *a, const struct piece *b)
{
	return a->rq->seq < b->rq->seq || (a->rq->seq == b->rq->seq && a->idx < b->idx);
}

/* Into img->parked in submission order (usually at the tail). */
static void
park_locked(struct image *img, struct piece *p)
{
	struct piece *at = img->parked.tail;

	while (at && piece_before(p, at))
		at = at->prev;
	if (at == NULL) {
		p->prev = NULL;
		p->next = img->parked.head;
		if (img->parked.head)
			img->parked.head->prev = p;
		else
			img->parked.tail = p;
		img->parked.head = p;
	} else {
		p->prev = at;
		p->next = at->next;
		if (at->next)
			at->next->prev = p;
		else
			img->parked.tail = p;
		at->next = p;
	}
	p->parked = true;
	img->n_parked++;
}

/* A piece that fails without (another) send: onto the caller's list, to
 * be finished once img->lock is dropped. */
static void
fail_locked(struct piece *p, int err, struct plist *failed)
{
	p->err = err;
	plist_append(failed, p);
}

/* ---- completion --------------------------------------------------------- */

static void
req_free(struct req *rq)
{
	unsigned i;

	for (i = 0; i < rq->n; i++) {
		if (rq->p[i].c)
			rados_aio_release(rq->p[i].c);
		if (rq->p[i].wop)
			rados_release_write_op(rq->p[i].wop);
	}
	free(rq);
}

/* Take rq off the books; img->lock held. */
static void
req_unlink(struct req *rq)
{
	struct image *img = rq->img;

	if (rq->ticket) {
		if (rq->prev)
			rq->prev->next = rq->next;
		else
			img->mut_head = rq->next;
		if (rq->next)
			rq->next->prev = rq->prev;
		else
			img->mut_tail = rq->prev;
	}
	img->n_inflight--;
}

/* The request's last reference is gone: tell the caller, then leave. */
static void
req_finish(struct req *rq)
{
	struct image *img = rq->img;
	struct image_io *io = rq->io;

	io->done(io, __atomic_load_n(&io->priv_result, __ATOMIC_ACQUIRE));
	/* io belongs to the caller again: not touched below */
	pthread_mutex_lock(&img->lock);
	req_unlink(rq);
	pthread_cond_broadcast(&img->cond);
	/* after the unlock image_close() may free img */
	pthread_mutex_unlock(&img->lock);
	req_free(rq);
}

static void
req_error(struct req *rq, int r)
{
	int zero = 0;

	__atomic_compare_exchange_n(&rq->io->priv_result, &zero, r, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static bool guard_ok(struct image *img);
static void hold_locked(struct image *img);

/*
 * The request's last piece is back: answer it, but only while the lease is
 * confirmed. A request that completes while the image is held (the
 * deadline passed: another host may own the volume by now) waits on
 * img->unanswered for image_resume() (then it is answered as it completed)
 * or the fence (then it fails with the fence error): an acknowledgement
 * means "done, and the volume is still ours", as for a flush.
 */
static void
req_complete(struct req *rq)
{
	struct image *img = rq->img;

	pthread_mutex_lock(&img->lock);
	if (img->gate == GATE_OPEN && !guard_ok(img))
		hold_locked(img);
	if (img->gate == GATE_HELD) {
		rq->defer_next = NULL;
		if (img->unanswered_tail)
			img->unanswered_tail->defer_next = rq;
		else
			img->unanswered_head = rq;
		img->unanswered_tail = rq;
		pthread_mutex_unlock(&img->lock);
		return;
	}
	if (img->gate == GATE_FENCED)
		req_error(rq, atomic_load(&img->fence));
	pthread_mutex_unlock(&img->lock);
	req_finish(rq);
}

/* Take the requests waiting to be answered; img->lock held. */
static struct req *
unanswered_take_locked(struct image *img)
{
	struct req *list = img->unanswered_head;

	img->unanswered_head = img->unanswered_tail = NULL;
	return list;
}

/* Answer them (the gate has opened or fenced); img->lock not held. */
static void
unanswered_finish(struct image *img, struct req *list)
{
	int fence = atomic_load(&img->fence);

	while (list) {
		struct req *rq = list;
		list = rq->defer_next;
		if (fence < 0)
			req_error(rq, fence);
		req_finish(rq);
	}
}

static void
req_put(struct req *rq)
{
	if (__atomic_sub_fetch(&rq->io->priv_pending, 1, __ATOMIC_ACQ_REL) == 0)
		req_complete(rq);
}

/* Finish the pieces on a failed list; img->lock not held. */
static void
finish_failed(struct plist *failed)
{
	struct piece *p, *next;

	for (p = failed->head; p; p = next) {
		next = p->next;
		p->prev = p->next = NULL;
		req_error(p->rq, p->err);
		req_put(p->rq);
	}
	failed->head = failed->tail = NULL;
}

/* The finisher: requests whose last reference was their submitter's. */
static void *
finisher_main(void *arg)
{
	struct image *img = arg;

	pthread_mutex_lock(&img->lock);
	for (;;) {
		struct req *rq = img->defer_head;
		if (rq == NULL) {
			if (img->finisher_stop)
				break;
			pthread_cond_wait(&img->defer_cond, &img->lock);
			continue;
		}
		img->defer_head = rq->defer_next;
		if (img->defer_head == NULL)
			img->defer_tail = NULL;
		pthread_mutex_unlock(&img->lock);
		req_complete(rq);
		pthread_mutex_lock(&img->lock);
	}
	pthread_mutex_unlock(&img->lock);
	return NULL;
}

/* ---- sending and the gate --------------------------------------------------- */

static void piece_done(rados_completion_t c, void *arg);

/* Hand p to librados; img->lock held. */
static void
send_locked(struct image *img, struct piece *p, struct plist *failed)
{
	struct req *rq = p->rq;
	uint64_t objno = p->off >> img->shift, ooff = p->off & (img->osz - 1);
	uint64_t obj_end = img->osz;
	char oid[OID_LEN];
	int r;

	/* a cancelled send's completion and op: its callback is done with
	 * them (it parked p under this lock) */
	if (p->c) {
		rados_aio_release(p->c);
		p->c = NULL;
	}
	if (p->wop) {
		rados_release_write_op(p->wop);
		p->wop = NULL;
	}
	/* a clone's object that must be copied up first */
	if (rq->op != OP_READ && img->layer != NULL &&
	    layer_take_send_locked(img, p, failed))
		return;
	/* the last object may be cut short by the image's end */
	if ((objno << img->shift) + obj_end > img->size)
		obj_end = img->size - (objno << img->shift);
	image_oid(img, objno, oid);
	if ((r = rados_aio_create_completion2(p, piece_done, &p->c)) < 0) {
		p->c = NULL;
		goto out_fail;
	}
	switch (rq->op) {
	case OP_READ:
		r = rados_aio_read(img->ioctx, oid, p->c, p->buf, p->len, ooff);
		break;
	case OP_WRITE:
		r = rados_aio_write(img->ioctx, oid, p->c, p->buf, p->len, ooff);
		break;
	case OP_DISCARD:
		if (ooff == 0 && p->len == obj_end && !layer_masks_discard(img, objno)) {
			r = rados_aio_remove(img->ioctx, oid, p->c);
			break;
		}
		if ((p->wop = rados_create_write_op()) == NULL) {
			r = -ENOMEM;
			break;
		}
		if (ooff == 0 && p->len == obj_end)	/* an empty object masks */
			rados_write_op_create(p->wop, LIBRADOS_CREATE_IDEMPOTENT, NULL);
		else
			rados_write_op_assert_exists(p->wop);
		if (ooff + p->len == obj_end)
			rados_write_op_truncate(p->wop, ooff);
		else
			rados_write_op_zero(p->wop, ooff, p->len);
		r = rados_aio_write_op_operate(p->wop, img->ioctx, p->c, oid,
		    NULL, 0);
		break;
	default:
		r = -EINVAL;
	}
	if (r < 0)
		goto out_fail;
	p->sent = true;
	plist_append(&img->sent, p);
	return;

out_fail:
	log_warn("image %s: cannot send %s at %" PRIu64 ": %s", img->id,
	    rq->op == OP_READ ? "read" : rq->op == OP_WRITE ? "write" : "discard",
	    p->off, strerror(-r));
	fail_locked(p, r, failed);
}

/* Cancel every piece in librados that is not being cancelled yet. */
static void
cancel_sent_locked(struct image *img)
{
	for (struct piece *p = img->sent.head; p; p = p->next) {
		if (p->cancelling)
			continue;
		p->cancelling = true;
		img->n_cancelling++;
		/* -ENOENT when it just completed: its callback then brings
		 * its real result */
		rados_aio_cancel(img->ioctx, p->c);
	}
}

static void
hold_locked(struct image *img)
{
	if (img->gate != GATE_OPEN)
		return;
	/* renewed since the caller looked: nothing to hold (and no resume
	 * would come until the next renewal) */
	if (img->guard && img->guard(img->guard_arg))
		return;
	img->gate = GATE_HELD;
	cancel_sent_locked(img);
	log_info("image %s: I/O held (lease unconfirmed), %u cancelled in flight",
	    img->id, img->n_cancelling);
}

static bool
guard_ok(struct image *img)
{
	return img->guard == NULL || img->guard(img->guard_arg);
}

/* Send what is parked, in order, once every cancelled piece is back. */
static void
drain_locked(struct image *img, struct plist *failed)
{
	while (img->gate == GATE_OPEN && img->n_cancelling == 0 && img->parked.head) {
		struct piece *p = img->parked.head;
		if (!guard_ok(img)) {
			hold_locked(img);
			return;
		}
		plist_remove(&img->parked, p);
		p->parked = false;
		img->n_parked--;
		send_locked(img, p, failed);
	}
}

static void
fence_locked(struct image *img, int err, struct plist *failed)
{
	struct piece *p;

	if (img->gate == GATE_FENCED)
		return;
	img->gate = GATE_FENCED;
	atomic_store(&img->fence, err);
	pthread_cond_broadcast(&img->cond);
	cancel_sent_locked(img);
	while ((p = img->parked.head) != NULL) {
		plist_remove(&img->parked, p);
		p->parked = false;
		img->n_parked--;
		fail_locked(p, err, failed);
	}
}

/* Send p now, hold it, or fail it, as the gate says; img->lock held. */
static void
dispatch_locked(struct image *img, struct piece *p, struct plist *failed)
{
	if (img->gate == GATE_FENCED) {
		fail_locked(p, atomic_load(&img->fence), failed);
		return;
	}
	if (img->gate == GATE_OPEN && !guard_ok(img))
		hold_locked(img);
	if (img->gate == GATE_HELD || img->n_cancelling > 0 || img->parked.head)
		park_locked(img, p);
	else
		send_locked(img, p, failed);
}

void
image_hold(struct image *img)
{
	pthread_mutex_lock(&img->lock);
	hold_locked(img);
	pthread_mutex_unlock(&img->lock);
}

void
image_resume(struct image *img)
{
	struct plist failed = { NULL, NULL };
	struct req *answer = NULL;
	unsigned held;

	pthread_mutex_lock(&img->lock);
	held = img->n_parked;
	if (img->gate == GATE_HELD && guard_ok(img)) {
		img->gate = GATE_OPEN;
		pthread_cond_broadcast(&img->cond);	/* flushes wait for it */
		log_info("image %s: I/O resumes, %u held piece(s) to send again%s",
		    img->id, held, img->n_cancelling ? " once the cancelled ones "
		    "are back" : "");
	}
	if (img->gate == GATE_OPEN)
		answer = unanswered_take_locked(img);
	drain_locked(img, &failed);
	pthread_mutex_unlock(&img->lock);
	unanswered_finish(img, answer);
	finish_failed(&failed);
}

void
image_fence(struct image *img, int err)
{
	struct plist failed = { NULL, NULL };

	if (err > 0)
		err = -err;
	if (err == 0)
		err = -EIO;
	pthread_mutex_lock(&img->lock);
	fence_locked(img, err, &failed);
	struct req *answer = unanswered_take_locked(img);
	pthread_mutex_unlock(&img->lock);
	unanswered_finish(img, answer);
	finish_failed(&failed);
}

unsigned
image_held(struct image *img)
{
	unsigned n;

	pthread_mutex_lock(&img->lock);
	n = img->n_parked;
	pthread_mutex_unlock(&img->lock);
	return n;
}

/* Is an older write or discard of p's object held, or being cancelled
 * to be held? img->lock held. */
static bool
older_held_locked(struct image *img, const struct piece *p)
{
	uint64_t obj = p->off >> img->shift;

	if (img->n_cancelling == 0 && img->parked.head == NULL)
		return false;
	for (struct piece *q = img->parked.head; q; q = q->next)
		if (q->rq->op != OP_READ && (q->off >> img->shift) == obj &&
		    piece_before(q, p))
			return true;
	for (struct piece *q = img->sent.head; q; q = q->next)
		if (q->cancelling && q->rq->op != OP_READ &&
		    (q->off >> img->shift) == obj && piece_before(q, p))
			return true;
	return false;
}

static void
piece_done(rados_completion_t c, void *arg)
{
	struct piece *p = arg;
	struct req *rq = p->rq;
	struct image *img = rq->img;
	struct plist failed = { NULL, NULL };
	int r = rados_aio_get_return_value(c);

	pthread_mutex_lock(&img->lock);
	plist_remove(&img->sent, p);
	p->sent = false;
	if (p->cancelling) {
		p->cancelling = false;
		img->n_cancelling--;
		if (r == -ECANCELED) {
			if (img->gate == GATE_FENCED)
				r = atomic_load(&img->fence);
			else {
				/* held: to be sent again from p->buf */
				park_locked(img, p);
				drain_locked(img, &failed);
				pthread_mutex_unlock(&img->lock);
				finish_failed(&failed);
				return;
			}
		}
	}
	/* A write that landed while an older write or discard of the same
	 * object is held (cancelled, to be sent again): the older one would
	 * land after it. Send this one again too, after it (its buffer is
	 * still ours: done() has not run). */
	if (rq->op != OP_READ && (r >= 0 || (r == -ENOENT && rq->op == OP_DISCARD)) &&
	    img->gate != GATE_FENCED && older_held_locked(img, p)) {
		park_locked(img, p);
		drain_locked(img, &failed);
		pthread_mutex_unlock(&img->lock);
		finish_failed(&failed);
		return;
	}
	struct req *answer = NULL;
	if (rq->op != OP_READ && (r == -EBLOCKLISTED || r == -ESHUTDOWN)) {
		fence_locked(img, r, &failed);
		answer = unanswered_take_locked(img);
	}
	/* the last cancelled piece back: the parked ones may go */
	drain_locked(img, &failed);
	pthread_mutex_unlock(&img->lock);
	unanswered_finish(img, answer);
	finish_failed(&failed);

	if (rq->op == OP_READ) {
		/* a clone's object not written yet: its ancestors' bytes */
		if (r == -ENOENT && img->layer != NULL && layer_take_read(img, p))
			return;
		if (r == -ENOENT)
			r = 0;
		if (r >= 0) {
			if ((size_t)r < p->len)
				memset(p->buf + r, 0, p->len - r);
			r = 0;
		}
	} else {
		if (r == -ENOENT && rq->op == OP_DISCARD)
			r = 0;
		if (r > 0)
			r = 0;
	}
	if (r < 0)
		req_error(rq, r);
	req_put(rq);
}

void
image_dispatch_locked(struct image *img, struct piece *p, struct plist *failed)
{
	dispatch_locked(img, p, failed);
}

void
image_finish_failed(struct plist *failed)
{
	finish_failed(failed);
}

void
image_fail_locked(struct piece *p, int err, struct plist *failed)
{
	fail_locked(p, err, failed);
}

void
image_read_answered(struct piece *p, int r)
{
	if (r < 0)
		req_error(p->rq, r);
	req_put(p->rq);
}

/* ---- submit ------------------------------------------------------------- */

static int
submit(struct image *img, struct image_io *io, enum op op)
{
	struct plist failed = { NULL, NULL };
	uint64_t off = io->off, end, o;
	size_t left = io->len;
	char *buf = io->buf;
	struct req *rq;
	unsigned n = 0, i;
	int fence;

	if (io->off > img->size || io->len > img->size - io->off)
		return -EINVAL;
	if (op != OP_DISCARD && io->len > 0 && io->buf == NULL)
		return -EINVAL;
	if ((fence = atomic_load(&img->fence)) < 0)
		return fence;
	end = off + left;
	if (left > 0)
		n = (unsigned)(((end - 1) >> img->shift) - (off >> img->shift) + 1);
	if ((rq = calloc(1, sizeof(*rq) + n * sizeof(rq->p[0]))) == NULL)
		return -ENOMEM;
	rq->img = img;
	rq->io = io;
	rq->op = op;
	rq->n = n;
	io->priv_result = 0;
	io->priv_pending = n + 1;	/* + the submitter's */
	for (i = 0, o = off; i < n; i++) {
		size_t l = img->osz - (o & (img->osz - 1));

		if (l > left)
			l = left;
		rq->p[i].rq = rq;
		rq->p[i].idx = i;
		rq->p[i].off = o;
		rq->p[i].len = l;
		rq->p[i].buf = buf;
		o += l;
		left -= l;
		if (buf)
			buf += l;
	}

	pthread_mutex_lock(&img->lock);
	img->n_inflight++;
	rq->seq = ++img->next_seq;
	if (op != OP_READ) {
		rq->ticket = ++img->next_ticket;
		rq->prev = img->mut_tail;
		if (img->mut_tail)
			img->mut_tail->next = rq;
		else
			img->mut_head = rq;
		img->mut_tail = rq;
	}
	for (i = 0; i < n; i++)
		dispatch_locked(img, &rq->p[i], &failed);
	pthread_mutex_unlock(&img->lock);
	finish_failed(&failed);	/* never the last reference: ours is held */

	if (__atomic_sub_fetch(&io->priv_pending, 1, __ATOMIC_ACQ_REL) == 0) {
		/* every piece is already back (or there were none): finish
		 * on the finisher thread, never inline */
		pthread_mutex_lock(&img->lock);
		rq->defer_next = NULL;
		if (img->defer_tail)
			img->defer_tail->defer_next = rq;
		else
			img->defer_head = rq;
		img->defer_tail = rq;
		pthread_cond_signal(&img->defer_cond);
		pthread_mutex_unlock(&img->lock);
	}
	return 0;
}

int
image_submit_read(struct image *img, struct image_io *io)
{
	return submit(img, io, OP_READ);
}

int
image_submit_write(struct image *img, struct image_io *io)
{
	return img->readonly ? -EROFS : submit(img, io, OP_WRITE);
}

int
image_submit_discard(struct image *img, struct image_io *io)
{
	return img->readonly ? -EROFS : submit(img, io, OP_DISCARD);
}

int
image_flush(struct image *img)
{
	uint64_t upto;
	int fence;

	if ((fence = atomic_load(&img->fence)) < 0)
		return fence;
	pthread_mutex_lock(&img->lock);
	upto = img->next_ticket;
	while (img->mut_head && img->mut_head->ticket <= upto)
		pthread_cond_wait(&img->cond, &img->lock);
	/* Durable, and still ours: a flush answered while the lease is
	 * unconfirmed (a process just resumed from a stop, say) could report
	 * success after another host took the volume. Wait for the lease to
	 * be confirmed, or lost. */
	while (img->gate != GATE_FENCED && (img->gate == GATE_HELD || !guard_ok(img))) {
		if (img->gate == GATE_OPEN) {
			hold_locked(img);
			if (img->gate == GATE_OPEN)
				continue;	/* renewed meanwhile: look again */
		}
		pthread_cond_wait(&img->cond, &img->lock);
	}
	pthread_mutex_unlock(&img->lock);
	return atomic_load(&img->fence);
}

void
image_close(struct image *img)
{
	if (img == NULL)
		return;
	pthread_mutex_lock(&img->lock);
	while (img->n_inflight > 0)
		pthread_cond_wait(&img->cond, &img->lock);
	img->finisher_stop = true;
	pthread_cond_signal(&img->defer_cond);
	pthread_mutex_unlock(&img->lock);
	pthread_join(img->finisher, NULL);
	layer_close(img);
	pthread_cond_destroy(&img->defer_cond);
	pthread_cond_destroy(&img->cond);
	pthread_mutex_destroy(&img->lock);
	rados_ioctx_destroy(img->ioctx);
	free(img);
}

int
image_set_size(struct image *img, uint64_t size)
{
	if (size < img->size || img->readonly)
		return -EINVAL;
	img->size = size;
	return 0;
}

int
image_set_snap_context(struct image *img, uint64_t seq, const uint64_t *ids,
    size_t n)
{
	int r;

	/* Under the lock: no piece is being handed to librados meanwhile,
	 * and no copy-up writes through the ioctx. */
	pthread_mutex_lock(&img->lock);
	layer_wait_idle_locked(img);
	r = rados_ioctx_selfmanaged_snap_set_write_ctx(img->ioctx, seq,
	    (rados_snap_t *)ids, (int)n);
	pthread_mutex_unlock(&img->lock);
	return r;
}
