/*
 * cmd_volume.c - `cephvol volume create|ls|inspect|rm|resize` (the
 * mount|unmount verbs live in cmd_volume_mount.c, rollback in
 * cmd_snapshot.c, export|import|import-diff in cmd_backup.c).
 *
 * Thin: options are parsed by volume_opts_parse() exactly as Docker's Create
 * is, the work is done by store/catalog.c, this file only prints. Exit
 * status: 0 success, 1 failure, 2 usage.
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
#include "store/clone.h"
#include "store/image.h"
#include "store/lease.h"
#include "store/snapshot.h"
#include "store/volctl.h"

#define VOLUME_USAGE \
	"cephvol volume create NAME [--from VOLUME@SNAPSHOT] [-o KEY=VALUE]...\n" \
	"       cephvol volume ls [--json]\n" \
	"       cephvol volume inspect NAME [--json]\n" \
	"       cephvol volume rm NAME...\n" \
	"       cephvol volume resize NAME SIZE\n" \
	"       cephvol volume rollback NAME SNAPSHOT\n" \
	"       cephvol volume flatten NAME\n" \
	"       cephvol volume set NAME KEY=VALUE...\n" \
	"       cephvol volume export VOLUME@SNAPSHOT FILE|- [--from-snap SNAPSHOT]\n" \
	"       cephvol volume import FILE|- NAME [-o KEY=VALUE]...\n" \
	"       cephvol volume import-diff FILE|- NAME\n" \
	"       cephvol volume mount|unmount ..."

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s == NULL)
		die("out of memory");
	printf("%s\n", s);
	free(s);
}

/* getopt for a verb: -o KEY=VALUE into opts (if given), --json. */
static void
parse_verb(struct cli *cli, int argc, char **argv, json_t *opts, const char *use)
{
	static const struct option longopts[] = {
		{ "opt",  required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, 'f' },
		{ "json", no_argument,	     NULL, 'j' },
		{ "help", no_argument,	     NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, opts ? "o:h" : "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': {
			char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg)
				usage_die("-o takes KEY=VALUE, not '%s'\n%s", optarg, use);
			*eq = '\0';
			if (opts == NULL)
				usage_die("%s", use);
			json_object_set_new(opts, optarg, json_string(eq + 1));
			*eq = '=';
			break;
		}
		case 'f':	/* --from VOL@SNAP is -o from=VOL@SNAP */
			if (opts == NULL)
				usage_die("%s", use);
			json_object_set_new(opts, "from", json_string(optarg));
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

static int
volume_create(struct cli *cli, int argc, char **argv)
{
	const char *use = "cephvol volume create NAME [--from VOLUME@SNAPSHOT] "
	    "[-o KEY=VALUE]... (keys: size, fs, objectsize, type, secrets, labels, "
	    "label.KEY, from, snapshot)";
	struct volume_meta want, got;
	json_t *opts = json_object();
	char err[1024];
	int r;

	parse_verb(cli, argc, argv, opts, use);
	if (argc - optind != 1)
		usage_die("%s", use);
	r = volume_opts_parse(&cli->cfg, argv[optind], opts, &want, err, sizeof(err));
	json_decref(opts);
	if (r < 0)
		die("cannot create volume: %s", err);
	r = clone_create(cli_store_create_pool(cli), &want, &got, err, sizeof(err));
	volume_meta_free(&want);
	if (r < 0)
		die("%s", err);
	if (cli->json) {
		json_t *j = volume_meta_json(&got);
		print_json(j);
		json_decref(j);
	} else
		printf("%s\n", got.name);
	volume_meta_free(&got);
	return 0;
}

static int
volume_ls(struct cli *cli, int argc, char **argv)
{
	struct volume_meta *v;
	size_t n;
	int r;

	parse_verb(cli, argc, argv, NULL, "cephvol volume ls [--json]");
	if (optind != argc)
		usage_die("cephvol volume ls [--json]");
	r = catalog_list(cli_store(cli), &v, &n);
	if (r < 0)
		die("cannot list volumes in pool %s: %s", cli->cfg.ceph_pool,
		    strerror(-r));
	if (cli->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, volume_meta_json(&v[i]));
		print_json(a);
		json_decref(a);
	} else {
		printf("%-32s %-8s %8s %-5s %s\n", "NAME", "TYPE", "SIZE", "FS",
		    "CREATED");
		for (size_t i = 0; i < n; i++) {
			char sz[32] = "-", when[32];
			if (v[i].type == VOLUME_BLOCK)
				size_format(v[i].size, sz, sizeof(sz));
			printf("%-32s %-8s %8s %-5s %s\n", v[i].name,
			    volume_type_name(v[i].type), sz,
			    v[i].type == VOLUME_BLOCK ? v[i].fs : "-",
			    time_format(v[i].created, when, sizeof(when)));
		}
	}
	for (size_t i = 0; i < n; i++)
		volume_meta_free(&v[i]);
	free(v);
	return 0;
}

static json_t *
holder_json(const struct lease_holder *h)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:b}",
	    "client", h->client, "addr", h->addr, "cookie", h->cookie,
	    "host", h->host, "user", h->user, "pid", h->pid,
	    "since", (json_int_t)h->since, "expires", (json_int_t)h->expires,
	    "expired", h->expired);
}

static int
volume_inspect(struct cli *cli, int argc, char **argv)
{
	const char *use = "cephvol volume inspect NAME [--json]";
	struct volume_meta m;
	struct lease_holder h;
	struct store *st;
	uint64_t bytes = 0, objects = 0;
	bool held;
	int r, ra = 0;

	parse_verb(cli, argc, argv, NULL, use);
	if (argc - optind != 1)
		usage_die("%s", use);
	st = cli_store(cli);
	r = catalog_get(st, argv[optind], &m);
	if (r == -ENOENT)
		die("no such volume: %s", argv[optind]);
	if (r < 0)
		die("cannot read volume %s: %s", argv[optind], strerror(-r));
	r = lease_holder(st, m.id, &h);
	if (r < 0 && r != -ENOENT)
		die("cannot read the lease of volume %s: %s", m.name, strerror(-r));
	held = r == 0;
	if (m.type == VOLUME_BLOCK)
		ra = image_allocated(st, m.id, &bytes, &objects);
	if (ra < 0)	/* still show the metadata */
		fprintf(stderr, "cephvol: warning: cannot count the objects of "
		    "volume %s: %s\n", m.name, strerror(-ra));

	struct snapshot *snaps = NULL;
	uint64_t *alone = NULL, seq;
	size_t nsnaps = 0;
	int ru = -ENOENT;
	if (m.type == VOLUME_BLOCK && snapshot_records(&m, &snaps, &nsnaps, &seq) == 0 &&
	    nsnaps > 0 && (alone = calloc(nsnaps, sizeof(*alone))) != NULL &&
	    (ru = snapshot_usage(st, &m, alone, nsnaps)) < 0)
		fprintf(stderr, "cephvol: warning: cannot count what the snapshots of "
		    "volume %s hold: %s\n", m.name, strerror(-ru));

	if (cli->json) {
		json_t *j = volume_meta_json(&m);
		if (nsnaps > 0 && ru == 0) {
			json_t *u = json_object();
			for (size_t i = 0; i < nsnaps; i++)
				json_object_set_new(u, snaps[i].name,
				    json_integer((json_int_t)alone[i]));
			json_object_set_new(j, "snapshot_bytes_alone", u);
		}
		if (m.type == VOLUME_BLOCK) {
			json_object_set_new(j, "allocated_bytes", ra < 0 ?
			    json_null() : json_integer((json_int_t)bytes));
			json_object_set_new(j, "allocated_objects", ra < 0 ?
			    json_null() : json_integer((json_int_t)objects));
		}
		json_object_set_new(j, "lease", held ? holder_json(&h) : json_null());
		print_json(j);
		json_decref(j);
	} else {
		char a[32], b[32], when[32], who[512];
		printf("name:        %s\n", m.name);
		printf("id:          %s\n", m.id);
		printf("type:        %s\n", volume_type_name(m.type));
		if (m.type == VOLUME_BLOCK) {
			printf("size:        %s (%" PRIu64 " bytes)\n",
			    size_format(m.size, a, sizeof(a)), m.size);
			printf("fs:          %s\n", m.fs);
			printf("object size: %s\n", size_format(m.object_size, b, sizeof(b)));
			if (ra < 0)
				printf("allocated:   unknown (%s)\n", strerror(-ra));
			else
				printf("allocated:   %" PRIu64 " bytes in %" PRIu64
				    " objects\n", bytes, objects);
			if (m.parent != NULL)
				printf("%-13s%s@%s (reads through to it for the first %s)\n",
				    m.readonly ? "snapshot of:" : "made from:",
				    json_string_value(json_object_get(m.parent, "volume")) ?: "?",
				    json_string_value(json_object_get(m.parent, "snapshot")) ?: "?",
				    size_format((uint64_t)json_integer_value(json_object_get(
				    m.parent, "overlap")), a, sizeof(a)));
			if (m.readonly)
				printf("read-only:   yes\n");
			for (size_t i = 0; i < nsnaps; i++) {
				printf("snapshot:    %s, %s, taken %s, ", snaps[i].name,
				    size_format(snaps[i].size, a, sizeof(a)),
				    time_format(snaps[i].created, when, sizeof(when)));
				if (ru == 0)
					printf("holds %" PRIu64 " bytes alone", alone[i]);
				else
					printf("holds ? bytes alone");
				printf("%s\n", snaps[i].removing ? " (being removed)" : "");
			}
		} else {
			char *s = json_dumps(m.secrets, JSON_COMPACT);
			printf("secrets:     %s\n", s ? s : "?");
			free(s);
		}
		const char *k;
		json_t *v;
		json_object_foreach(m.labels, k, v)
			printf("label:       %s=%s\n", k, json_string_value(v));
		printf("created:     %s\n", time_format(m.created, when, sizeof(when)));
		printf("lease:       %s\n", held ? lease_holder_describe(&h, who,
		    sizeof(who)) : "none");
	}
	free(snaps);
	free(alone);
	volume_meta_free(&m);
	return 0;
}

static int
volume_rm(struct cli *cli, int argc, char **argv)
{
	const char *use = "cephvol volume rm NAME...";
	struct store *st;
	char err[1024];
	int status = 0;

	parse_verb(cli, argc, argv, NULL, use);
	if (optind >= argc)
		usage_die("%s", use);
	st = cli_store(cli);
	for (int i = optind; i < argc; i++) {
		int r = catalog_remove(st, argv[i], err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "cephvol: error: %s\n", err);
			status = 1;
		} else
			printf("%s\n", argv[i]);
	}
	return status;
}

static int
volume_resize(struct cli *cli, int argc, char **argv)
{
	const char *use = "cephvol volume resize NAME SIZE (e.g. 20G; grow only)";
	struct volume_meta m;
	json_t *reply = NULL;
	char who[512];
	struct store *st;
	uint64_t size;
	char err[1024];
	int r;

	parse_verb(cli, argc, argv, NULL, use);
	if (argc - optind != 2)
		usage_die("%s", use);
	if (size_parse(argv[optind + 1], &size) < 0)
		usage_die("bad size '%s': expected e.g. 20G, 512M or bytes\n%s",
		    argv[optind + 1], use);
	st = cli_store(cli);
	r = catalog_resize(st, argv[optind], size, err, sizeof(err));
	if (r < 0)
		die("%s", err);
	/* Mounted: the holder grows the image, the loop device and the
	 * filesystem online; else the next mount grows the filesystem. */
	if (catalog_get(st, argv[optind], &m) < 0)
		return 0;
	r = volctl_ask_holder(st, m.id, "resize", 120000, &reply, who, sizeof(who),
	    err, sizeof(err));
	if (r != -ENOENT) {
		const char *e = NULL;

		if (r < 0)
			die("volume %s is now %s, but %s, which has it mounted, did "
			    "not grow it: %s; it grows at its next mount", m.name,
			    argv[optind + 1], who, err);
		if (json_unpack(reply, "{s:s}", "err", &e) == 0)
			die("volume %s is now %s, but %s, which has it mounted, could "
			    "not grow it online: %s", m.name, argv[optind + 1], who, e);
		printf("%s: %s, grown online by %s%s\n", m.name, argv[optind + 1], who,
		    json_is_true(json_object_get(reply, "grown")) ?
		    " (filesystem included)" : "");
		if (json_is_string(json_object_get(reply, "note")))
			fprintf(stderr, "cephvol: warning: %s\n", json_string_value(
			    json_object_get(reply, "note")));
		json_decref(reply);
	} else
		printf("%s: %s (the filesystem grows at the next mount)\n", m.name,
		    argv[optind + 1]);
	volume_meta_free(&m);
	return 0;
}

static int
volume_set(struct cli *cli, int argc, char **argv)
{
	const char *use = "cephvol volume set NAME KEY=VALUE... (keys: iops_limit, "
	    "read_iops_limit, write_iops_limit, bps_limit, read_bps_limit, "
	    "write_bps_limit; VALUE a number, a size a second such as 50M, or none)";
	json_t *changes = json_object(), *limits;
	struct volume_qos now;
	struct volume_meta m;
	struct store *st;
	char err[1024], *shown;

	parse_verb(cli, argc, argv, NULL, use);
	if (argc - optind < 2)
		usage_die("%s", use);
	for (int i = optind + 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq == NULL || eq == argv[i])
			usage_die("'%s' is not KEY=VALUE\n%s", argv[i], use);
		*eq = '\0';
		json_object_set_new(changes, argv[i], json_string(eq + 1));
		*eq = '=';
	}
	st = cli_store(cli);
	if (catalog_set_limits(st, argv[optind], changes, &now, err, sizeof(err)) < 0)
		die("%s", err);
	json_decref(changes);
	limits = volume_qos_json(&now);
	shown = limits ? json_dumps(limits, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	/* Mounted: the holder applies them now; else the next mount does. */
	if (catalog_get(st, argv[optind], &m) == 0) {
		json_t *reply = NULL;
		char who[512];
		int r = volctl_ask_holder(st, m.id, "limits", 30000, &reply, who,
		    sizeof(who), err, sizeof(err));
		if (r != -ENOENT) {
			if (r < 0 || json_object_get(reply, "ok") == NULL)
				fprintf(stderr, "cephvol: warning: %s, which has volume %s "
				    "mounted, did not apply them (%s); its next mount "
				    "does\n", who, m.name, reply ? "it refused" : err);
			else
				printf("%s: limits %s, applied by %s\n", m.name,
				    shown ? shown : "?", who);
			json_decref(reply);
		} else
			printf("%s: limits %s (applied when it is mounted)\n", m.name,
			    shown ? shown : "?");
		volume_meta_free(&m);
	}
	free(shown);
	json_decref(limits);
	return 0;
}

static int
volume_flatten(struct cli *cli, int argc, char **argv)
{
	const char *use = "cephvol volume flatten NAME (a clone, unmounted "
	    "everywhere)";
	char err[2048];

	parse_verb(cli, argc, argv, NULL, use);
	if (argc - optind != 1)
		usage_die("%s", use);
	if (clone_flatten(cli_store(cli), &cli->cfg, argv[optind], err,
	    sizeof(err)) < 0)
		die("%s", err);
	return 0;
}

int
cmd_volume(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "create", volume_create, NULL },
		{ "ls", volume_ls, NULL },
		{ "list", volume_ls, NULL },
		{ "inspect", volume_inspect, NULL },
		{ "rm", volume_rm, NULL },
		{ "remove", volume_rm, NULL },
		{ "resize", volume_resize, NULL },
		{ "rollback", cmd_volume_rollback, NULL },
		{ "flatten", volume_flatten, NULL },
		{ "set", volume_set, NULL },
		{ "export", cmd_volume_export, NULL },
		{ "import", cmd_volume_import, NULL },
		{ "import-diff", cmd_volume_import_diff, NULL },
		{ "mount", cmd_volume_mount, NULL },
		{ "unmount", cmd_volume_unmount, NULL },
	};
	int status;

	if (argc < 2)
		usage_die("%s", VOLUME_USAGE);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		printf("usage: %s\n", VOLUME_USAGE);
		return 0;
	}
	if ((status = cli_verb_run(cli, verbs, ARRAY_SIZE(verbs), argc, argv)) < 0)
		usage_die("unknown verb 'volume %s'\n%s", argv[1], VOLUME_USAGE);
	return status;
}
