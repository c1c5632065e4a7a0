/*
 * main.c - cephvol-mount: one process per mounted volume.
 *
 *	cephvol-mount [-c FILE] [-o section.key=value]... [--ready-fd N]
 *	    [--pid-file FILE] [--threads N] [--max-background N]
 *	    [--inflight-mb N] VOLUME FUSEDIR
 *	cephvol-mount --secrets ...	(fuse/secretsfs.c)
 *
 * Takes VOLUME's lease, opens its image and serves it as FUSEDIR/image
 * (fuse/imagefs.c) until FUSEDIR is unmounted or SIGTERM/SIGINT arrives;
 * then it waits for every request in flight, flushes, unmounts, releases
 * the lease and exits 0.
 *
 * Readiness: with --ready-fd N it writes exactly one line to fd N, "ok\n"
 * once the FUSE mount is up, or "error: <sentence>\n" when it cannot
 * start, then closes it. The caller needs no sleeps.
 *
 * Detachment: it makes itself a session leader (setsid) and ignores SIGHUP,
 * so the death of whoever started it (cephvold restarting) changes nothing.
 *
 * Memory: PR_SET_IO_FLUSHER (its allocations never wait on the writeback
 * it serves) and mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT): every
 * page it touches stays in RAM. MCL_ONFAULT, not plain MCL_FUTURE, because
 * librados starts dozens of threads with 8 MiB stacks that would otherwise
 * all be faulted in (hundreds of MiB). Memory stays flat because imagefs
 * bounds the requests in flight.
 *
 * The lease (store/lease.h). While it is unconfirmed (its deadline passed
 * unrenewed: the cluster is stalled, or this process was stopped) the image
 * holds every request and takes back what librados has in flight; when a
 * renewal succeeds it sends them again: the application sees a pause, not
 * an error. Lost (another host took the volume, or it was broken or
 * removed): the image and the file server fail everything with EIO at once,
 * for good, loudly in the log; the process keeps serving errors until
 * unmounted. The generation check makes "lost" certain even when the
 * blocklist entry that fenced us has been removed.
 *
 * Signals: TERM and INT are blocked in every thread and taken by one
 * thread with sigwait(); SIGUSR1 wakes the FUSE loop (imagefs_stop).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "fuse/imagefs.h"
#include "fuse/ready.h"
#include "fuse/secretsfs.h"
#include "host/helperproto.h"
#include "store/catalog.h"
#include "store/conn.h"
#include "store/image.h"
#include "store/lease.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

static struct lease *held;	/* released by fail_start() */
static char volume_name[NAME_MAX_LEN + 1];
/* What the lease thread may touch; g_lock guards both, and main clears
 * them under it before freeing. Never held long: the lease's hold, resume
 * and lost must not wait. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct image *g_img;
static struct imagefs *g_fs;
/* The signal thread's own pointer and lock (imagefs_stop() can take
 * seconds while a stalled request is being answered). */
static pthread_mutex_t g_stop_lock = PTHREAD_MUTEX_INITIALIZER;
static struct imagefs *g_stop_fs;

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: cephvol-mount [-c FILE] [-o section.key=value]... [--ready-fd N]\n"
	    "                     [--pid-file FILE] [--threads N] [--max-background N]\n"
	    "                     [--inflight-mb N] VOLUME FUSEDIR\n"
	    "       cephvol-mount --secrets [options] VOLUME MOUNTPOINT\n"
	    "\n"
	    "Serve block volume VOLUME as the file FUSEDIR/image until FUSEDIR is\n"
	    "unmounted or SIGTERM; see cephvol-mount(8).\n"
	    "\n"
	    "  -c, --config FILE       configuration file (default " CONFIG_DEFAULT_PATH ")\n"
	    "  -o section.key=value    override one configuration key\n"
	    "      --ready-fd N        write \"ok\" or \"error: ...\" to fd N when ready\n"
	    "      --pid-file FILE     write our pid to FILE while serving\n"
	    "      --threads N         FUSE worker threads (default 4)\n"
	    "      --max-background N  kernel cap on requests in flight (default 64)\n"
	    "      --inflight-mb N     bytes in flight to RADOS, MiB (default 12)\n"
	    "      --secrets           serve a secrets volume instead\n"
	    "  -h, --help              this text\n");
}

/* Tell the caller we cannot start, log it, exit 1. */
static noreturn void fail_start(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void
fail_start(const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s", msg);
	/* Give the lease back at once, or a retry waits for it to expire. */
	if (held)
		lease_release(held);
	ready_report_error(msg);
	exit(1);
}

static bool
guard(void *arg)
{
	return lease_valid(arg);
}

static void
on_lease_hold(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g_lock);
	if (g_img)
		image_hold(g_img);
	pthread_mutex_unlock(&g_lock);
}

static void
on_lease_resume(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&g_lock);
	if (g_img)
		image_resume(g_img);
	pthread_mutex_unlock(&g_lock);
}

static void
on_lease_lost(void *arg, int err)
{
	(void)arg;
	log_err("!!! LEASE LOST on volume=%s: %s; every read, write and flush now "
	    "fails with EIO; unmount and mount again to recover !!!", volume_name,
	    strerror(-err));
	pthread_mutex_lock(&g_lock);
	if (g_fs)
		imagefs_fence(g_fs, -EIO);
	if (g_img)
		image_fence(g_img, -EIO);
	pthread_mutex_unlock(&g_lock);
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
		/* imagefs_stop() returns once the loop has ended, so main,
		 * which takes g_stop_lock only after that, never waits long. */
		pthread_mutex_lock(&g_stop_lock);
		if (g_stop_fs)
			imagefs_stop(g_stop_fs);
		pthread_mutex_unlock(&g_stop_lock);
	}
	return NULL;
}

static unsigned
arg_uint(const char *opt, const char *s, unsigned min, unsigned max)
{
	uint64_t v;

	if (uint_parse(s, min, max, &v) < 0) {
		fprintf(stderr, "cephvol-mount: %s wants a number from %u to %u, not '%s'\n",
		    opt, min, max, s);
		exit(2);
	}
	return (unsigned)v;
}

static void
memory_setup(void)
{
	/* Our allocations must never wait for the writeback we serve. */
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) < 0)
		log_warn("prctl(PR_SET_IO_FLUSHER): %s (needs CAP_SYS_RESOURCE)",
		    strerror(errno));
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
		log_warn("mlockall: %s; memory may be swapped", strerror(errno));
	/* One malloc arena, and buffers up to an object's 4 MiB from the
	 * heap, which keeps them: librados copies every write into a fresh
	 * page-aligned buffer, and while those came from mmap (the old
	 * threshold of 256 KiB) each 1 MiB write cost 256 page faults (zeroed,
	 * charged, locked) and a munmap: 92% of a core at ~500 MiB/s, against
	 * 50-60% now (perf, docs/benchmarks.md). The heap stays bounded by
	 * the bytes in flight (imagefs budget): peak RSS 54-55 MiB under the
	 * sequential fio jobs, against 59-82 MiB with two arenas or a
	 * 16 MiB trim threshold. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, (4 << 20) + (64 << 10));
	mallopt(M_TRIM_THRESHOLD, 4 << 20);
}

int
main(int argc, char **argv)
{
	enum { OPT_READY = 256, OPT_PIDFILE, OPT_THREADS, OPT_BG, OPT_INFLIGHT, OPT_SECRETS };
	static const struct option longopts[] = {
		{ "config",	    required_argument, NULL, 'c' },
		{ "ready-fd",	    required_argument, NULL, OPT_READY },
		{ "pid-file",	    required_argument, NULL, OPT_PIDFILE },
		{ "threads",	    required_argument, NULL, OPT_THREADS },
		{ "max-background", required_argument, NULL, OPT_BG },
		{ "inflight-mb",    required_argument, NULL, OPT_INFLIGHT },
		{ "secrets",	    no_argument,       NULL, OPT_SECRETS },
		{ "help",	    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct imagefs_params ip = { 0 };
	struct config cfg;
	struct config_args ca = { 0 };
	const char *pid_file = NULL;
	char err[1024];
	int c, r, status = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], HELPER_OPT_SECRETS) == 0)
			return secretsfs_main(argc, argv);
	}
	while ((c = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ca.path = optarg;
			break;
		case 'o':
			if (config_args_add(&ca, optarg) < 0) {
				fprintf(stderr, "cephvol-mount: out of memory\n");
				return 1;
			}
			break;
		case OPT_READY:
			ready_set_fd((int)arg_uint("--ready-fd", optarg, 0, 65535));
			break;
		case OPT_PIDFILE:
			pid_file = optarg;
			break;
		case OPT_THREADS:
			ip.max_threads = arg_uint("--threads", optarg, 1, 256);
			break;
		case OPT_BG:
			ip.max_background = arg_uint("--max-background", optarg, 1, 65535);
			break;
		case OPT_INFLIGHT:
			ip.inflight_bytes = (size_t)arg_uint("--inflight-mb", optarg, 1, 1024) << 20;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	const char *volume = argv[optind], *fusedir = argv[optind + 1];
	snprintf(volume_name, sizeof(volume_name), "%s", volume);

	/* Detach from the caller: its session, its terminal, its death. */
	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, NULL);	/* every thread inherits */

	log_init("cephvol-mount", LOG_LEVEL_INFO, LOG_TARGET_STDERR);
	if (config_init(&cfg, ca.path, ca.overrides, ca.n_overrides, err, sizeof(err)) < 0)
		fail_start("%s", err);
	config_args_free(&ca);
	enum log_level lvl;
	if (log_level_parse(cfg.log_level, &lvl) == 0)
		log_init("cephvol-mount", lvl, strcmp(cfg.log_target, "syslog") == 0 ?
		    LOG_TARGET_SYSLOG : LOG_TARGET_STDERR);
	if (!name_valid(volume))
		fail_start("bad volume name '%s': %s", volume, NAME_RULE);
	memory_setup();

	struct store *st;
	r = store_connect(&cfg, 0, &st, err, sizeof(err));
	if (r < 0)
		fail_start("%s", err);
	struct volume_meta m;
	r = catalog_get(st, volume, &m);
	if (r == -ENOENT)
		fail_start("volume %s does not exist", volume);
	if (r < 0)
		fail_start("cannot read volume %s: %s", volume, strerror(-r));
	if (m.type != VOLUME_BLOCK)
		fail_start("volume %s is a %s volume, not a block volume", volume,
		    volume_type_name(m.type));

	struct lease *ls;
	static const struct lease_events events = { .hold = on_lease_hold,
	    .resume = on_lease_resume, .lost = on_lease_lost };
	r = lease_acquire(st, volume, m.id, (unsigned)cfg.volume_lease_seconds,
	    &events, &ls, err, sizeof(err));
	if (r < 0)
		fail_start("%s", err);
	held = ls;
	struct lease_holder prev;
	if (lease_taken_from(ls, &prev)) {
		char who[512];
		log_warn("volume=%s taken over from %s (blocklisted)", volume,
		    lease_holder_describe(&prev, who, sizeof(who)));
	}

	struct image_geometry geom = { .id = m.id, .size = m.size,
	    .object_size = m.object_size };
	struct image *img;
	r = image_open(st, &geom, &img);
	if (r < 0)
		fail_start("cannot open the image of volume %s: %s", volume, strerror(-r));
	image_set_guard(img, guard, ls);
	pthread_mutex_lock(&g_lock);
	g_img = img;
	pthread_mutex_unlock(&g_lock);
	if (lease_lost(ls))
		image_fence(img, -EIO);

	if ((r = mkdir_p(fusedir, 0700)) < 0 && r != -EEXIST)
		fail_start("cannot create %s: %s", fusedir, strerror(-r));
	ip.img = img;
	ip.size = m.size;
	ip.volume = volume;
	ip.fusedir = fusedir;
	struct imagefs *fs;
	r = imagefs_create(&ip, &fs, err, sizeof(err));
	if (r < 0)
		fail_start("volume %s: %s", volume, err);
	pthread_mutex_lock(&g_lock);
	g_fs = fs;
	pthread_mutex_unlock(&g_lock);
	pthread_mutex_lock(&g_stop_lock);
	g_stop_fs = fs;
	pthread_mutex_unlock(&g_stop_lock);
	if (lease_lost(ls))
		imagefs_fence(fs, -EIO);

	if (pid_file) {
		/* the cookie lets cephvold check against the cluster that this
		 * mount still holds the lease before it hands it out again */
		char buf[128];
		int n = snprintf(buf, sizeof(buf), "%d\n" HELPER_PIDFILE_COOKIE "%s\n",
		    (int)getpid(), lease_cookie(ls));
		if ((r = file_write_atomic(pid_file, buf, (size_t)n, 0644)) < 0)
			log_warn("cannot write pid file %s: %s", pid_file, strerror(-r));
	}
	pthread_t sig_thread;
	if ((r = pthread_create(&sig_thread, NULL, signal_main, NULL)) != 0)
		fail_start("cannot start the signal thread: %s", strerror(r));
	pthread_detach(sig_thread);

	log_info("serving volume=%s id=%s size=%" PRIu64 " at %s/%s (lease %us, "
	    "client %s)", volume, m.id, m.size, fusedir, HELPER_IMAGE_FILE,
	    (unsigned)cfg.volume_lease_seconds, store_addr(st));
	ready_report_ok();

	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
	r = imagefs_run(fs);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (r < 0) {
		log_err("volume=%s fuse loop: %s", volume, strerror(-r));
		status = 1;
	}

	r = imagefs_drain(fs);
	if (r < 0 && !lease_lost(ls)) {
		log_err("volume=%s final flush failed: %s", volume, strerror(-r));
		status = 1;
	}
	struct imagefs_stats s;
	imagefs_get_stats(fs, &s);
	log_info("volume=%s stopping: %" PRIu64 " reads (%" PRIu64 " bytes), %" PRIu64
	    " writes (%" PRIu64 " bytes), %" PRIu64 " discards, %" PRIu64 " flushes, %"
	    PRIu64 " errors, at most %u in flight", volume, s.reads, s.bytes_read,
	    s.writes, s.bytes_written, s.discards, s.flushes, s.errors,
	    s.max_inflight_seen);
	pthread_mutex_lock(&g_stop_lock);
	g_stop_fs = NULL;
	pthread_mutex_unlock(&g_stop_lock);
	pthread_mutex_lock(&g_lock);
	g_fs = NULL;
	g_img = NULL;
	pthread_mutex_unlock(&g_lock);
	imagefs_destroy(fs);
	image_close(img);
	bool lost = lease_lost(ls);
	lease_release(ls);
	if (pid_file)
		unlink(pid_file);
	volume_meta_free(&m);
	store_close(st);
	config_free(&cfg);
	log_info("volume=%s stopped%s", volume, lost ? " (the lease had been lost)" : "");
	return status;
}
