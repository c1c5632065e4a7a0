/*
 * main.c - `cephvol`, the admin command: global options, then a table of
 * commands, one function each (cli.h). Short-lived: it talks to RADOS
 * directly and connects only when a command needs the cluster.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/util.h"
#include "common/version.h"

static const struct cli_verb commands[] = {
	{ "status",	cmd_status,	"connect to the cluster and prove the pool is usable" },
	{ "volume",	cmd_volume,	"create (also from snapshots), list, inspect, resize, roll back, flatten, export, import, remove, mount volumes" },
	{ "snapshot",	cmd_snapshot,	"take, list, remove snapshots of a volume" },
	{ "lock",	cmd_lock,	"show and break volume leases" },
	{ "fsck",	cmd_fsck,	"find and repair half-finished changes in the pool" },
	{ "secret",	cmd_secret,	"create, update, list, inspect, remove secrets" },
	{ "key",	cmd_key,	"create and rotate the secrets master key" },
	{ "doctor",	cmd_doctor,	"check everything this host needs, one line per check" },
};

/* "cephvol: WHAT: message" and tail on stderr, then _exit(status). */
static noreturn void
vdie(const char *what, const char *tail, int status, const char *fmt, va_list ap)
{
	fprintf(stderr, "cephvol: %s: ", what);
	vfprintf(stderr, fmt, ap);
	fputs(tail, stderr);
	/* _exit, not exit: global destructors must not run while librados'
	 * threads of a still-open connection do (a crash at exit, status 139). */
	fflush(stdout);
	_exit(status);
}

void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie("error", "\n", 1, fmt, ap);
}

void
usage_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie("usage", "\n(see 'cephvol --help')\n", 2, fmt, ap);
}

int
cli_verb_run(struct cli *cli, const struct cli_verb *verbs, size_t n, int argc,
    char **argv)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[1], verbs[i].name) == 0) {
			optind = 0;
			return verbs[i].fn(cli, argc - 1, argv + 1);
		}
	}
	return -ENOENT;
}

static struct store *
connect_or_die(struct cli *cli, unsigned flags)
{
	char err[1024];
	int r;

	if (cli->store)
		return cli->store;
	r = store_connect(&cli->cfg, flags | STORE_OSD_TIMEOUT, &cli->store, err,
	    sizeof(err));
	if (r < 0)
		die("%s", err);
	return cli->store;
}

struct store *
cli_store(struct cli *cli)
{
	return connect_or_die(cli, 0);
}

struct store *
cli_store_create_pool(struct cli *cli)
{
	return connect_or_die(cli, STORE_CREATE_POOL);
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: cephvol [-c FILE] [-o section.key=value]... [--json] [-v] COMMAND [ARGS]\n"
	    "\n"
	    "options:\n"
	    "  -c, --config FILE     read FILE instead of " CONFIG_DEFAULT_PATH
	    " (or $" CONFIG_ENV ")\n"
	    "  -o section.key=value  override one configuration key\n"
	    "      --json            machine-readable output\n"
	    "  -y, --yes             answer yes to confirmations\n"
	    "  -v, --verbose         log more (repeat for debug)\n"
	    "      --dump-config     print the effective configuration and exit\n"
	    "  -h, --help            this text\n"
	    "      --version         print the version and exit\n"
	    "\n"
	    "commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nexit status: 0 success, 1 failure, 2 usage error\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	 required_argument, NULL, 'c' },
		{ "json",	 no_argument,	    NULL, 'j' },
		{ "yes",	 no_argument,	    NULL, 'y' },
		{ "verbose",	 no_argument,	    NULL, 'v' },
		{ "dump-config", no_argument,	    NULL, 'D' },
		{ "help",	 no_argument,	    NULL, 'h' },
		{ "version",	 no_argument,	    NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { 0 };
	struct config_args ca = { 0 };
	bool dump = false;
	char err[1024];
	int c, status;

	/* '+': stop at the first non-option, the command name. */
	while ((c = getopt_long(argc, argv, "+c:o:yvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ca.path = optarg;
			break;
		case 'o':
			if (config_args_add(&ca, optarg) < 0)
				die("out of memory");
			break;
		case 'j':
			cli.json = true;
			break;
		case 'y':
			cli.yes = true;
			break;
		case 'v':
			cli.verbose++;
			break;
		case 'D':
			dump = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("cephvol %s\n", CEPHVOL_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	log_init("cephvol", LOG_LEVEL_WARN, LOG_TARGET_STDERR);
	if (config_init(&cli.cfg, ca.path, ca.overrides, ca.n_overrides, err,
	    sizeof(err)) < 0) {
		/* doctor reports a configuration that does not parse as one of
		 * its checks, and goes on with the built-in defaults */
		if (optind >= argc || strcmp(argv[optind], "doctor") != 0)
			die("%s", err);
		config_free(&cli.cfg);
		config_defaults(&cli.cfg);
		cli.config_err = err;
	}
	config_args_free(&ca);
	if (cli.verbose)
		log_set_level(cli.verbose > 1 ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (dump) {
		config_dump(&cli.cfg, stdout);
		config_free(&cli.cfg);
		return 0;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	/* argv from just before the command's name, as for a verb */
	status = cli_verb_run(&cli, commands, ARRAY_SIZE(commands),
	    argc - optind + 1, argv + optind - 1);
	if (status >= 0) {
		store_close(cli.store);
		config_free(&cli.cfg);
		return status;
	}
	fprintf(stderr, "cephvol: unknown command '%s'; commands are:", argv[optind]);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(stderr, " %s", commands[i].name);
	fputc('\n', stderr);
	config_free(&cli.cfg);
	return 2;
}
