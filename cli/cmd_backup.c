/*
 * cmd_backup.c - `cephvol volume export|import|import-diff`: backups of
 * snapshots as Ceph's own streams (store/backup.h).
 *
 * Thin: the work is store/backup_*.c's; this file opens the file (an
 * export goes to FILE.partial, renamed to FILE once the stream is complete,
 * so a file under the name asked for is always a whole stream), draws the
 * progress line on a terminal and prints the summary. The summary goes to
 * stdout, or to stderr when the stream itself goes to stdout. SIGINT,
 * SIGTERM and SIGHUP stop the work at its next step, cleaned up as any
 * failure (a second signal is not caught). Exit status: 0 success, 1
 * failure, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/util.h"
#include "store/backup.h"
#include "store/volopts.h"

struct verb_args {
	json_t		*opts;		/* -o KEY=VALUE (import) */
	const char	*from_snap;	/* --from-snap (export) */
	int		 format;	/* -1: the default */
	bool		 no_progress;
};

static void
parse_verb(struct cli *cli, int argc, char **argv, struct verb_args *va,
    const char *short_opts, const char *use)
{
	static const struct option longopts[] = {
		{ "opt",	 required_argument, NULL, 'o' },
		{ "from-snap",	 required_argument, NULL, 'f' },
		{ "format",	 required_argument, NULL, 'F' },
		{ "no-progress", no_argument,	    NULL, 'P' },
		{ "json",	 no_argument,	    NULL, 'j' },
		{ "help",	 no_argument,	    NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, short_opts, longopts, NULL)) != -1) {
		switch (c) {
		case 'o': {
			char *eq = strchr(optarg, '=');
			if (va->opts == NULL || eq == NULL || eq == optarg)
				usage_die("-o takes KEY=VALUE\n%s", use);
			*eq = '\0';
			json_object_set_new(va->opts, optarg, json_string(eq + 1));
			*eq = '=';
			break;
		}
		case 'f':
			if (strstr(use, "--from-snap") == NULL)
				usage_die("%s", use);
			va->from_snap = optarg;
			break;
		case 'F':
			if (strstr(use, "--format") == NULL)
				usage_die("%s", use);
			if (strcmp(optarg, "image-v2") == 0)
				va->format = BACKUP_IMAGE_V2;
			else if (strcmp(optarg, "diff-v1") == 0)
				va->format = BACKUP_DIFF_V1;
			else
				usage_die("--format is image-v2 or diff-v1\n%s", use);
			break;
		case 'P':
			va->no_progress = true;
			break;
		case 'j':
			cli->json = true;
			break;
		case 'h':
			printf("usage: %s\n", use);
			exit(0);
		default:
			usage_die("%s", use);
		}
	}
}

/* bytes for people: "512 B", "10.1 MiB" */
static char *
human(uint64_t v, char *buf, size_t len)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)v;
	unsigned u = 0;

	while (d >= 1024 && u + 1 < ARRAY_SIZE(unit)) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", v);
	else
		snprintf(buf, len, "%.1f %s", d, unit[u]);
	return buf;
}

/* ---- stopping cleanly ---- */

/* SIGINT, SIGTERM or SIGHUP: the export or import stops at its next step
 * and cleans up (no FILE, the new volume removed, the volume rolled back),
 * instead of dying halfway. A second one is not caught. */
static volatile sig_atomic_t stop_asked;

static void
on_signal(int sig)
{
	stop_asked = 1;
	signal(sig, SIG_DFL);
}

static void
catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	/* a reader that went away is a write error (EPIPE), not a death */
	signal(SIGPIPE, SIG_IGN);
}

/* ---- progress on a terminal ---- */

struct progress_line {
	const char	*what;		/* "exported", "imported" */
	uint64_t	 total;		/* 0: unknown */
	uint64_t	 t0;
	bool		 drawn;
};

static void
draw(uint64_t done, uint64_t total, void *arg)
{
	struct progress_line *p = arg;
	double s = (double)(now_ns() - p->t0) / 1e9;
	char a[32], b[32], rate[32];

	if (p->total)
		total = p->total;
	human(done, a, sizeof(a));
	human(s > 0 ? (uint64_t)((double)done / s) : 0, rate, sizeof(rate));
	if (total > 0 && done > 0 && done <= total)
		fprintf(stderr, "\r%s %s of %s, %s/s, %.0f s left   ", p->what, a,
		    human(total, b, sizeof(b)), rate,
		    s * (double)(total - done) / (double)done);
	else
		fprintf(stderr, "\r%s %s, %s/s   ", p->what, a, rate);
	p->drawn = true;
}

static void
progress_end(struct progress_line *p)
{
	if (p->drawn)
		fprintf(stderr, "\r%*s\r", 72, "");
}

/* ---- the summary ---- */

static void
summary(struct cli *cli, FILE *to, json_t *j, const char *line)
{
	if (cli->json) {
		char *s = json_dumps(j, JSON_SORT_KEYS);
		if (s == NULL)
			die("out of memory");
		fprintf(to, "%s\n", s);
		free(s);
	} else
		fprintf(to, "%s\n", line);
	json_decref(j);
}

static json_t *
stats_json(const struct backup_stats *st)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
	    "image_bytes", (json_int_t)st->image_bytes,
	    "objects", (json_int_t)st->objects,
	    "objects_read", (json_int_t)st->objects_read,
	    "read_bytes", (json_int_t)st->read_bytes,
	    "data_bytes", (json_int_t)st->data_bytes,
	    "zero_bytes", (json_int_t)st->zero_bytes,
	    "hole_bytes", (json_int_t)st->hole_bytes,
	    "stream_bytes", (json_int_t)st->stream_bytes,
	    "seconds", st->seconds);
}

int
cmd_volume_export(struct cli *cli, int argc, char **argv)
{
	const char *use = "cephvol volume export VOLUME@SNAPSHOT FILE|- "
	    "[--from-snap SNAPSHOT] [--format image-v2|diff-v1] [--no-progress] "
	    "[--json]";
	struct verb_args va = { .format = -1 };
	char vol[NAME_MAX_LEN + 1], snap[NAME_MAX_LEN + 1], err[2048];
	char *partial = NULL;
	struct backup_stats stats;
	struct progress_line pl = { .what = "exported", .t0 = now_ns() };
	struct backup_progress prog = { draw, &pl, &stop_asked };
	const char *file;
	enum backup_format fmt;
	bool to_stdout;
	int fd, r;

	parse_verb(cli, argc, argv, &va, "h", use);
	if (va.no_progress || cli->json || !isatty(STDERR_FILENO))
		prog.fn = NULL;
	catch_signals();
	if (argc - optind != 2)
		usage_die("%s", use);
	if (!volume_ref_parse(argv[optind], vol, sizeof(vol), snap, sizeof(snap)))
		usage_die("'%.300s' is not VOLUME@SNAPSHOT\n%s", argv[optind], use);
	if (va.from_snap != NULL && !name_valid(va.from_snap))
		usage_die("bad snapshot name '%.64s': %s", va.from_snap, NAME_RULE);
	fmt = va.format >= 0 ? (enum backup_format)va.format : va.from_snap ?
	    BACKUP_DIFF_V1 : BACKUP_IMAGE_V2;
	file = argv[optind + 1];
	to_stdout = strcmp(file, "-") == 0;
	if (to_stdout) {
		if (isatty(STDOUT_FILENO))
			die("not writing a backup stream to a terminal: give a FILE, "
			    "or redirect standard output");
		fd = STDOUT_FILENO;
	} else {
		struct stat sb;
		if (stat(file, &sb) == 0)
			die("%s exists: not overwriting a backup (remove it first)",
			    file);
		if (asprintf(&partial, "%s.partial", file) < 0)
			die("out of memory");
		fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			die("cannot create %s: %s", partial, strerror(errno));
	}
	r = backup_export(cli_store(cli), vol, snap, va.from_snap, fmt, fd,
	    &prog,
	    &stats, err, sizeof(err));
	progress_end(&pl);
	if (r == 0 && !to_stdout && (fsync(fd) < 0 || rename(partial, file) < 0)) {
		snprintf(err, sizeof(err), "cannot finish %s: %s", file,
		    strerror(errno));
		r = -EIO;
	}
	if (!to_stdout) {
		close(fd);
		if (r < 0)
			unlink(partial);
		free(partial);
	}
	if (r < 0)
		die("%s", err);
	{
		char line[1024], d[32], z[32], rd[32], sb[32];
		json_t *j = stats_json(&stats);
		json_object_set_new(j, "volume", json_string(vol));
		json_object_set_new(j, "snapshot", json_string(snap));
		json_object_set_new(j, "from_snapshot", va.from_snap ?
		    json_string(va.from_snap) : json_null());
		json_object_set_new(j, "format", json_string(fmt == BACKUP_IMAGE_V2 ?
		    "rbd image v2" : "rbd diff v1"));
		snprintf(line, sizeof(line), "exported %s@%s%s%s%s to %s (%s): %s "
		    "data, %s %s, %" PRIu64 " of %" PRIu64 " objects read (%s), "
		    "stream %s in %.1f s", vol, snap, va.from_snap ? " (changes since " :
		    "", va.from_snap ? va.from_snap : "", va.from_snap ? ")" : "",
		    to_stdout ? "standard output" : file, fmt == BACKUP_IMAGE_V2 ?
		    "rbd image v2" : "rbd diff v1",
		    human(stats.data_bytes, d, sizeof(d)),
		    human(va.from_snap ? stats.zero_bytes : stats.hole_bytes, z,
		    sizeof(z)), va.from_snap ? "zeroed" : "of holes left out",
		    stats.objects_read, stats.objects,
		    human(stats.read_bytes, rd, sizeof(rd)),
		    human(stats.stream_bytes, sb, sizeof(sb)), stats.seconds);
		summary(cli, to_stdout ? stderr : stdout, j, line);
	}
	return 0;
}

/* The stream to read: FILE or standard input; its length if known. */
static int
open_stream(const char *file, uint64_t *total)
{
	struct stat sb;
	int fd;

	if (strcmp(file, "-") == 0) {
		if (isatty(STDIN_FILENO))
			die("not reading a backup stream from a terminal: give a FILE, "
			    "or redirect standard input");
		fd = STDIN_FILENO;
	} else if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		die("cannot open %s: %s", file, strerror(errno));
	*total = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	return fd;
}

static void
import_summary(struct cli *cli, const char *verb, const char *name,
    const struct backup_stats *stats)
{
	char line[1024], d[32], z[32], sz[32];
	json_t *j = stats_json(stats);

	json_object_set_new(j, "volume", json_string(name));
	json_object_set_new(j, "snapshots_created", json_integer(stats->snapshots));
	json_object_set_new(j, "snapshot", stats->snapshots ?
	    json_string(stats->last_snapshot) : json_null());
	if (strcmp(verb, "imported") == 0)
		json_object_set_new(j, "fs", stats->fs[0] ? json_string(stats->fs) :
		    json_null());
	snprintf(line, sizeof(line), "%s into %s (%s): %s data, %s zeroed, %u "
	    "snapshot%s created%s%s, in %.1f s", verb, name,
	    human(stats->image_bytes, sz, sizeof(sz)),
	    human(stats->data_bytes, d, sizeof(d)),
	    human(stats->zero_bytes, z, sizeof(z)), stats->snapshots,
	    stats->snapshots == 1 ? "" : "s", stats->snapshots ? ", newest " : "",
	    stats->snapshots ? stats->last_snapshot : "", stats->seconds);
	summary(cli, stdout, j, line);
	if (strcmp(verb, "imported") == 0 && stats->fs[0] == '\0' && !cli->json)
		fprintf(stderr, "cephvol: warning: volume %s begins with no ext4 or "
		    "xfs filesystem; its first mount makes one unless blkid finds "
		    "another filesystem on it\n", name);
}

/* import (a new volume, -o options) or import-diff (on top of a volume):
 * the same steps but for the store call and the summary's verb. */
static int
import_run(struct cli *cli, int argc, char **argv, bool diff)
{
	const char *use = diff ? "cephvol volume import-diff FILE|- NAME "
	    "[--no-progress] [--json] (NAME unmounted everywhere)" :
	    "cephvol volume import FILE|- NAME [-o KEY=VALUE]... [--no-progress] "
	    "[--json]";
	struct verb_args va = { .format = -1, .opts = diff ? NULL : json_object() };
	struct progress_line pl = { .what = diff ? "applied" : "imported",
	    .t0 = now_ns() };
	struct backup_progress prog = { draw, &pl, &stop_asked };
	struct backup_stats stats;
	char err[2048];
	int fd, r;

	parse_verb(cli, argc, argv, &va, diff ? "h" : "o:h", use);
	if (va.no_progress || cli->json || !isatty(STDERR_FILENO))
		prog.fn = NULL;
	catch_signals();
	if (argc - optind != 2)
		usage_die("%s", use);
	fd = open_stream(argv[optind], &pl.total);
	if (diff)
		r = backup_import_diff(cli_store(cli), &cli->cfg, fd, argv[optind + 1],
		    &prog, &stats, err, sizeof(err));
	else
		r = backup_import(cli_store_create_pool(cli), &cli->cfg, fd,
		    argv[optind + 1], va.opts, &prog, &stats, err, sizeof(err));
	progress_end(&pl);
	json_decref(va.opts);
	if (fd != STDIN_FILENO)
		close(fd);
	if (r < 0)
		die("%s", err);
	import_summary(cli, pl.what, argv[optind + 1], &stats);
	return 0;
}

int
cmd_volume_import(struct cli *cli, int argc, char **argv)
{
	return import_run(cli, argc, argv, false);
}

int
cmd_volume_import_diff(struct cli *cli, int argc, char **argv)
{
	return import_run(cli, argc, argv, true);
}
