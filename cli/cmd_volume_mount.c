/*
 * cmd_volume_mount.c - `cephvol volume mount VOLUME DIR` and
 * `cephvol volume unmount DIR [VOLUME]`: the host mount pipeline
 * (host/attach.h) by hand, without cephvold or Docker. The mount
 * outlives the command: cephvol-mount runs in its own session.
 *
 * The helper is cephvol-mount beside this binary (then $PATH's), or
 * $CEPHVOL_MOUNT_HELPER. It reads the same configuration file (-c, else
 * $CEPHVOL_CONF, else the default).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/util.h"
#include "store/catalog.h"
#include "host/attach.h"
#include "host/helper.h"

static void
ctx_init(struct cli *cli, struct attach_ctx *ctx, char *helper, size_t len,
    unsigned timeout)
{
	helper_find(helper, len);
	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = &cli->cfg;
	ctx->config_path = cli->cfg.path;
	ctx->mount_helper = helper;
	ctx->timeout_s = timeout;
}

static unsigned
parse_timeout(int argc, char **argv, const char *use)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help",    no_argument,	NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t t = 0;
	int c;

	while ((c = getopt_long(argc, argv, "t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (uint_parse(optarg, 1, 3600, &t) < 0)
				usage_die("--timeout wants seconds from 1 to 3600");
			break;
		case 'h':
			printf("usage: %s\n", use);
			exit(0);
		default:
			usage_die("%s", use);
		}
	}
	return (unsigned)t;
}

int
cmd_volume_mount(struct cli *cli, int argc, char **argv)
{
	static const char use[] = "cephvol volume mount [--timeout S] VOLUME DIR";
	struct attach_ctx ctx;
	struct volume_meta m;
	char helper[PATH_MAX], err[1024];
	unsigned timeout = parse_timeout(argc, argv, use);
	pid_t pid;
	int r;

	if (argc - optind != 2)
		usage_die("%s", use);
	const char *volume = argv[optind], *dir = argv[optind + 1];
	if (!name_valid(volume))
		die("bad volume name '%s': %s", volume, NAME_RULE);
	r = catalog_get(cli_store(cli), volume, &m);
	if (r == -ENOENT)
		die("volume %s does not exist", volume);
	if (r < 0)
		die("cannot read volume %s: %s", volume, strerror(-r));
	/* The helper holds its own connection; ours would only idle. */
	store_close(cli->store);
	cli->store = NULL;
	ctx_init(cli, &ctx, helper, sizeof(helper), timeout);
	r = attach_mount(&ctx, &m, dir, &pid, err, sizeof(err));
	if (r < 0) {
		volume_meta_free(&m);
		die("cannot mount volume %s: %s", volume, err);
	}
	if (cli->json)
		printf("{\"volume\":\"%s\",\"mountpoint\":\"%s\",\"pid\":%d}\n", volume,
		    dir, (int)pid);
	else
		printf("mounted volume %s on %s (cephvol-mount pid %d)\n", volume, dir,
		    (int)pid);
	volume_meta_free(&m);
	return 0;
}

int
cmd_volume_unmount(struct cli *cli, int argc, char **argv)
{
	static const char use[] = "cephvol volume unmount [--timeout S] DIR [VOLUME]";
	struct attach_ctx ctx;
	struct volume_meta m;
	char helper[PATH_MAX], err[1024], volume[NAME_MAX_LEN + 1];
	char at[NAME_MAX_LEN + 1], id[VOLUME_ID_LEN + 1];
	unsigned timeout = parse_timeout(argc, argv, use);
	int r;

	if (argc - optind < 1 || argc - optind > 2)
		usage_die("%s", use);
	const char *dir = argv[optind];
	ctx_init(cli, &ctx, helper, sizeof(helper), timeout);
	/* What is mounted there decides, not what the catalogue says now:
	 * the volume may have been removed, or created again with a new id. */
	r = attach_volume_at(&ctx, dir, at, sizeof(at), id, sizeof(id));
	if (argc - optind == 2) {
		snprintf(volume, sizeof(volume), "%s", argv[optind + 1]);
		if (r == 0 && strcmp(at, volume) != 0)
			die("%s holds volume %s, not %s", dir, at, volume);
	} else if (r < 0)
		die("cannot tell which volume is mounted on %s; name it: %s", dir, use);
	else
		snprintf(volume, sizeof(volume), "%s", at);
	if (!name_valid(volume))
		die("bad volume name '%s': %s", volume, NAME_RULE);
	r = catalog_get(cli_store(cli), volume, &m);
	if (r == -ENOENT || (r == 0 && id[0] && strcmp(m.id, id) != 0)) {
		/* Removed (or created again) meanwhile: the host state of
		 * what is mounted can still be cleaned. */
		if (r == 0)
			volume_meta_free(&m);
		memset(&m, 0, sizeof(m));
		snprintf(m.name, sizeof(m.name), "%s", volume);
		snprintf(m.id, sizeof(m.id), "%s", id);
		m.type = VOLUME_BLOCK;
	} else if (r < 0)
		die("cannot read volume %s: %s", volume, strerror(-r));
	r = attach_unmount(&ctx, &m, dir, err, sizeof(err));
	if (r < 0) {
		volume_meta_free(&m);
		die("cannot unmount volume %s from %s: %s", volume, dir, err);
	}
	if (!cli->json)
		printf("unmounted volume %s from %s\n", volume, dir);
	volume_meta_free(&m);
	return 0;
}
