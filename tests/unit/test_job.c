/*
 * test_job.c - cephvold's request engine (volplugin/job.c): the jobs of one
 * volume run one at a time in the order they were submitted, other volumes'
 * in parallel; a caller stops waiting at its limit, when it hangs up or
 * when the engine stops, and learns what the job was doing; a job whose
 * caller gave up cannot commit, and one that committed is waited for; a
 * job whose caller left while it waited its turn does not run unless it
 * must; the engine refuses jobs past its maximum. Each case waits a second
 * or two for a limit to pass.
 *
 */
#include <pthread.h>

#include "tests/unit/harness.h"

#include "volplugin/job.h"

/* What a test job does: wait for the gate (if it is shut), sleep, try to
 * commit, and record that it ran. */
struct work {
	unsigned	 index;
	unsigned	 sleep_ms;
	bool		 commit_first;	/* commit, then sleep */
	bool		 gated;
	int		 commit;	/* job_commit's result, after the sleep */
	bool		 ran;
	bool		 committed_fn;	/* the commit's fn was called */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t opened = PTHREAD_COND_INITIALIZER;
static bool gate_shut;
static unsigned order[64], n_order;

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int
commit_fn(void *arg)
{
	((struct work *)arg)->committed_fn = true;
	return 0;
}

static void
work_main(struct job *job, void *arg)
{
	struct work *w = arg;

	pthread_mutex_lock(&lock);
	while (w->gated && gate_shut)
		pthread_cond_wait(&opened, &lock);
	order[n_order++] = w->index;
	w->ran = true;
	pthread_mutex_unlock(&lock);
	if (w->commit_first)
		w->commit = job_commit(job, commit_fn, w);
	job_phase(job, "sleeping");
	sleep_ms(w->sleep_ms);
	if (!w->commit_first)
		w->commit = job_commit(job, commit_fn, w);
	job_reply(job, RESULT_OK, 200, json_pack("{s:s}", "Err", ""));
}

static void
gate(bool shut)
{
	pthread_mutex_lock(&lock);
	gate_shut = shut;
	if (!shut)
		pthread_cond_broadcast(&opened);
	pthread_mutex_unlock(&lock);
}

static void
reset(void)
{
	pthread_mutex_lock(&lock);
	n_order = 0;
	pthread_mutex_unlock(&lock);
}

static void
idle_wait(struct jobs *jobs)
{
	for (int i = 0; i < 1000 && jobs_running(jobs) > 0; i++)
		sleep_ms(10);
	CHECK_INT(jobs_running(jobs), 0);
}

static struct job_spec
spec_of(const char *name, struct work *w, unsigned limit_s)
{
	return (struct job_spec){ .what = "Test", .name = name, .limit_s = limit_s,
	    .work = work_main, .arg = w };
}

static bool
ran(struct work *w)
{
	bool r;

	pthread_mutex_lock(&lock);
	r = w->ran;
	pthread_mutex_unlock(&lock);
	return r;
}

/* Turns: one name in arrival order, another name meanwhile. */
static void
test_fifo(void)
{
	struct work w[10], other = { .index = 99 };
	struct jobs *jobs;

	REQUIRE(jobs_new(64, &jobs) == 0);
	reset();
	gate(true);
	for (unsigned i = 0; i < 10; i++) {
		w[i] = (struct work){ .index = i, .gated = i == 0 };
		struct job_spec s = spec_of("v", &w[i], 10);
		CHECK_OK(job_start(jobs, &s));
	}
	struct job_spec s = spec_of("w", &other, 10);
	CHECK_OK(job_start(jobs, &s));
	for (int i = 0; i < 500 && !ran(&other); i++)
		sleep_ms(10);
	CHECK(ran(&other));		/* while v's first holds its turn */
	CHECK(!ran(&w[1]));
	gate(false);
	idle_wait(jobs);
	REQUIRE(n_order == 11);
	CHECK_INT(order[0], 99);
	for (unsigned i = 0; i < 10; i++)
		CHECK_INT(order[i + 1], i);
	jobs_free(jobs);
}

/* Run w as the only job of a fresh engine, its caller waiting at most
 * limit_s; how the wait ended, once the job is over. */
static enum job_end
run_alone(struct work *w, unsigned limit_s, struct job_result *out)
{
	struct jobs *jobs;
	enum job_end end;

	if (jobs_new(4, &jobs) < 0)
		return JOB_NO_MEMORY;
	struct job_spec s = spec_of("v", w, limit_s);
	end = job_run(jobs, &s, NULL, NULL, out);
	idle_wait(jobs);
	jobs_free(jobs);
	return end;
}

static void
test_done(void)
{
	struct work w = { .sleep_ms = 10 };
	struct job_result out;

	CHECK_INT(run_alone(&w, 10, &out), JOB_DONE);
	CHECK_INT(out.status, 200);
	CHECK_INT(out.res, RESULT_OK);
	CHECK_STR(json_string_value(json_object_get(out.reply, "Err")), "");
	CHECK_OK(w.commit);
	CHECK(w.committed_fn);
	json_decref(out.reply);
}

/* Past its limit the caller leaves, and the job cannot commit any more;
 * but a job that committed is waited for past the limit. */
static void
test_limit(void)
{
	struct work late = { .sleep_ms = 1500 };
	struct work committed = { .sleep_ms = 1500, .commit_first = true };
	struct job_result out;

	CHECK_INT(run_alone(&late, 1, &out), JOB_TIMED_OUT);
	CHECK_STR(out.phase, "sleeping");
	CHECK(out.reply == NULL);
	CHECK_ERR(late.commit, -ECANCELED);
	CHECK(!late.committed_fn);
	CHECK_INT(run_alone(&committed, 1, &out), JOB_DONE);
	CHECK_OK(committed.commit);
	json_decref(out.reply);
}

static bool
gone_yes(void *arg)
{
	(void)arg;
	return true;
}

static void
test_hung_up_and_stopping(void)
{
	struct work w = { .sleep_ms = 1500 }, w2 = { .sleep_ms = 1500 };
	struct jobs *jobs;
	struct job_result out;

	REQUIRE(jobs_new(4, &jobs) == 0);
	struct job_spec s = spec_of("v", &w, 10);
	CHECK_INT(job_run(jobs, &s, gone_yes, NULL, &out), JOB_HUNG_UP);
	CHECK_STR(out.phase, "sleeping");
	jobs_stop(jobs);
	s = spec_of("w", &w2, 10);
	CHECK_INT(job_run(jobs, &s, NULL, NULL, &out), JOB_STOPPING);
	idle_wait(jobs);
	CHECK_ERR(w.commit, -ECANCELED);
	CHECK_ERR(w2.commit, -ECANCELED);
	jobs_free(jobs);
}

/* A caller that left while its job waited its turn: the job does not run,
 * unless it must (always). */
static void
test_left_waiting(void)
{
	struct work first = { .index = 0, .gated = true }, skipped = { .index = 1 },
	    always = { .index = 2 };
	struct jobs *jobs;
	struct job_result out;

	REQUIRE(jobs_new(4, &jobs) == 0);
	reset();
	gate(true);
	struct job_spec s = spec_of("v", &first, 10);
	CHECK_OK(job_start(jobs, &s));
	s = spec_of("v", &skipped, 1);
	CHECK_INT(job_run(jobs, &s, NULL, NULL, &out), JOB_TIMED_OUT);
	CHECK_STR(out.phase, "waiting for an earlier request on the same volume");
	s = spec_of("v", &always, 1);
	s.always = true;
	CHECK_INT(job_run(jobs, &s, NULL, NULL, &out), JOB_TIMED_OUT);
	gate(false);
	idle_wait(jobs);
	CHECK(first.ran);
	CHECK(!skipped.ran);
	CHECK(always.ran);
	jobs_free(jobs);
}

static void
test_full(void)
{
	struct work first = { .gated = true }, second = { 0 };
	struct jobs *jobs;
	struct job_result out;

	REQUIRE(jobs_new(1, &jobs) == 0);
	gate(true);
	struct job_spec s = spec_of("v", &first, 10);
	CHECK_OK(job_start(jobs, &s));
	s = spec_of("w", &second, 10);
	CHECK_INT(job_run(jobs, &s, NULL, NULL, &out), JOB_FULL);
	gate(false);
	idle_wait(jobs);
	CHECK(!second.ran);
	jobs_free(jobs);
}

/* Outside the engine (job NULL): nothing to give up, a commit is fn(arg). */
static void
test_no_job(void)
{
	struct work w = { 0 };

	job_phase(NULL, "x");
	CHECK(!job_abandoned(NULL));
	CHECK_OK(job_commit(NULL, commit_fn, &w));
	CHECK(w.committed_fn);
	CHECK_STR(job_name(NULL), "");
	job_reply(NULL, RESULT_OK, 200, json_object());
}

HARNESS_MAIN(CASE(test_fifo), CASE(test_done), CASE(test_limit),
    CASE(test_hung_up_and_stopping), CASE(test_left_waiting), CASE(test_full),
    CASE(test_no_job))
