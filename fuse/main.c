/*
 * main.c - cephvol-mount: one process per mounted volume.
 *
 *	cephvol-mount [-c FILE] [-o section.key=value]... [--ready-fd N]
 *	    [--pid-file FILE] [server options] VOLUME DIR
 *	cephvol-mount --secrets ... VOLUME MOUNTPOINT
 *
 * This file is what both servers share; the servers themselves are
 * structs of operations (fuse/server.h): the block volume server by
 * default, the secrets server with --secrets anywhere on the command line.
 * The names of the contract with the host mount pipeline (options, ready
 * line, pid file) are those of host/helperproto.h.
 *
 * Life: parse the common options and the server's own; detach; read the
 * configuration and set up the log; the server's setup(); start the signal
 * thread; write the pid file; say we are ready; the server's serve() until
 * DIR is unmounted or SIGTERM/SIGINT; its teardown(); remove the pid file.
 * Exit status: 0 after a clean stop, 1 when it cannot start (the reason on
 * the ready fd and in the log) or serving ended in a failure, 2 for a usage
 * error.
 *
 * Readiness (fuse/ready.h): with --ready-fd N exactly one line on fd N,
 * HELPER_READY_OK once serving, or HELPER_READY_ERROR and a sentence when
 * it cannot start; then fd N is closed. The caller needs no sleeps. A
 * reader that is gone when "ok" is due stops the server as SIGTERM does.
 *
 * Pid file (--pid-file), written once serving and removed at exit: our pid,
 * then HELPER_PIDFILE_COOKIE and the server's lease or registration cookie,
 * so that the host can check against the cluster that this mount still
 * holds the volume before it hands it out again.
 *
 * Detachment: it makes itself a session leader (setsid) and ignores SIGHUP
 * and SIGPIPE, so the death of whoever started it (cephvold restarting)
 * changes nothing.
 *
 * Signals: TERM and INT are blocked in every thread and taken by one
 * thread with sigwait(), which calls the server's stop() under stop_lock
 * and then wakes the main thread out of the serving loop with SIGUSR1 (a
 * handler that does nothing, installed without SA_RESTART, and unblocked in
 * the main thread only while it serves). The main thread clears stop_h
 * under stop_lock once serve() has returned, before teardown(), so stop()
 * never meets a server that is being torn down; stop() returns quickly,
 * so that lock is never held long.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "common/version.h"
#include "fuse/ready.h"
#include "fuse/server.h"
#include "host/helperproto.h"

/* How the signal thread wakes a serving loop: every WAKE_MS, WAKE_TRIES
 * times at most (a wakeup can land just before the loop goes to sleep). */
#define WAKE_MS		20
#define WAKE_TRIES	250

static const struct server *const servers[] = {
	&imagefs_server,
	&secretsfs_server,
};

static const struct server *srv;	/* the one this process runs */
static const char *volume_name;		/* for the signal thread's log line */
static pthread_t main_thread;
static atomic_bool serving;		/* main is in srv->serve() */
/* The signal thread's handle on the server: NULL but between setup() and
 * teardown(). */
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static void *stop_h;

/* helperproto.h names options as they are typed; getopt wants no dashes. */
static const char *
long_name(const char *opt)
{
	return opt + 2;
}

static void
usage_line(FILE *out, const char *opt, const char *help)
{
	fprintf(out, "      %-20s%s\n", opt, help);
}

/* One word of the synopsis, on a new line if it would reach column 80. */
static void
usage_word(FILE *out, size_t *col, const char *word)
{
	size_t indent = strlen("usage: " HELPER_PROGRAM " ");

	if (*col + 1 + strlen(word) >= 80) {
		fprintf(out, "\n%*s%s", (int)indent, "", word);
		*col = indent + strlen(word);
	} else {
		fprintf(out, " %s", word);
		*col += 1 + strlen(word);
	}
}

static void
usage(FILE *out)
{
	size_t col = strlen("usage: " HELPER_PROGRAM);
	const struct server_option *o;
	char opt[64], args[64];

	fprintf(out, "usage: " HELPER_PROGRAM);
	if (srv->select)
		usage_word(out, &col, srv->select);
	usage_word(out, &col, "[-c FILE]");
	usage_word(out, &col, "[-o section.key=value]...");
	usage_word(out, &col, "[" HELPER_OPT_READY_FD " N]");
	usage_word(out, &col, "[" HELPER_OPT_PID_FILE " FILE]");
	for (o = srv->options; o->name; o++) {
		snprintf(opt, sizeof(opt), "[--%s %s]", o->name, o->arg);
		usage_word(out, &col, opt);
	}
	snprintf(args, sizeof(args), "%s", srv->args);
	for (char *w, *p = args; (w = strsep(&p, " ")) != NULL; )
		usage_word(out, &col, w);
	fprintf(out, "\n");
	for (size_t i = 0; srv->select == NULL && i < ARRAY_SIZE(servers); i++)
		if (servers[i]->select)
			fprintf(out, "       " HELPER_PROGRAM " %s [options] %s\n",
			    servers[i]->select, servers[i]->args);
	fprintf(out, "\n%s\n", srv->about);
	fprintf(out, "  -c, --config FILE       configuration file (default "
	    CONFIG_DEFAULT_PATH ")\n");
	fprintf(out, "  -o section.key=value    override one configuration key\n");
	usage_line(out, HELPER_OPT_READY_FD " N", "write \"" HELPER_READY_OK
	    "\" or \"" HELPER_READY_ERROR "...\" to fd N when ready");
	usage_line(out, HELPER_OPT_PID_FILE " FILE",
	    "write our pid to FILE while serving");
	for (o = srv->options; o->name; o++) {
		snprintf(opt, sizeof(opt), "--%s %s", o->name, o->arg);
		usage_line(out, opt, o->help);
	}
	for (size_t i = 0; srv->select == NULL && i < ARRAY_SIZE(servers); i++)
		if (servers[i]->select)
			usage_line(out, servers[i]->select, servers[i]->select_help);
	fprintf(out, "  -h, --help              this text\n");
	fprintf(out, "      --version           print the version and exit\n");
}

static unsigned
arg_uint(const char *opt, const char *what, const char *s, unsigned min,
    unsigned max)
{
	uint64_t v;

	if (uint_parse(s, min, max, &v) < 0) {
		fprintf(stderr, HELPER_PROGRAM ": --%s wants %s from %u to %u, not '%s'\n",
		    opt, what, min, max, s);
		exit(2);
	}
	return (unsigned)v;
}

/* The server that argv asks for: one whose select option appears in it. */
static const struct server *
server_pick(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		for (size_t k = 0; k < ARRAY_SIZE(servers); k++)
			if (servers[k]->select && strcmp(argv[i], servers[k]->select) == 0)
				return servers[k];
	for (size_t k = 0; k < ARRAY_SIZE(servers); k++)
		if (servers[k]->select == NULL)
			return servers[k];
	return NULL;
}

/* Tell the caller why we cannot start, log it, exit 1. */
static noreturn void
start_failed(const char *msg)
{
	log_err("%s", msg);
	ready_report_error(msg);
	exit(1);
}

static void
on_usr1(int sig)
{
	(void)sig;
}

static void *
signal_main(void *arg)
{
	sigset_t set;
	int sig;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		log_info("volume=%s: %s, stopping", volume_name, strsignal(sig));
		pthread_mutex_lock(&stop_lock);
		if (stop_h) {
			srv->stop(stop_h);
			for (int i = 0; i < WAKE_TRIES && atomic_load(&serving); i++) {
				pthread_kill(main_thread, SIGUSR1);
				usleep(WAKE_MS * 1000);
			}
		}
		pthread_mutex_unlock(&stop_lock);
	}
	return NULL;
}

/* Our session, our signals: see the top of the file. */
static void
detach(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	sigset_t block;

	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, NULL);	/* every thread inherits */
}

static void
pid_file_write(const char *path, const char *cookie)
{
	char buf[128];
	int n, r;

	n = snprintf(buf, sizeof(buf), "%d\n" HELPER_PIDFILE_COOKIE "%s\n",
	    (int)getpid(), cookie);
	if ((r = file_write_atomic(path, buf, (size_t)n, 0644)) < 0)
		log_warn("cannot write pid file %s: %s", path, strerror(-r));
}

/* The server's serve(), with SIGUSR1 let in to wake it; 0 or -errno. */
static int
serve(void *h)
{
	sigset_t usr1;
	int r;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	atomic_store(&serving, true);
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	r = srv->serve(h);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	atomic_store(&serving, false);
	if (r < 0)
		log_err("volume=%s fuse loop: %s", volume_name, strerror(-r));
	return r;
}

int
main(int argc, char **argv)
{
	enum { OPT_READY = 256, OPT_PIDFILE, OPT_SELECT, OPT_VERSION, OPT_SERVER };
	const struct server_option *so;
	struct config_args ca = { 0 };
	struct config cfg;
	struct option *longopts;
	const char *pid_file = NULL, *cookie;
	char err[1200];
	size_t n = 0, nopts = 0;
	int c, r, status = 0;
	void *h;

	srv = server_pick(argc, argv);
	for (so = srv->options; so->name; so++)
		nopts++;
	/* the common five, the servers' selectors, its own, the end */
	longopts = calloc(5 + ARRAY_SIZE(servers) + nopts + 1, sizeof(*longopts));
	if (longopts == NULL) {
		fprintf(stderr, HELPER_PROGRAM ": out of memory\n");
		return 1;
	}
	longopts[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	longopts[n++] = (struct option){ long_name(HELPER_OPT_READY_FD),
	    required_argument, NULL, OPT_READY };
	longopts[n++] = (struct option){ long_name(HELPER_OPT_PID_FILE),
	    required_argument, NULL, OPT_PIDFILE };
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n++] = (struct option){ "version", no_argument, NULL, OPT_VERSION };
	for (size_t i = 0; i < ARRAY_SIZE(servers); i++)
		if (servers[i]->select)
			longopts[n++] = (struct option){ long_name(servers[i]->select),
			    no_argument, NULL, OPT_SELECT };
	for (size_t i = 0; i < nopts; i++)
		longopts[n++] = (struct option){ srv->options[i].name,
		    required_argument, NULL, OPT_SERVER + (int)i };
	while ((c = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ca.path = optarg;
			break;
		case 'o':
			if (config_args_add(&ca, optarg) < 0) {
				fprintf(stderr, HELPER_PROGRAM ": out of memory\n");
				free(longopts);
				return 1;
			}
			break;
		case OPT_READY:
			ready_set_fd((int)arg_uint(long_name(HELPER_OPT_READY_FD),
			    "a number", optarg, 0, 65535));
			break;
		case OPT_PIDFILE:
			pid_file = optarg;
			break;
		case OPT_SELECT:
			break;
		case 'h':
			usage(stdout);
			free(longopts);
			config_args_free(&ca);
			return 0;
		case OPT_VERSION:
			printf(HELPER_PROGRAM " %s\n", CEPHVOL_VERSION);
			free(longopts);
			config_args_free(&ca);
			return 0;
		default:
			if (c < OPT_SERVER || c >= OPT_SERVER + (int)nopts) {
				usage(stderr);
				free(longopts);
				config_args_free(&ca);
				return 2;
			}
			so = &srv->options[c - OPT_SERVER];
			*so->value = arg_uint(so->name, so->what, optarg, so->min, so->max);
			break;
		}
	}
	free(longopts);
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	struct server_args sa = { .volume = argv[optind], .dir = argv[optind + 1],
	    .cfg = &cfg };
	volume_name = sa.volume;
	main_thread = pthread_self();
	detach();

	log_init(HELPER_PROGRAM, LOG_LEVEL_INFO, LOG_TARGET_STDERR);
	if (config_init(&cfg, ca.path, ca.overrides, ca.n_overrides, err, sizeof(err)) < 0)
		start_failed(err);
	config_args_free(&ca);
	enum log_level lvl;
	if (log_level_parse(cfg.log_level, &lvl) == 0)
		log_init(HELPER_PROGRAM, lvl, strcmp(cfg.log_target, "syslog") == 0 ?
		    LOG_TARGET_SYSLOG : LOG_TARGET_STDERR);
	if (!name_valid(sa.volume)) {
		snprintf(err, sizeof(err), "bad volume name '%s': %s", sa.volume, NAME_RULE);
		start_failed(err);
	}

	if (srv->setup(&sa, &h, &cookie, err, sizeof(err)) < 0)
		start_failed(err);
	pthread_mutex_lock(&stop_lock);
	stop_h = h;
	pthread_mutex_unlock(&stop_lock);
	pthread_t sig_thread;
	if ((r = pthread_create(&sig_thread, NULL, signal_main, NULL)) != 0) {
		srv->teardown(h);
		snprintf(err, sizeof(err), "cannot start the signal thread: %s", strerror(r));
		start_failed(err);
	}
	pthread_detach(sig_thread);
	if (pid_file)
		pid_file_write(pid_file, cookie);
	ready_report_ok();

	if (serve(h) < 0)
		status = 1;
	pthread_mutex_lock(&stop_lock);
	stop_h = NULL;
	pthread_mutex_unlock(&stop_lock);
	if (srv->teardown(h) < 0)
		status = 1;
	if (pid_file)
		unlink(pid_file);
	config_free(&cfg);
	return status;
}
