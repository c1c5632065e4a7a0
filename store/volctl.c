/*
 * volctl.c - requests to the process that serves a volume, through a watch
 * and a notify on its header object (store/volctl.h).
 *
 * Serving: librados calls watch_notified() on one of its own threads; it
 * only copies the request onto a queue (a handler that waits for I/O on a
 * librados thread could wait for itself) and the server's thread runs the
 * handler and acknowledges the notify with the answer. A watch error (the
 * watch lapsed during a stall, or the header went away) sets `rewatch`; the
 * thread then sets up a new watch, once a second until it works, and
 * acknowledges nothing meanwhile (the asker times out and says so).
 *
 * Asking: rados_notify2() returns every watcher's acknowledgement:
 *   u32 n, n x {u64 gid, u64 cookie, u32 len, len bytes}, u32 m, m x
 *   {u64 gid, u64 cookie}	(little-endian)
 * the second list being the watchers that did not answer in time.
 *
 * Locking: vc->lock guards the queue, rewatch and stop; the handler runs
 * without it.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rados/librados.h>

#include "common/log.h"
#include "common/util.h"
#include "store/catalog_header.h"
#include "store/conn.h"
#include "store/lease_holder.h"
#include "store/volctl.h"

#define VOLCTL_MAX_REQUEST	4096	/* bytes of a request we accept */
#define VOLCTL_MAX_QUEUED	16

struct vreq {
	uint64_t	 notify_id;
	uint64_t	 received_ms;
	char		*data;		/* NUL-terminated */
	struct vreq	*next;
};

struct volctl {
	struct store	*st;
	char		 oid[64];
	uint64_t	 cookie;
	bool		 watching;	/* thread only */
	volctl_handler	 fn;
	void		*arg;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct vreq	*head, *tail;	/* lock */
	unsigned	 queued;	/* lock */
	bool		 rewatch;	/* lock */
	bool		 stop;		/* lock */
};

static uint64_t
mono_ms(void)
{
	return now_ns() / 1000000;
}

static void
watch_notified(void *arg, uint64_t notify_id, uint64_t handle,
    uint64_t notifier_id, void *data, size_t len)
{
	struct volctl *vc = arg;
	struct vreq *q;

	(void)handle;
	(void)notifier_id;
	if (len == 0 || len > VOLCTL_MAX_REQUEST ||
	    (q = calloc(1, sizeof(*q))) == NULL)
		goto ignore;
	if ((q->data = malloc(len + 1)) == NULL) {
		free(q);
		goto ignore;
	}
	memcpy(q->data, data, len);
	q->data[len] = '\0';
	q->notify_id = notify_id;
	q->received_ms = mono_ms();
	pthread_mutex_lock(&vc->lock);
	if (vc->queued >= VOLCTL_MAX_QUEUED || vc->stop) {
		pthread_mutex_unlock(&vc->lock);
		free(q->data);
		free(q);
		goto ignore;
	}
	if (vc->tail)
		vc->tail->next = q;
	else
		vc->head = q;
	vc->tail = q;
	vc->queued++;
	pthread_cond_signal(&vc->cond);
	pthread_mutex_unlock(&vc->lock);
	return;
ignore:
	/* An empty acknowledgement: the asker sees no answer from us. */
	rados_notify_ack(store_ioctx(vc->st), vc->oid, notify_id, vc->cookie,
	    NULL, 0);
}

static void
watch_failed(void *arg, uint64_t handle, int err)
{
	struct volctl *vc = arg;

	(void)handle;
	log_debug("watch on %s ended: %s; watching again", vc->oid, strerror(-err));
	pthread_mutex_lock(&vc->lock);
	vc->rewatch = true;
	pthread_cond_signal(&vc->cond);
	pthread_mutex_unlock(&vc->lock);
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
answer(struct volctl *vc, struct vreq *q)
{
	json_t *req = json_loads(q->data, 0, NULL), *reply = NULL;
	json_int_t timeout_ms = 0, sent_ms = 0;
	char *out = NULL;

	if (req == NULL || !json_is_object(req) ||
	    json_unpack(req, "{s:I, s?:I}", "timeout_ms", &timeout_ms,
	    "sent_ms", &sent_ms) < 0 || timeout_ms <= 0)
		reply = json_pack("{s:s}", "err", "malformed request");
	else {
		/* The time it took to reach us (a stopped process, a stall)
		 * counts against the deadline; by the wall clocks, which Ceph
		 * keeps in step across hosts. */
		uint64_t budget = (uint64_t)timeout_ms * 3 / 4;
		uint64_t late = mono_ms() - q->received_ms, wall = wall_ms();
		if (sent_ms > 0 && wall > (uint64_t)sent_ms &&
		    wall - (uint64_t)sent_ms > late)
			late = wall - (uint64_t)sent_ms;	/* queue time included */
		reply = vc->fn(vc->arg, req, mono_ms() + (late < budget ?
		    budget - late : 0));
	}
	if (reply != NULL)
		out = json_dumps(reply, JSON_COMPACT);
	rados_notify_ack(store_ioctx(vc->st), vc->oid, q->notify_id, vc->cookie,
	    out, out ? (unsigned)strlen(out) : 0);
	free(out);
	json_decref(reply);
	json_decref(req);
}

static int
watch(struct volctl *vc)
{
	int r = rados_watch2(store_ioctx(vc->st), vc->oid, &vc->cookie,
	    watch_notified, watch_failed, vc);

	vc->watching = r == 0;
	return r;
}

static void *
volctl_main(void *arg)
{
	struct volctl *vc = arg;

	pthread_mutex_lock(&vc->lock);
	for (;;) {
		while (!vc->stop && vc->head == NULL && !vc->rewatch)
			pthread_cond_wait(&vc->cond, &vc->lock);
		if (vc->stop)
			break;
		if (vc->rewatch) {
			int r;

			vc->rewatch = false;
			pthread_mutex_unlock(&vc->lock);
			if (vc->watching)
				rados_unwatch2(store_ioctx(vc->st), vc->cookie);
			vc->watching = false;
			if ((r = watch(vc)) < 0) {
				if (r == -ENOENT) {	/* the volume is gone */
					pthread_mutex_lock(&vc->lock);
					continue;
				}
				wait_ms(1000);
				pthread_mutex_lock(&vc->lock);
				vc->rewatch = true;
			} else
				pthread_mutex_lock(&vc->lock);
			continue;
		}
		struct vreq *q = vc->head;
		vc->head = q->next;
		if (vc->head == NULL)
			vc->tail = NULL;
		vc->queued--;
		pthread_mutex_unlock(&vc->lock);
		answer(vc, q);
		free(q->data);
		free(q);
		pthread_mutex_lock(&vc->lock);
	}
	pthread_mutex_unlock(&vc->lock);
	return NULL;
}

int
volctl_serve(struct store *st, const char *id_hex, volctl_handler fn, void *arg,
    struct volctl **out)
{
	struct volctl *vc;
	int r;

	if ((vc = calloc(1, sizeof(*vc))) == NULL)
		return -ENOMEM;
	vc->st = st;
	vc->fn = fn;
	vc->arg = arg;
	catalog_header_oid(id_hex, vc->oid, sizeof(vc->oid));
	pthread_mutex_init(&vc->lock, NULL);
	pthread_cond_init(&vc->cond, NULL);
	if ((r = watch(vc)) < 0)
		goto fail;
	if (pthread_create(&vc->thread, NULL, volctl_main, vc) != 0) {
		r = -EAGAIN;
		rados_unwatch2(store_ioctx(st), vc->cookie);
		rados_watch_flush(store_cluster(st));
		goto fail;
	}
	*out = vc;
	return 0;
fail:
	pthread_cond_destroy(&vc->cond);
	pthread_mutex_destroy(&vc->lock);
	free(vc);
	return r;
}

void
volctl_stop(struct volctl *vc)
{
	if (vc == NULL)
		return;
	pthread_mutex_lock(&vc->lock);
	vc->stop = true;
	pthread_cond_signal(&vc->cond);
	pthread_mutex_unlock(&vc->lock);
	pthread_join(vc->thread, NULL);
	if (vc->watching)
		rados_unwatch2(store_ioctx(vc->st), vc->cookie);
	rados_watch_flush(store_cluster(vc->st));	/* no callback after this */
	while (vc->head) {
		struct vreq *q = vc->head;
		vc->head = q->next;
		free(q->data);
		free(q);
	}
	pthread_cond_destroy(&vc->cond);
	pthread_mutex_destroy(&vc->lock);
	free(vc);
}

/* ---- asking ------------------------------------------------------------- */

struct cursor {
	const unsigned char	*p;
	size_t			 left;
};

static bool
take(struct cursor *c, void *dst, size_t n)
{
	if (c->left < n)
		return false;
	if (dst)
		memcpy(dst, c->p, n);
	c->p += n;
	c->left -= n;
	return true;
}

static bool
take_u32(struct cursor *c, uint32_t *v)
{
	uint32_t le;

	if (!take(c, &le, sizeof(le)))
		return false;
	*v = le32toh(le);
	return true;
}

static bool
take_u64(struct cursor *c, uint64_t *v)
{
	uint64_t le;

	if (!take(c, &le, sizeof(le)))
		return false;
	*v = le64toh(le);
	return true;
}

int
volctl_request(struct store *st, const char *id_hex, json_t *req,
    unsigned timeout_ms, json_t **reply, char *err, size_t errlen)
{
	char oid[64], *buf = NULL, *msg;
	size_t buflen = 0;
	struct cursor c;
	uint32_t n = 0, missed = 0;
	uint64_t missed_gid = 0;
	int r, rn;

	*reply = NULL;
	json_object_set_new(req, "timeout_ms", json_integer(timeout_ms));
	json_object_set_new(req, "sent_ms", json_integer((json_int_t)wall_ms()));
	if ((msg = json_dumps(req, JSON_COMPACT)) == NULL)
		return -ENOMEM;
	catalog_header_oid(id_hex, oid, sizeof(oid));
	rn = rados_notify2(store_ioctx(st), oid, msg, (int)strlen(msg),
	    timeout_ms, &buf, &buflen);
	free(msg);
	if (rn < 0 && rn != -ETIMEDOUT) {
		snprintf(err, errlen, "cannot reach the host serving the volume: %s",
		    strerror(-rn));
		rados_buffer_free(buf);
		return rn;
	}
	c = (struct cursor){ (const unsigned char *)buf, buf ? buflen : 0 };
	r = -ENOTCONN;
	snprintf(err, errlen, "no host serves the volume");
	if (!take_u32(&c, &n))
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t gid, cookie;
		uint32_t len;

		if (!take_u64(&c, &gid) || !take_u64(&c, &cookie) ||
		    !take_u32(&c, &len) || len > c.left)
			break;
		/* A fenced server may still watch and answer with an error:
		 * the one that did it wins. */
		if (len > 0 && (*reply == NULL ||
		    !json_is_true(json_object_get(*reply, "ok")))) {
			json_t *j = json_loadb((const char *)c.p, len, 0, NULL);
			if (j != NULL && json_is_object(j)) {
				json_decref(*reply);
				*reply = j;
				r = 0;
			} else
				json_decref(j);
		}
		take(&c, NULL, len);
	}
	if (r < 0 && take_u32(&c, &missed) && missed > 0 &&
	    take_u64(&c, &missed_gid)) {
		r = -ETIMEDOUT;
		snprintf(err, errlen, "client.%" PRIu64 ", which serves the volume, "
		    "did not answer within %u ms", missed_gid, timeout_ms);
	} else if (r < 0 && rn == -ETIMEDOUT) {
		r = -ETIMEDOUT;
		snprintf(err, errlen, "the host serving the volume did not answer "
		    "within %u ms", timeout_ms);
	}
out:
	rados_buffer_free(buf);
	return r;
}

int
volctl_ask_holder(struct store *st, const char *id_hex, const char *op,
    unsigned timeout_ms, json_t **reply, char *who, size_t wholen, char *err,
    size_t errlen)
{
	struct lease_holder h;
	json_t *req;
	int r;

	*reply = NULL;
	if (lease_holder(st, id_hex, &h) < 0 || h.expired || h.shared)
		return -ENOENT;
	if (who != NULL)
		lease_holder_describe(&h, who, wholen);
	if ((req = json_pack("{s:s}", "op", op)) == NULL)
		return -ENOMEM;
	r = volctl_request(st, id_hex, req, timeout_ms, reply, err, errlen);
	json_decref(req);
	return r;
}
