/*
 * cmd_status.c - `cephvol status`: connect, then prove the pool works by
 * writing, reading back and removing a probe object of our own.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	char oid[128], host[64] = "", back[64];
	const char probe[] = "cephvol status probe";
	bool create = false;
	struct store *st;
	uint64_t t0, t1;
	int c, r;

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
	gethostname(host, sizeof(host) - 1);
	snprintf(oid, sizeof(oid), "cephvol.probe.%s.%d", host, (int)getpid());
	rados_ioctx_t io = store_ioctx(st);
	r = rados_write_full(io, oid, probe, sizeof(probe));
	if (r < 0)
		die("cannot write probe object %s to pool %s: %s", oid,
		    store_pool(st), strerror(-r));
	r = rados_read(io, oid, back, sizeof(back), 0);
	rados_remove(io, oid);
	if (r < 0)
		die("cannot read probe object %s from pool %s: %s", oid,
		    store_pool(st), strerror(-r));
	if ((size_t)r != sizeof(probe) || memcmp(back, probe, sizeof(probe)) != 0)
		die("probe object %s in pool %s read back different bytes", oid,
		    store_pool(st));

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
