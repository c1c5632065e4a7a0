/*
 * volplugin/job.h - the request engine. A request's work runs as a job on
 * a thread of its own, in its volume's turn: the jobs of one volume name
 * run one at a time, in the order they were submitted; different names
 * run in parallel. Its caller waits at most the job's limit, or until it
 * hangs up, or until the engine stops; then it learns what the job was
 * waiting for (its phase), and the job goes on alone. A job that
 * has committed (job_commit) is waited for to its end: only in-memory work
 * is left.
 */
#ifndef CEPHVOL_VOLPLUGIN_JOB_H
#define CEPHVOL_VOLPLUGIN_JOB_H

#include <stdbool.h>

#include <jansson.h>

#include "volplugin/metrics.h"

struct jobs;	/* the engine */
struct job;	/* one job, handed to its work function */

/* What to run. Every string is copied. */
struct job_spec {
	const char	*what;		/* "VolumeDriver.Mount": logs, Errs */
	const char	*name;		/* the volume; NULL or "": no turn */
	unsigned	 limit_s;	/* the caller waits at most this */
	bool		 always;	/* runs even if its caller left while it
					 * waited its turn (an Unmount: Docker
					 * never sends one again) */
	void		(*work)(struct job *job, void *arg);
	void		*arg;		/* stolen: free_arg(arg) once the job
					 * and its caller are done with it */
	void		(*free_arg)(void *arg);
};

/* At most max jobs run at once: job_run refuses more, with an Err. *out
 * is new: jobs_free(), once jobs_running() is 0. */
int	jobs_new(unsigned max, struct jobs **out);
/* From now on, callers waiting for a job stop waiting (with an Err). */
void	jobs_stop(struct jobs *jobs);
/* Jobs whose work is still running (also after their caller left). */
unsigned jobs_running(struct jobs *jobs);
void	jobs_free(struct jobs *jobs);

/* How a wait for a job ended. */
enum job_end {
	JOB_DONE,		/* out has the job's answer */
	JOB_NO_MEMORY,		/* not run */
	JOB_FULL,		/* not run: the most jobs are running */
	JOB_NO_THREAD,		/* not run: no thread (out->error) */
	JOB_HUNG_UP,		/* the caller hung up, at out->phase */
	JOB_STOPPING,		/* the engine stops, at out->phase */
	JOB_TIMED_OUT,		/* spec->limit_s passed, at out->phase */
};

struct job_result {
	unsigned		 status;	/* JOB_DONE: the answer */
	json_t			*reply;		/* JOB_DONE: new, or NULL */
	enum metrics_result	 res;		/* JOB_DONE */
	const char		*phase;		/* what the job was doing */
	int			 error;		/* JOB_NO_THREAD: -errno */
};

/*
 * Run spec on a thread of its own and wait for it, at most spec->limit_s,
 * asking gone(gone_arg) about once a second whether the caller hung up
 * (gone may be NULL). Unless it is JOB_DONE, the job, if it runs, goes on
 * alone and its answer is dropped.
 */
enum job_end job_run(struct jobs *jobs, const struct job_spec *spec,
	    bool (*gone)(void *), void *gone_arg, struct job_result *out);
/* Run spec in the background, nobody waiting: 0 or -errno. */
int	job_start(struct jobs *jobs, const struct job_spec *spec);

/*
 * For the work, on the job's thread. job may be NULL (work run outside the
 * engine): then there is no phase, nobody gives up, a commit is fn(arg) and
 * job_warn() logs msg alone.
 */
/* The volume it runs for ("" if none). */
const char *job_name(struct job *job);
/* What the job waits for now (a static string: it goes into Errs). */
void	job_phase(struct job *job, const char *phase);
/* Has the caller given up (time limit, hang-up, stop)? */
bool	job_abandoned(struct job *job);
/* fn(arg) unless the caller gave up (-ECANCELED); when it returns >= 0,
 * the job is committed: its caller waits for its end. */
int	job_commit(struct job *job, int (*fn)(void *), void *arg);
/* The answer (reply is stolen). */
void	job_reply(struct job *job, enum metrics_result res, unsigned status,
	    json_t *reply);
/* Log a failure of the job: "VolumeDriver.Mount volume=NAME: msg". */
void	job_warn(struct job *job, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
