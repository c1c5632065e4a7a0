/*
 * qos.c - token buckets in front of a volume's image (fuse/qos.h).
 *
 * Six buckets (ops and bytes; total, read, write), each refilled at its
 * rate from the monotonic clock, capped at one second of it. A request
 * draws from three of them (total, its direction; ops and bytes): it waits
 * while any of those is in debt (below zero), sleeping exactly the time
 * that bucket needs to climb back to zero, then draws its cost from each
 * at once, going into debt if it is larger than what is there. Waiting on
 * the calling FUSE worker is the throttle: the kernel queues the rest.
 *
 * Locking: q->lock guards the buckets; nobody sleeps holding it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "common/util.h"
#include "fuse/qos.h"

enum { B_OPS, B_ROPS, B_WOPS, B_BYTES, B_RBYTES, B_WBYTES, B_N };

struct bucket {
	double		 rate;		/* per second; 0: no limit */
	double		 tokens;	/* may be negative: debt */
	uint64_t	 last_ns;
};

struct qos {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;		/* qos_release, a new limit */
	struct bucket	 b[B_N];
	bool		 released;
	unsigned	 gen;		/* bumped by qos_set */
};

struct qos *
qos_new(void)
{
	struct qos *q = calloc(1, sizeof(*q));
	pthread_condattr_t ca;

	if (q == NULL)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	return q;
}

void
qos_free(struct qos *q)
{
	if (q == NULL)
		return;
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void
qos_set(struct qos *q, const struct volume_qos *l)
{
	const uint64_t rates[B_N] = { l->iops, l->read_iops, l->write_iops, l->bps,
	    l->read_bps, l->write_bps };
	uint64_t now = now_ns();

	pthread_mutex_lock(&q->lock);
	for (int i = 0; i < B_N; i++) {
		struct bucket *b = &q->b[i];
		if (b->rate != (double)rates[i]) {
			b->rate = (double)rates[i];
			b->tokens = b->rate;	/* a new limit starts full */
			b->last_ns = now;
		}
	}
	q->gen++;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static void
refill(struct bucket *b, uint64_t now)
{
	if (b->rate <= 0)
		return;
	b->tokens += b->rate * (double)(now - b->last_ns) / 1e9;
	if (b->tokens > b->rate)
		b->tokens = b->rate;
	b->last_ns = now;
}

void
qos_wait(struct qos *q, bool write, size_t bytes)
{
	const int use[3][2] = { { B_OPS, B_BYTES }, { write ? B_WOPS : B_ROPS,
	    write ? B_WBYTES : B_RBYTES }, { -1, -1 } };

	pthread_mutex_lock(&q->lock);
	for (;;) {
		uint64_t now = now_ns();
		double wait_s = 0;

		if (q->released)
			break;
		for (int i = 0; use[i][0] >= 0; i++)
			for (int k = 0; k < 2; k++) {
				struct bucket *b = &q->b[use[i][k]];
				refill(b, now);
				if (b->rate > 0 && b->tokens < 0 &&
				    -b->tokens / b->rate > wait_s)
					wait_s = -b->tokens / b->rate;
			}
		if (wait_s <= 0) {
			for (int i = 0; use[i][0] >= 0; i++) {
				struct bucket *o = &q->b[use[i][0]], *y = &q->b[use[i][1]];
				if (o->rate > 0)
					o->tokens -= 1;
				if (y->rate > 0)
					y->tokens -= (double)bytes;
			}
			break;
		}
		/* asleep without the lock; a new limit or the release wakes */
		struct timespec until;
		uint64_t wake = now + (uint64_t)(wait_s * 1e9) + 1;
		unsigned gen = q->gen;
		until.tv_sec = (time_t)(wake / 1000000000);
		until.tv_nsec = (long)(wake % 1000000000);
		while (!q->released && gen == q->gen &&
		    pthread_cond_timedwait(&q->cond, &q->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&q->lock);
}

void
qos_release(struct qos *q)
{
	pthread_mutex_lock(&q->lock);
	q->released = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}
