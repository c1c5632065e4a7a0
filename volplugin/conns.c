/*
 * conns.c - the plugin socket's connections (volplugin/conns.h).
 *
 * Anyone who can connect may be broken or hostile, so the bounds are
 * fixed, and documented in cephvold(8):
 * - Deadlines, not inactivity timeouts (a client sending a byte now and
 *   then is cut all the same): a new connection must deliver its whole
 *   request, head and body, within CONNS_REQUEST_S of opening. A
 *   kept-alive one may wait CONNS_IDLE_S after a reply for its next
 *   request line, and the rest of that request must follow within
 *   CONNS_REQUEST_S of the line. A reply must be taken within
 *   CONNS_IDLE_S. While a request is being answered there is no deadline
 *   here (its job is bounded by plugin.timeout: api.c, job.c), and
 *   libmicrohttpd times out no suspended connection.
 * - At most max connections (CONNS_MAX, fewer if descriptors are short;
 *   the soft descriptor limit is raised to the hard one). Past evict_at,
 *   each new connection closes the stalled one (no request being
 *   answered) nearest its deadline, so connections that stall can delay,
 *   but never lock out, a client that sends its request.
 *
 * The watchdog thread enforces the deadlines: once a second it shuts down
 * (shutdown(2)) the sockets past theirs, and libmicrohttpd then closes
 * them as if the client had hung up. libmicrohttpd closes a connection's
 * socket only after MHD_CONNECTION_NOTIFY_CLOSED (daemon.c,
 * MHD_cleanup_connections, 0.9.75), and conns_notify() takes conns.lock
 * for it and unlinks the connection, so neither the watchdog nor an
 * eviction, both under conns.lock, ever shuts down a closed (or reused)
 * descriptor.
 *
 * Locking: conns.lock guards the list, every struct conn but its fd, and
 * the counters; nothing blocks under it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "volplugin/conns.h"

/* Connections at most, if descriptors allow. */
#define CONNS_MAX		1024
/* Descriptors left for everything else (RADOS, mount helpers, files). */
#define CONNS_FD_RESERVE	256

#define NS_PER_S		1000000000ull

/* One connection, from libmicrohttpd's STARTED notice to its CLOSED one. */
struct conn {
	struct conn		*prev, *next;	/* in conns.list */
	int			 fd;		/* open until conns_notify(CLOSED) */
	enum conns_phase	 phase;
	uint64_t		 deadline_ns;	/* now_ns() clock; 0: none */
	unsigned		 served;	/* replies sent on it */
	bool			 cut;		/* shut down by us */
};

struct conns {
	unsigned		 max;
	unsigned		 evict_at;
	pthread_t		 watchdog;

	pthread_mutex_t		 lock;
	pthread_cond_t		 tick;		/* wakes the watchdog to stop */
	struct conn		*list;		/* guarded by lock */
	unsigned		 open;		/* not cut; guarded by lock */
	unsigned		 evicted;	/* since last logged; guarded by lock */
	bool			 stopping;	/* guarded by lock */
};

void
conns_phase(struct conns *cs, struct conn *cn, enum conns_phase phase)
{
	uint64_t now = now_ns();

	if (cn == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	switch (phase) {
	case CONNS_WAIT:
		cn->deadline_ns = now + (cn->served ? CONNS_IDLE_S : CONNS_REQUEST_S) *
		    NS_PER_S;
		break;
	case CONNS_READ:
		/* a new connection's deadline still counts from its opening */
		if (cn->served)
			cn->deadline_ns = now + CONNS_REQUEST_S * NS_PER_S;
		break;
	case CONNS_RUN:
		cn->deadline_ns = 0;
		break;
	case CONNS_REPLY:
		cn->deadline_ns = now + CONNS_IDLE_S * NS_PER_S;
		break;
	}
	cn->phase = phase;
	pthread_mutex_unlock(&cs->lock);
}

void
conns_replied(struct conns *cs, struct conn *cn)
{
	if (cn == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	cn->served++;
	pthread_mutex_unlock(&cs->lock);
	conns_phase(cs, cn, CONNS_WAIT);
}

bool
conns_cut(struct conns *cs, struct conn *cn)
{
	bool cut;

	if (cn == NULL)
		return false;
	pthread_mutex_lock(&cs->lock);
	cut = cn->cut;
	pthread_mutex_unlock(&cs->lock);
	return cut;
}

struct conn *
conns_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Shut cn's socket down: libmicrohttpd sees the client gone and closes
 * it. With cs->lock held, so cn (and its fd) is still open. */
static void
cut(struct conns *cs, struct conn *cn)
{
	shutdown(cn->fd, SHUT_RDWR);
	cn->cut = true;
	cs->open--;
}

/* Too many connections: cut the stalled one (no request being answered)
 * nearest its deadline, other than the newcomer. With cs->lock held. */
static void
evict(struct conns *cs, struct conn *newcomer)
{
	struct conn *victim = NULL;

	for (struct conn *cn = cs->list; cn; cn = cn->next) {
		if (cn == newcomer || cn->cut ||
		    (cn->phase != CONNS_WAIT && cn->phase != CONNS_READ))
			continue;
		if (victim == NULL || cn->deadline_ns < victim->deadline_ns)
			victim = cn;
	}
	if (victim) {
		cut(cs, victim);
		cs->evicted++;
	}
}

void
conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct conns *cs = cls;
	struct conn *cn = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL)
			return;
		if ((cn = calloc(1, sizeof(*cn))) == NULL) {
			/* it would have no deadline: refuse it */
			shutdown(ci->connect_fd, SHUT_RDWR);
			return;
		}
		cn->fd = ci->connect_fd;
		cn->phase = CONNS_WAIT;
		cn->deadline_ns = now_ns() + CONNS_REQUEST_S * NS_PER_S;
		pthread_mutex_lock(&cs->lock);
		cn->next = cs->list;
		if (cs->list)
			cs->list->prev = cn;
		cs->list = cn;
		if (++cs->open > cs->evict_at)
			evict(cs, cn);
		pthread_mutex_unlock(&cs->lock);
		*socket_context = cn;
		return;
	}
	if (cn == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	if (cn->prev)
		cn->prev->next = cn->next;
	else
		cs->list = cn->next;
	if (cn->next)
		cn->next->prev = cn->prev;
	if (!cn->cut)
		cs->open--;
	pthread_mutex_unlock(&cs->lock);
	free(cn);
	*socket_context = NULL;
}

/* Once a second: cut the connections past their deadlines; say so. */
static void *
watchdog_main(void *arg)
{
	struct conns *cs = arg;
	struct timespec until;
	unsigned n[CONNS_REPLY + 1], idle, evicted, open;
	uint64_t now;

	pthread_mutex_lock(&cs->lock);
	while (!cs->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&cs->tick, &cs->lock, &until);
		if (cs->stopping)
			break;
		now = now_ns();
		memset(n, 0, sizeof(n));
		idle = 0;
		for (struct conn *cn = cs->list; cn; cn = cn->next) {
			if (cn->cut || cn->deadline_ns == 0 || now < cn->deadline_ns)
				continue;
			if (cn->phase == CONNS_WAIT && cn->served)
				idle++;
			else
				n[cn->phase]++;
			cut(cs, cn);
		}
		evicted = cs->evicted;
		cs->evicted = 0;
		open = cs->open;
		pthread_mutex_unlock(&cs->lock);
		if (n[CONNS_WAIT] + n[CONNS_READ] > 0)
			log_info("closed %u connection(s) that sent no complete request "
			    "in time (%u nothing, %u part of one): a request must arrive "
			    "within %ds of connecting or of its request line",
			    n[CONNS_WAIT] + n[CONNS_READ], n[CONNS_WAIT],
			    n[CONNS_READ], CONNS_REQUEST_S);
		if (n[CONNS_REPLY] > 0)
			log_info("closed %u connection(s) that did not take their "
			    "reply within %ds", n[CONNS_REPLY], CONNS_IDLE_S);
		if (idle > 0)
			log_debug("closed %u kept-alive connection(s) idle for %ds",
			    idle, CONNS_IDLE_S);
		if (evicted > 0)
			log_warn("closed %u stalled connection(s) to make room for new "
			    "ones (%u open, at most %u)", evicted, open, cs->max);
		pthread_mutex_lock(&cs->lock);
	}
	pthread_mutex_unlock(&cs->lock);
	return NULL;
}

/* Raise the soft descriptor limit to the hard one; how many connections
 * fit beside CONNS_FD_RESERVE for the rest. */
static unsigned
limit(void)
{
	struct rlimit rl, want;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return CONNS_MAX / 4;
	if (rl.rlim_cur < rl.rlim_max) {
		want = rl;
		want.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	if (rl.rlim_cur >= CONNS_MAX + CONNS_FD_RESERVE)
		return CONNS_MAX;
	if (rl.rlim_cur >= 2 * CONNS_FD_RESERVE)
		return (unsigned)(rl.rlim_cur - CONNS_FD_RESERVE);
	return (unsigned)(rl.rlim_cur / 2);
}

int
conns_start(struct conns **out, char *err, size_t errlen)
{
	struct conns *cs = calloc(1, sizeof(*cs));
	pthread_condattr_t ca;
	int r;

	if (cs == NULL)
		return -ENOMEM;
	cs->max = limit();
	cs->evict_at = cs->max - cs->max / 8;
	pthread_mutex_init(&cs->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cs->tick, &ca);
	pthread_condattr_destroy(&ca);
	if ((r = pthread_create(&cs->watchdog, NULL, watchdog_main, cs)) != 0) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(r));
		conns_free(cs);
		return -r;
	}
	*out = cs;
	return 0;
}

unsigned
conns_max(struct conns *cs)
{
	return cs->max;
}

void
conns_stop(struct conns *cs)
{
	pthread_mutex_lock(&cs->lock);
	cs->stopping = true;
	pthread_cond_broadcast(&cs->tick);
	pthread_mutex_unlock(&cs->lock);
	pthread_join(cs->watchdog, NULL);
}

void
conns_free(struct conns *cs)
{
	if (cs == NULL)
		return;
	pthread_mutex_destroy(&cs->lock);
	pthread_cond_destroy(&cs->tick);
	free(cs);
}
