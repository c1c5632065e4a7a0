/*
 * cmd_lock.c - `cephvol lock ls|break VOLUME`: show and break the lease of
 * a volume (store/lease.h). Breaking always blocklists the holder first,
 * and is refused without --force after saying exactly what it would do.
 * Exit status: 0 success, 1 failure or refusal, 2 usage.
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
#include "store/catalog.h"
#include "store/lease.h"

#define LOCK_USAGE \
	"cephvol lock ls VOLUME [--json]\n" \
	"       cephvol lock break VOLUME [--force]"

static void
holder_print(const char *volume, const struct lease_holder *h)
{
	char since[32] = "?", expires[32] = "never";

	if (h->since)
		time_format(h->since, since, sizeof(since));
	if (h->expires)
		time_format(h->expires, expires, sizeof(expires));
	printf("volume:  %s\n", volume);
	printf("holder:  %s\n", h->client);
	printf("user:    %s\n", h->user[0] ? h->user : "?");
	printf("address: %s\n", h->addr);
	printf("host:    %s\n", h->host[0] ? h->host : "?");
	printf("pid:     %d\n", h->pid);
	printf("since:   %s\n", since);
	printf("expires: %s%s\n", expires, h->expired ? " (expired)" : "");
	printf("cookie:  %s\n", h->cookie);
}

static int
lock_ls(struct cli *cli, struct volume_meta *m)
{
	struct lease_holder h;
	int r;

	r = lease_holder(cli_store(cli), m->id, &h);
	if (r < 0 && r != -ENOENT)
		die("cannot read the lease of volume %s: %s", m->name, strerror(-r));
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:s}", "volume", m->name, "id", m->id);
		if (r == 0)
			json_object_set_new(j, "lease", json_pack(
			    "{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:b}",
			    "client", h.client, "addr", h.addr, "cookie", h.cookie,
			    "host", h.host, "user", h.user, "pid", h.pid,
			    "since", (json_int_t)h.since,
			    "expires", (json_int_t)h.expires, "expired", h.expired));
		else
			json_object_set_new(j, "lease", json_null());
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", s);
		free(s);
		json_decref(j);
	} else if (r == -ENOENT)
		printf("volume %s: no lease held\n", m->name);
	else
		holder_print(m->name, &h);
	return 0;
}

static int
lock_break(struct cli *cli, struct volume_meta *m, bool force)
{
	struct lease_holder h;
	char who[512], err[1024];
	int r;

	r = lease_holder(cli_store(cli), m->id, &h);
	if (r == -ENOENT) {
		printf("volume %s: no lease held; nothing to break\n", m->name);
		return 0;
	}
	if (r < 0)
		die("cannot read the lease of volume %s: %s", m->name, strerror(-r));
	lease_holder_describe(&h, who, sizeof(who));
	if (!force && !cli->yes) {
		fprintf(stderr,
		    "cephvol: refusing to break the lease of volume %s without --force.\n"
		    "It is held by %s.\n"
		    "Breaking it will blocklist address %s (that RADOS client is cut off\n"
		    "from the cluster for an hour) and then break its\n"
		    "lock. If that process is alive, its I/O on the volume fails from then on.\n"
		    "Re-run with --force (or cephvol --yes lock break) to do it.\n", m->name, who, h.addr);
		return 1;
	}
	r = lease_break(cli_store(cli), m->id, &h, err, sizeof(err));
	if (r < 0)
		die("cannot break the lease of volume %s: %s", m->name, err);
	printf("volume %s: blocklisted %s and broke the lease of %s\n", m->name,
	    h.addr, who);
	return 0;
}

int
cmd_lock(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "json",  no_argument, NULL, 'j' },
		{ "help",  no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct volume_meta m;
	bool force = false;
	const char *verb;
	int c, r, status;

	if (argc < 2)
		usage_die("%s", LOCK_USAGE);
	verb = argv[1];
	if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
		printf("usage: %s\n", LOCK_USAGE);
		return 0;
	}
	argc--;
	argv++;
	optind = 0;
	while ((c = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'j':
			cli->json = true;
			break;
		case 'h':
			printf("usage: %s\n", LOCK_USAGE);
			return 0;
		default:
			usage_die("%s", LOCK_USAGE);
		}
	}
	if (argc - optind != 1)
		usage_die("%s", LOCK_USAGE);
	if (strcmp(verb, "ls") != 0 && strcmp(verb, "break") != 0)
		usage_die("unknown verb 'lock %s'\n%s", verb, LOCK_USAGE);
	if (strcmp(verb, "ls") == 0 && force)
		usage_die("--force goes with 'lock break'\n%s", LOCK_USAGE);
	r = catalog_get(cli_store(cli), argv[optind], &m);
	if (r == -ENOENT)
		die("no such volume: %s", argv[optind]);
	if (r < 0)
		die("cannot read volume %s: %s", argv[optind], strerror(-r));
	status = strcmp(verb, "ls") == 0 ? lock_ls(cli, &m) : lock_break(cli, &m, force);
	volume_meta_free(&m);
	return status;
}
