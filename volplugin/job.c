/*
 * job.c - the request engine (volplugin/job.h).
 *
 * A job is shared by its worker thread and its caller (refs: 2, or 1 for
 * a job nobody waits for) and freed by the last job_put(). The caller
 * waits on job.cond, waking once a second to notice a stopping engine and
 * to ask whether its client hung up, until the job is done or its limit
 * passes; then it marks the job abandoned and answers for it. The worker
 * checks job_abandoned() before work that would be wasted, and a commit
 * (job_commit) happens under job.lock, so that a caller either gives up
 * before it, and the work undoes itself, or waits for the end after it.
 *
 * Turns: each name in use has a namelock with a FIFO queue of jobs, the
 * running one first. A job joins the queue when it is submitted, on its
 * caller's thread, so jobs of one name run in the order they arrived;
 * its worker then waits until it is at the head, and leaves the queue
 * when its work is done (a job whose thread never started leaves it at
 * once). The namelock goes when its queue is empty.
 *
 * Locking: jobs.names_lock guards the namelock list and every queue;
 * job.lock guards a job's state. Never both at once. Work runs under
 * neither, except the commit's fn under job.lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "volplugin/job.h"

/* The jobs of one name, in arrival order: found by name in jobs.names. */
struct namelock {
	struct namelock	*next;
	char		 name[NAME_MAX_LEN + 1];
	struct job	*queue;		/* the running job first */
	pthread_cond_t	 turn;		/* the head of queue changed */
};

struct jobs {
	unsigned		 max;
	pthread_mutex_t		 names_lock;
	struct namelock		*names;		/* guarded by names_lock */
	atomic_uint		 running;	/* job threads */
	atomic_bool		 stopping;	/* callers give up at once */
};

struct job {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* done, for the caller */
	unsigned		 refs;		/* guarded by lock */
	bool			 done;		/* guarded by lock */
	bool			 abandoned;	/* guarded by lock: caller gave up */
	bool			 committed;	/* guarded by lock: caller waits on */
	const char		*phase;		/* guarded by lock */

	struct jobs		*jobs;
	struct job_spec		 spec;		/* what, name: copies below */
	char			 what[64];
	char			 name[NAME_MAX_LEN + 1];
	struct namelock		*nl;		/* NULL: no turn (or no memory) */
	struct job		*qnext;		/* guarded by jobs.names_lock */

	unsigned		 status;	/* the answer, set by the work */
	json_t			*reply;
	enum metrics_result	 result;
};

/* --- turns --------------------------------------------------------------- */

/* Put job at the end of its name's queue. -ENOMEM: it has no turn. */
static int
turn_take(struct jobs *jobs, struct job *job)
{
	struct namelock *nl;
	struct job **p;

	pthread_mutex_lock(&jobs->names_lock);
	for (nl = jobs->names; nl; nl = nl->next)
		if (strcmp(nl->name, job->name) == 0)
			break;
	if (nl == NULL) {
		if ((nl = calloc(1, sizeof(*nl))) == NULL) {
			pthread_mutex_unlock(&jobs->names_lock);
			return -ENOMEM;
		}
		snprintf(nl->name, sizeof(nl->name), "%s", job->name);
		pthread_cond_init(&nl->turn, NULL);
		nl->next = jobs->names;
		jobs->names = nl;
	}
	for (p = &nl->queue; *p; p = &(*p)->qnext)
		;
	*p = job;
	job->qnext = NULL;
	job->nl = nl;
	pthread_mutex_unlock(&jobs->names_lock);
	return 0;
}

/* Wait until job heads its queue. */
static void
turn_wait(struct jobs *jobs, struct job *job)
{
	pthread_mutex_lock(&jobs->names_lock);
	while (job->nl->queue != job)
		pthread_cond_wait(&job->nl->turn, &jobs->names_lock);
	pthread_mutex_unlock(&jobs->names_lock);
}

/* job leaves its queue (done, or never started): the next one's turn. */
static void
turn_leave(struct jobs *jobs, struct job *job)
{
	struct namelock *nl = job->nl;
	struct job **p;

	pthread_mutex_lock(&jobs->names_lock);
	for (p = &nl->queue; *p; p = &(*p)->qnext)
		if (*p == job) {
			*p = job->qnext;
			break;
		}
	if (nl->queue == NULL) {
		struct namelock **q;
		for (q = &jobs->names; *q; q = &(*q)->next)
			if (*q == nl) {
				*q = nl->next;
				break;
			}
		pthread_cond_destroy(&nl->turn);
		free(nl);
	} else
		pthread_cond_broadcast(&nl->turn);
	pthread_mutex_unlock(&jobs->names_lock);
	job->nl = NULL;
}

/* --- one job ------------------------------------------------------------- */

static struct job *
job_new(struct jobs *jobs, const struct job_spec *spec, unsigned refs)
{
	struct job *job = calloc(1, sizeof(*job));
	pthread_condattr_t ca;

	if (job == NULL)
		return NULL;
	pthread_mutex_init(&job->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&job->cond, &ca);
	pthread_condattr_destroy(&ca);
	job->refs = refs;
	job->jobs = jobs;
	job->spec = *spec;
	snprintf(job->what, sizeof(job->what), "%s", spec->what);
	snprintf(job->name, sizeof(job->name), "%s", spec->name ? spec->name : "");
	job->spec.what = job->what;
	job->spec.name = job->name;
	job->phase = "starting";
	return job;
}

static void
job_put(struct job *job)
{
	bool last;

	pthread_mutex_lock(&job->lock);
	last = --job->refs == 0;
	pthread_mutex_unlock(&job->lock);
	if (!last)
		return;
	if (job->spec.free_arg)
		job->spec.free_arg(job->spec.arg);
	json_decref(job->reply);
	pthread_mutex_destroy(&job->lock);
	pthread_cond_destroy(&job->cond);
	free(job);
}

const char *
job_name(struct job *job)
{
	return job ? job->name : "";
}

void
job_phase(struct job *job, const char *phase)
{
	if (job == NULL)
		return;
	pthread_mutex_lock(&job->lock);
	job->phase = phase;
	pthread_mutex_unlock(&job->lock);
}

bool
job_abandoned(struct job *job)
{
	bool a;

	if (job == NULL)
		return false;
	pthread_mutex_lock(&job->lock);
	a = job->abandoned;
	pthread_mutex_unlock(&job->lock);
	return a;
}

int
job_commit(struct job *job, int (*fn)(void *), void *arg)
{
	int r;

	if (job == NULL)
		return fn(arg);
	pthread_mutex_lock(&job->lock);
	if (job->abandoned) {
		pthread_mutex_unlock(&job->lock);
		return -ECANCELED;
	}
	r = fn(arg);
	if (r >= 0)
		job->committed = true;
	pthread_mutex_unlock(&job->lock);
	return r;
}

void
job_reply(struct job *job, enum metrics_result res, unsigned status, json_t *reply)
{
	if (job == NULL) {
		json_decref(reply);
		return;
	}
	json_decref(job->reply);
	job->reply = reply;
	job->status = status;
	job->result = res;
}

void
job_warn(struct job *job, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (job)
		log_warn("%s volume=%s: %s", job->what, job->name, msg);
	else
		log_warn("%s", msg);
}

/* The worker: its turn, its work, done. */
static void *
job_main(void *arg)
{
	struct job *job = arg;
	struct jobs *jobs = job->jobs;

	if (job->name[0]) {
		job_phase(job, "waiting for an earlier request on the same volume");
		if (job->nl)
			turn_wait(jobs, job);
	}
	if (job->name[0] && job->nl == NULL) {
		job_warn(job, "out of memory");
		job_reply(job, RESULT_ERROR, 200, json_pack("{s:s}", "Err",
		    "out of memory"));
	} else if (job->name[0] && !job->spec.always && job_abandoned(job))
		;	/* the caller gave up while we waited: do nothing */
	else {
		job_phase(job, "working");
		job->spec.work(job, job->spec.arg);
	}
	if (job->nl)
		turn_leave(jobs, job);
	pthread_mutex_lock(&job->lock);
	job->done = true;
	if (job->abandoned && job->name[0])
		log_info("%s volume=%s finished after its caller timed out",
		    job->what, job->name);
	pthread_cond_signal(&job->cond);
	pthread_mutex_unlock(&job->lock);
	job_put(job);
	atomic_fetch_sub(&jobs->running, 1);
	return NULL;
}

/* Take job's turn and start its worker: 0, or -errno with the job
 * untouched but for its refs (the worker's is dropped). */
static int
job_spawn(struct jobs *jobs, struct job *job)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (job->name[0])
		turn_take(jobs, job);	/* no memory: the worker says so */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, job_main, job);
	pthread_attr_destroy(&attr);
	if (r == 0)
		return 0;
	if (job->nl)
		turn_leave(jobs, job);
	atomic_fetch_sub(&jobs->running, 1);
	job_put(job);
	return -r;
}

/* --- waiting for it ------------------------------------------------------ */

static bool
before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Wait, with job.lock held, until job is done or its caller should stop
 * waiting; how that ended. */
static enum job_end
job_wait(struct job *job, bool (*gone)(void *), void *gone_arg)
{
	struct jobs *jobs = job->jobs;
	struct timespec deadline, now, until;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)job->spec.limit_s;
	while (!job->done) {
		/* wake every second to notice a stopping engine */
		clock_gettime(CLOCK_MONOTONIC, &now);
		until = now;
		until.tv_sec += 1;
		if (before(&deadline, &until))
			until = deadline;
		r = pthread_cond_timedwait(&job->cond, &job->lock, &until);
		if (job->done)
			break;
		if (atomic_load(&jobs->stopping) && !job->committed)
			return JOB_STOPPING;
		if (r != ETIMEDOUT)
			continue;
		if (gone && !job->committed) {
			/* not under job.lock: the transport's check may block
			 * briefly, and the worker needs the lock to commit */
			pthread_mutex_unlock(&job->lock);
			bool hung_up = gone(gone_arg);
			pthread_mutex_lock(&job->lock);
			if (job->done)
				break;
			if (hung_up && !job->committed)
				return JOB_HUNG_UP;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (before(&now, &deadline))
			continue;
		if (!job->committed)
			return atomic_load(&jobs->stopping) ? JOB_STOPPING :
			    JOB_TIMED_OUT;
		/* only in-memory work is left: wait it out */
		deadline.tv_sec += 5;
	}
	return JOB_DONE;
}

enum job_end
job_run(struct jobs *jobs, const struct job_spec *spec, bool (*gone)(void *),
    void *gone_arg, struct job_result *out)
{
	enum job_end end;
	struct job *job;
	int r;

	memset(out, 0, sizeof(*out));
	out->phase = "starting";
	if ((job = job_new(jobs, spec, 2)) == NULL) {
		if (spec->free_arg)
			spec->free_arg(spec->arg);
		return JOB_NO_MEMORY;
	}
	if (atomic_fetch_add(&jobs->running, 1) >= jobs->max) {
		atomic_fetch_sub(&jobs->running, 1);
		job_put(job);
		job_put(job);
		return JOB_FULL;
	}
	if ((r = job_spawn(jobs, job)) < 0) {
		job_put(job);
		out->error = r;
		return JOB_NO_THREAD;
	}
	pthread_mutex_lock(&job->lock);
	end = job_wait(job, gone, gone_arg);
	if (end == JOB_DONE) {
		out->status = job->status ? job->status : 200;
		out->reply = job->reply;
		out->res = job->result;
		job->reply = NULL;
	} else
		job->abandoned = true;
	out->phase = job->phase;
	pthread_mutex_unlock(&job->lock);
	job_put(job);
	return end;
}

int
job_start(struct jobs *jobs, const struct job_spec *spec)
{
	struct job *job = job_new(jobs, spec, 1);

	if (job == NULL) {
		if (spec->free_arg)
			spec->free_arg(spec->arg);
		return -ENOMEM;
	}
	atomic_fetch_add(&jobs->running, 1);
	return job_spawn(jobs, job);
}

/* --- the engine ---------------------------------------------------------- */

int
jobs_new(unsigned max, struct jobs **out)
{
	struct jobs *jobs = calloc(1, sizeof(*jobs));

	if (jobs == NULL)
		return -ENOMEM;
	jobs->max = max;
	pthread_mutex_init(&jobs->names_lock, NULL);
	atomic_init(&jobs->running, 0);
	atomic_init(&jobs->stopping, false);
	*out = jobs;
	return 0;
}

void
jobs_stop(struct jobs *jobs)
{
	atomic_store(&jobs->stopping, true);
}

unsigned
jobs_running(struct jobs *jobs)
{
	return atomic_load(&jobs->running);
}

void
jobs_free(struct jobs *jobs)
{
	if (jobs == NULL)
		return;
	pthread_mutex_destroy(&jobs->names_lock);
	free(jobs);
}
