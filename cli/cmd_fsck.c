/*
 * cmd_fsck.c - `cephvol fsck [--repair] [--grace SECONDS] [--json]`: find
 * (and repair) what interrupted creates and removes left in the pool
 * (store/fsck.h). Exit status: 0 clean or everything repaired, 1 problems
 * remain (or the check failed), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/util.h"
#include "store/fsck.h"

#define FSCK_USAGE "cephvol fsck [--repair] [--grace SECONDS] [--json]"

struct out {
	struct cli	*cli;
	json_t		*findings;
};

static void
report(void *arg, const struct fsck_finding *f)
{
	struct out *o = arg;
	const char *status;
	char buf[64];

	if (f->repaired == 1)
		status = "repaired";
	else if (f->repaired < 0) {
		snprintf(buf, sizeof(buf), "repair failed: %s", strerror(-f->repaired));
		status = buf;
	} else if (f->repairable)
		status = "repairable";
	else
		status = "not repairable";
	if (o->cli->json)
		json_array_append_new(o->findings, json_pack("{s:s, s:s, s:s, s:s, s:s}",
		    "kind", f->kind, "volume", f->volume, "id", f->id,
		    "what", f->what, "status", status));
	else
		printf("%s: %s [%s]\n", f->kind, f->what, status);
}

int
cmd_fsck(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repair", no_argument,       NULL, 'r' },
		{ "grace",  required_argument, NULL, 'g' },
		{ "json",   no_argument,       NULL, 'j' },
		{ "help",   no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct out o = { cli, NULL };
	struct fsck_result res;
	uint64_t grace = 60;
	bool repair = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			repair = true;
			break;
		case 'g':
			if (uint_parse(optarg, 0, 86400, &grace) < 0)
				usage_die("--grace takes seconds from 0 to 86400\n%s",
				    FSCK_USAGE);
			break;
		case 'j':
			cli->json = true;
			break;
		case 'h':
			printf("usage: %s\n", FSCK_USAGE);
			return 0;
		default:
			usage_die("%s", FSCK_USAGE);
		}
	}
	if (optind != argc)
		usage_die("%s", FSCK_USAGE);
	o.findings = json_array();
	r = fsck_run(cli_store(cli), repair, (unsigned)grace, report, &o, &res);
	if (r < 0) {
		json_decref(o.findings);
		die("fsck of pool %s failed: %s", cli->cfg.ceph_pool, strerror(-r));
	}
	unsigned left = res.found - res.repaired;
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
		    "pool", cli->cfg.ceph_pool, "volumes", (json_int_t)res.volumes,
		    "objects", (json_int_t)res.objects, "found", (json_int_t)res.found,
		    "repaired", (json_int_t)res.repaired,
		    "remaining", (json_int_t)left,
		    "in_progress", (json_int_t)res.in_progress, "findings", o.findings);
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", s);
		free(s);
		json_decref(j);
	} else {
		json_decref(o.findings);
		printf("pool %s: %u volumes, %" PRIu64 " objects, %u problems found, "
		    "%u repaired, %u remaining", cli->cfg.ceph_pool, res.volumes,
		    res.objects, res.found, res.repaired, left);
		if (res.in_progress)
			printf(", %u changes younger than %" PRIu64 "s left alone",
			    res.in_progress, grace);
		printf("\n");
		if (left && !repair)
			printf("run 'cephvol fsck --repair' to repair what can be\n");
	}
	return left ? 1 : 0;
}
