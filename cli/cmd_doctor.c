/*
 * cmd_doctor.c - `cephvol doctor [--timeout SECONDS] [--json]`: run every
 * check a host needs (cli/doctor.h) and print one line each,
 * `ok|warn|fail  CHECK  detail`, with the fix under a warning or a
 * failure; or, with --json, an array of {check, status, detail, fix}.
 * Exit status 0 when nothing failed (warnings allowed), 1 otherwise, 2 on
 * a usage error.
 *
 * Order: the host's own checks (kernel, tools, configuration, key, host
 * mount state), then the cluster's on a thread of their own, then the
 * daemon and Docker. The cluster thread is waited for one step at a time,
 * each step at most twice the timeout plus 5 s (librados bounds each of
 * its calls by the timeout already; this bound is for the one that does
 * not return). A step that overruns is reported failed, the remaining
 * cluster steps are not run (the daemon and Docker still are), and the
 * command ends with _exit() once it has printed: the thread still inside
 * librados is never joined or shut down, and what it adds later is
 * dropped.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/doctor.h"
#include "common/util.h"

#define DOCTOR_USAGE	"cephvol doctor [--timeout SECONDS] [--json]"

/* Set on the cluster thread: its results are dropped once abandoned. */
static _Thread_local bool on_cluster_thread;

static const char *const status_names[] = {
	[DOCTOR_OK] = "ok",
	[DOCTOR_WARN] = "warn",
	[DOCTOR_FAIL] = "fail",
};

const char *
doctor_esc(const char *s)
{
	static _Thread_local char bufs[8][4 * 512 + 8];
	static _Thread_local unsigned next;
	char *b = bufs[next++ % 8];

	if (s == NULL)
		s = "";
	return str_escape(b, sizeof(bufs[0]), s, strnlen(s, 512 + 1));
}

void
doctor_add(struct doctor *d, enum doctor_status status, const char *check,
    const char *fix, const char *fmt, ...)
{
	struct doctor_result *res;
	char *detail = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&detail, fmt, ap);
	va_end(ap);
	if (r < 0)
		detail = NULL;
	pthread_mutex_lock(&d->lock);
	if ((d->abandoned && on_cluster_thread) || array_grow(&d->results, &d->cap, d->n,
	    sizeof(*d->results), 32) < 0) {
		pthread_mutex_unlock(&d->lock);
		free(detail);
		return;
	}
	res = &d->results[d->n++];
	res->status = status;
	snprintf(res->check, sizeof(res->check), "%s", check);
	res->detail = detail ? detail : strdup("out of memory");
	res->fix = status != DOCTOR_OK && fix ? strdup(fix) : NULL;
	pthread_mutex_unlock(&d->lock);
}

void
doctor_step(struct doctor *d, const char *name)
{
	pthread_mutex_lock(&d->lock);
	d->step = name;
	d->steps++;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void *
cluster_thread(void *arg)
{
	struct doctor *d = arg;

	on_cluster_thread = true;
	doctor_check_cluster(d);
	pthread_mutex_lock(&d->lock);
	d->done = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/*
 * Run the cluster checks, waiting for each step at most its bound. true
 * when they all ended; false when one overran (it is reported, and the
 * thread left behind).
 */
static bool
run_cluster(struct doctor *d)
{
	unsigned bound = 2 * d->timeout + 5, seen;
	struct timespec dl;
	pthread_t t;
	bool ended;

	if (pthread_create(&t, NULL, cluster_thread, d) != 0) {
		doctor_add(d, DOCTOR_FAIL, "cluster", "free memory or threads and "
		    "run it again", "cannot start a thread for the cluster checks");
		return true;
	}
	pthread_mutex_lock(&d->lock);
	for (;;) {
		seen = d->steps;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += bound;
		while (!d->done && d->steps == seen) {
			if (pthread_cond_timedwait(&d->cond, &d->lock, &dl) == ETIMEDOUT)
				break;
		}
		if (d->done || d->steps == seen)
			break;
	}
	ended = d->done;
	if (!ended) {
		const char *step = d->step ? d->step : "cluster";
		pthread_mutex_unlock(&d->lock);
		doctor_add(d, DOCTOR_FAIL, step, "check that this host reaches the "
		    "monitors and OSDs (ceph -s), then run it again",
		    "no answer from the cluster within %u s (the rest of the "
		    "cluster checks were not run)", bound);
		pthread_mutex_lock(&d->lock);
		d->abandoned = true;
	}
	pthread_mutex_unlock(&d->lock);
	if (ended)
		pthread_join(t, NULL);
	else
		pthread_detach(t);
	return ended;
}

static int
print_results(struct doctor *d, bool json)
{
	int status = 0;

	/* the cluster thread, if it is still there, adds nothing from here
	 * on, and every other check has run: the list is ours */
	pthread_mutex_lock(&d->lock);
	d->abandoned = true;
	pthread_mutex_unlock(&d->lock);
	if (json) {
		json_t *a = json_array();
		for (size_t i = 0; i < d->n; i++) {
			struct doctor_result *r = &d->results[i];
			json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s?}",
			    "check", r->check, "status", status_names[r->status],
			    "detail", r->detail, "fix", r->fix));
		}
		char *s = json_dumps(a, JSON_INDENT(2));
		printf("%s\n", s ? s : "[]");
		free(s);
		json_decref(a);
	}
	for (size_t i = 0; i < d->n; i++) {
		struct doctor_result *r = &d->results[i];
		if (r->status == DOCTOR_FAIL)
			status = 1;
		if (json)
			continue;
		printf("%-4s  %-11s %s\n", status_names[r->status], r->check, r->detail);
		if (r->fix)
			printf("      fix: %s\n", r->fix);
	}
	fflush(stdout);
	return status;
}

static void
doctor_free(struct doctor *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->results[i].detail);
		free(d->results[i].fix);
	}
	free(d->results);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
}

int
cmd_doctor(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "json",    no_argument,	NULL, 'j' },
		{ "help",    no_argument,	NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct doctor d;
	uint64_t secs;
	bool ended;
	int c, status;

	memset(&d, 0, sizeof(d));
	d.cli = cli;
	d.timeout = (unsigned)cli->cfg.ceph_timeout;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (uint_parse(optarg, 1, 3600, &secs) < 0)
				usage_die("--timeout takes whole seconds from 1 to 3600\n%s",
				    DOCTOR_USAGE);
			d.timeout = (unsigned)secs;
			break;
		case 'j':
			cli->json = true;
			break;
		case 'h':
			printf("usage: %s\n", DOCTOR_USAGE);
			return 0;
		default:
			usage_die("%s", DOCTOR_USAGE);
		}
	}
	if (optind != argc)
		usage_die("%s", DOCTOR_USAGE);
	/* every cluster call of the checks is bounded by this */
	cli->cfg.ceph_timeout = d.timeout;
	gethostname(d.host, sizeof(d.host) - 1);
	pthread_condattr_t ca;
	pthread_mutex_init(&d.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);	/* a clock step is no timeout */
	pthread_cond_init(&d.cond, &ca);
	pthread_condattr_destroy(&ca);

	doctor_check_fuse(&d);
	doctor_check_loop(&d);
	doctor_check_tools(&d);
	doctor_check_config(&d);
	doctor_check_key(&d);
	doctor_check_mounts(&d);
	/* with a configuration that does not parse, whose cluster is it? */
	ended = cli->config_err ? true : run_cluster(&d);
	doctor_check_cephvold(&d);
	doctor_check_docker(&d);
	status = print_results(&d, cli->json);
	if (!ended)
		_exit(status);	/* a thread is still inside librados */
	doctor_free(&d);
	return status;
}
