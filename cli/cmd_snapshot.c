/*
 * cmd_snapshot.c - `cephvol snapshot create|ls|rm` and `cephvol volume
 * rollback`.
 *
 * Thin: the work is store/snapshot.c's, this file parses and prints. Exit
 * status: 0 success, 1 failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/util.h"
#include "store/catalog.h"
#include "store/snapshot.h"

#define SNAPSHOT_USAGE \
	"cephvol snapshot create VOLUME SNAPSHOT [--timeout SECONDS] [--json]\n" \
	"       cephvol snapshot ls VOLUME [--json]\n" \
	"       cephvol snapshot rm VOLUME SNAPSHOT"

/* How long the host that holds a mounted volume may take, by default. */
#define CREATE_TIMEOUT_S	30

static void
parse_verb(struct cli *cli, int argc, char **argv, unsigned *timeout_s,
    const char *use)
{
	static const struct option longopts[] = {
		{ "json",    no_argument,	NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help",    no_argument,	NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			cli->json = true;
			break;
		case 't':
			if (timeout_s == NULL || uint_parse(optarg, 1, 3600, &v) < 0)
				usage_die("--timeout takes seconds, 1 to 3600\n%s", use);
			*timeout_s = (unsigned)v;
			break;
		case 'h':
			printf("usage: %s\n", use);
			exit(0);
		default:
			usage_die("%s", use);
		}
	}
}

static int
snapshot_create_cmd(struct cli *cli, int argc, char **argv)
{
	const char *use = "cephvol snapshot create VOLUME SNAPSHOT [--timeout "
	    "SECONDS] [--json]";
	unsigned timeout_s = CREATE_TIMEOUT_S;
	struct snapshot_result res;
	char err[2048];
	int r;

	parse_verb(cli, argc, argv, &timeout_s, use);
	if (argc - optind != 2)
		usage_die("%s", use);
	r = snapshot_create(cli_store(cli), &cli->cfg, argv[optind], argv[optind + 1],
	    timeout_s, &res, err, sizeof(err));
	if (r < 0)
		die("%s", err);
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:b, s:b, s:f}", "volume",
		    argv[optind], "snapshot", argv[optind + 1], "id",
		    (json_int_t)res.id, "online", res.online, "froze", res.froze,
		    "frozen_ms", res.frozen_ms);
		char *s = j ? json_dumps(j, JSON_SORT_KEYS | JSON_REAL_PRECISION(6)) : NULL;
		if (s == NULL)
			die("out of memory");
		printf("%s\n", s);
		free(s);
		json_decref(j);
	} else if (res.online && res.froze)
		printf("%s@%s (taken by %s; its filesystem was frozen %.1f ms)\n",
		    argv[optind], argv[optind + 1], res.holder, res.frozen_ms);
	else if (res.online)
		printf("%s@%s (taken by %s)\n", argv[optind], argv[optind + 1],
		    res.holder);
	else
		printf("%s@%s\n", argv[optind], argv[optind + 1]);
	return 0;
}

static int
snapshot_ls_cmd(struct cli *cli, int argc, char **argv)
{
	const char *use = "cephvol snapshot ls VOLUME [--json]";
	struct snapshot *list;
	struct volume_meta m;
	uint64_t seq;
	size_t n;
	int r;

	parse_verb(cli, argc, argv, NULL, use);
	if (argc - optind != 1)
		usage_die("%s", use);
	r = catalog_get(cli_store(cli), argv[optind], &m);
	if (r == -ENOENT)
		die("no such volume: %s", argv[optind]);
	if (r < 0)
		die("cannot read volume %s: %s", argv[optind], strerror(-r));
	if (m.type != VOLUME_BLOCK)
		die("volume %s is a %s volume: only block volumes have snapshots",
		    m.name, volume_type_name(m.type));
	if (snapshot_records(&m, &list, &n, &seq) < 0)
		die("the snapshot records of volume %s are damaged (its header's "
		    "\"snapshots\" member)", m.name);
	if (cli->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I, s:s}",
			    "name", list[i].name, "id", (json_int_t)list[i].id,
			    "created", (json_int_t)list[i].created, "size",
			    (json_int_t)list[i].size, "state",
			    list[i].removing ? "removing" : "ready"));
		char *s = json_dumps(arr, JSON_INDENT(2));
		if (s == NULL)
			die("out of memory");
		printf("%s\n", s);
		free(s);
		json_decref(arr);
	} else {
		printf("%-32s %8s  %-20s %10s\n", "NAME", "ID", "CREATED", "SIZE");
		for (size_t i = 0; i < n; i++) {
			char when[32], sz[32];
			time_t t = (time_t)list[i].created;
			struct tm tm;
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
			    localtime_r(&t, &tm));
			printf("%-32s %8" PRIu64 "  %-20s %10s%s\n", list[i].name,
			    list[i].id, when, size_format(list[i].size, sz, sizeof(sz)),
			    list[i].removing ? "  (being removed)" : "");
		}
	}
	free(list);
	volume_meta_free(&m);
	return 0;
}

static int
snapshot_rm_cmd(struct cli *cli, int argc, char **argv)
{
	const char *use = "cephvol snapshot rm VOLUME SNAPSHOT";
	char err[1024];

	parse_verb(cli, argc, argv, NULL, use);
	if (argc - optind != 2)
		usage_die("%s", use);
	if (snapshot_remove(cli_store(cli), argv[optind], argv[optind + 1], err,
	    sizeof(err)) < 0)
		die("%s", err);
	return 0;
}

int
cmd_volume_rollback(struct cli *cli, int argc, char **argv)
{
	const char *use = "cephvol volume rollback NAME SNAPSHOT (the volume "
	    "unmounted everywhere)";
	char err[2048];

	parse_verb(cli, argc, argv, NULL, use);
	if (argc - optind != 2)
		usage_die("%s", use);
	if (snapshot_rollback(cli_store(cli), &cli->cfg, argv[optind],
	    argv[optind + 1], err, sizeof(err)) < 0)
		die("%s", err);
	return 0;
}

int
cmd_snapshot(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "create", snapshot_create_cmd, NULL },
		{ "ls", snapshot_ls_cmd, NULL },
		{ "list", snapshot_ls_cmd, NULL },
		{ "rm", snapshot_rm_cmd, NULL },
		{ "remove", snapshot_rm_cmd, NULL },
	};
	int status;

	if (argc < 2)
		usage_die("%s", SNAPSHOT_USAGE);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		printf("usage: %s\n", SNAPSHOT_USAGE);
		return 0;
	}
	if ((status = cli_verb_run(cli, verbs, ARRAY_SIZE(verbs), argc, argv)) < 0)
		usage_die("unknown verb 'snapshot %s'\n%s", argv[1], SNAPSHOT_USAGE);
	return status;
}
