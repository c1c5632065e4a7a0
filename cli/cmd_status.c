/*
 * cmd_status.c - `cephvol status`: connect, then prove the pool works by
 * writing, reading back and removing a probe object of our own
 * (store_probe(), store/conn.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/util.h"

int
cmd_status(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "create-pool", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	char err[512];
	bool create = false;
	struct store *st;
	uint64_t t0, t1;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'p')
			create = true;
		else
			usage_die("cephvol status [--create-pool]");
	}
	if (optind != argc)
		usage_die("cephvol status [--create-pool]");

	t0 = now_ns();
	st = create ? cli_store_create_pool(cli) : cli_store(cli);
	t1 = now_ns();
	if (store_probe(st, err, sizeof(err)) < 0)
		die("%s", err);

	if (cli->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:b}",
		    "fsid", store_fsid(st), "pool", store_pool(st),
		    "client", store_client(st), "addr", store_addr(st),
		    "conf", cli->cfg.ceph_conf,
		    "connect_ms", (double)(t1 - t0) / 1e6, "write_read_ok", 1);
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", s);
		free(s);
		json_decref(o);
	} else {
		printf("cluster fsid: %s\n", store_fsid(st));
		printf("ceph.conf:    %s\n", cli->cfg.ceph_conf);
		printf("client:       %s (%s)\n", store_client(st), store_addr(st));
		printf("pool:         %s\n", store_pool(st));
		printf("connected in: %.1f ms\n", (double)(t1 - t0) / 1e6);
		printf("object write and read back: ok\n");
	}
	return 0;
}
