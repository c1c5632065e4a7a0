/*
 * main.c - cephvold, the Docker volume plugin daemon.
 *
 *	cephvold [-d] [-v]... [-c FILE] [-o section.key=value]...
 *	         [--check-config] [--dump-config]
 *
 * It never forks: -d only sends the log to stderr whatever log.target says.
 * Start-up: configuration, logging, the mount table (mounts.c) loaded and
 * reconciled with what is really mounted (hoststate.c), a first try at
 * the cluster (cluster.c; not required: requests retry it), then the
 * plugin socket (http.c), the optional metrics listener, and the
 * background detach of what a crash left. The main thread then only waits for
 * SIGTERM/SIGINT (stop serving, leave every mount up: cephvol-mount
 * processes are independent) or SIGHUP (log level from -v is kept; the
 * config is not re-read, a restart is cheap and safe).
 *
 * Exit status: 0 after a clean stop or a passing --check-config, 1 when
 * start-up fails, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "common/version.h"
#include "host/attach.h"
#include "host/helper.h"
#include "volplugin/api.h"
#include "volplugin/cluster.h"
#include "volplugin/hoststate.h"
#include "volplugin/http.h"
#include "volplugin/job.h"
#include "volplugin/metrics.h"
#include "volplugin/mounts.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: cephvold [-d] [-v]... [-c FILE] [-o section.key=value]... "
	    "[--check-config] [--dump-config]\n"
	    "\n"
	    "Docker volume plugin daemon for cephvol volumes.\n"
	    "\n"
	    "options:\n"
	    "  -d, --stderr          log to stderr, whatever log.target says\n"
	    "  -v, --verbose         log more (repeat for debug)\n"
	    "  -c, --config FILE     read FILE instead of " CONFIG_DEFAULT_PATH
	    " (or $" CONFIG_ENV ")\n"
	    "  -o section.key=value  override one configuration key\n"
	    "      --check-config    check the configuration and exit\n"
	    "      --dump-config     print the effective configuration and exit\n"
	    "  -h, --help            this text\n"
	    "      --version         print the version and exit\n"
	    "\n"
	    "exit status: 0 clean stop, 1 start-up failure, 2 usage error\n");
}

/* The metrics' gauges, read from the mount table (arg) when scraped. */
static unsigned
gauge_mounted(void *arg)
{
	return mounts_count(arg);
}

static unsigned
gauge_helpers(void *arg)
{
	return mounts_helpers_alive(arg);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stderr",	  no_argument,	     NULL, 'd' },
		{ "verbose",	  no_argument,	     NULL, 'v' },
		{ "config",	  required_argument, NULL, 'c' },
		{ "check-config", no_argument,	     NULL, 'C' },
		{ "dump-config",  no_argument,	     NULL, 'D' },
		{ "help",	  no_argument,	     NULL, 'h' },
		{ "version",	  no_argument,	     NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct config cfg;
	struct attach_ctx actx;
	struct mounts *mt = NULL;
	struct cluster *cl = NULL;
	struct hoststate *hs = NULL;
	struct jobs *jobs = NULL;
	struct api *api = NULL;
	struct http *http = NULL;
	struct config_args ca = { 0 };
	char helper[PATH_MAX], err[1024];
	bool to_stderr = false, check = false, dump = false;
	int c, verbose = 0, sig, r;
	enum log_level level;
	sigset_t set;

	while ((c = getopt_long(argc, argv, "dvc:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			to_stderr = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'c':
			ca.path = optarg;
			break;
		case 'o':
			if (config_args_add(&ca, optarg) < 0) {
				fprintf(stderr, "cephvold: out of memory\n");
				return 1;
			}
			break;
		case 'C':
			check = true;
			break;
		case 'D':
			dump = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("cephvold %s\n", CEPHVOL_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cephvold: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	log_init("cephvold", LOG_LEVEL_INFO, LOG_TARGET_STDERR);
	memset(&cfg, 0, sizeof(cfg));
	if (config_init(&cfg, ca.path, ca.overrides, ca.n_overrides, err, sizeof(err)) < 0) {
		fprintf(stderr, "cephvold: %s\n", err);
		config_free(&cfg);
		config_args_free(&ca);
		return 1;
	}
	if (dump) {
		config_dump(&cfg, stdout);
		goto out_free_config;
	}
	if (check) {
		char shown[512];
		printf("configuration ok%s%s\n", cfg.path ? ": " : " (defaults)",
		    cfg.path ? str_escape(shown, sizeof(shown), cfg.path,
		    strlen(cfg.path)) : "");
		goto out_free_config;
	}
	if (log_level_parse(cfg.log_level, &level) < 0)
		level = LOG_LEVEL_INFO;
	if (verbose)
		level = verbose > 1 ? LOG_LEVEL_DEBUG : (level > LOG_LEVEL_INFO ?
		    level : LOG_LEVEL_INFO);
	log_init("cephvold", level, to_stderr || strcmp(cfg.log_target, "syslog") != 0 ?
	    LOG_TARGET_STDERR : LOG_TARGET_SYSLOG);

	/* Every thread started below inherits these blocked; main waits. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	helper_find(helper, sizeof(helper));
	memset(&actx, 0, sizeof(actx));
	actx.cfg = &cfg;
	actx.config_path = cfg.path;
	actx.overrides = ca.overrides;
	actx.n_overrides = ca.n_overrides;
	actx.mount_helper = helper;
	/* Each step of a mount is bounded by twice plugin.timeout: the caller
	 * is answered at plugin.timeout, and a mount that completes a little
	 * later is undone cleanly rather than abandoned half way. */
	actx.timeout_s = (unsigned)(2 * cfg.plugin_timeout);

	log_info("starting: config %s, driver %s, pool %s, state %s, mounts under %s, "
	    "helper %s", cfg.path ? cfg.path : "(defaults)", cfg.plugin_driver,
	    cfg.ceph_pool, cfg.plugin_state_dir, cfg.plugin_mount_root, helper);
	if ((r = mkdir_p(cfg.plugin_mount_root, 0755)) < 0)
		fatal("cannot create mount root %s: %s", cfg.plugin_mount_root,
		    strerror(-r));
	if (mounts_open(cfg.plugin_state_dir, &mt, err, sizeof(err)) < 0)
		fatal("%s", err);
	if (cluster_new(&cfg, &cl) < 0 || jobs_new(API_MAX_JOBS, &jobs) < 0 ||
	    hoststate_new(&cfg, mt, cl, &attach_pipeline, &actx, &hs) < 0 ||
	    api_new(&cfg, jobs, cl, hs, &api) < 0)
		fatal("out of memory");
	hoststate_reconcile(hs);
	cluster_connect(cl);
	if (http_start(cfg.plugin_socket, api, &http, err, sizeof(err)) < 0)
		fatal("%s", err);
	if (cfg.metrics_listen[0] && metrics_start(cfg.metrics_listen, gauge_mounted,
	    gauge_helpers, mt, err, sizeof(err)) < 0) {
		http_stop(http);
		fatal("%s", err);
	}
	hoststate_detach_idle(hs, jobs);
	log_info("ready (pid %d)", (int)getpid());

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: nothing to reload; restart cephvold to "
			    "apply a changed configuration (mounts stay up)");
			continue;
		}
		break;
	}
	log_info("%s: stopping; mounted volumes stay up", strsignal(sig));
	metrics_stop();
	jobs_stop(jobs);
	http_stop(http);
	/* A job past its caller's timeout may still run: give it a moment,
	 * then leave it (its state changes are saved as they happen). */
	for (int i = 0; i < 50 && jobs_running(jobs) > 0; i++)
		usleep(100 * 1000);
	if (jobs_running(jobs) > 0) {
		log_warn("exiting with %u request(s) still running",
		    jobs_running(jobs));
		_exit(0);
	}
	api_free(api);
	hoststate_free(hs);
	jobs_free(jobs);
	cluster_free(cl);
	mounts_close(mt);
	log_info("stopped");
out_free_config:
	config_free(&cfg);
	config_args_free(&ca);
	return 0;
}
