/*
 * cmd_secret.c - `cephvol secret create|update|ls|inspect|rm|get`.
 *
 * Values are read from a file or standard input straight into locked
 * sodium_malloc() memory and never enter a plain buffer, a json_t or a log
 * line. `get` prints a value and is for debugging only: root only.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cli.h"
#include "common/util.h"
#include "secrets/masterkey.h"
#include "store/conn.h"
#include "store/secret_grant.h"
#include "store/secretstore.h"


#define CREATE_USAGE "cephvol secret create NAME [--from-file FILE | -] " \
	"[--uid UID] [--gid GID] [--mode MODE] [--label KEY=VALUE]..."
#define UPDATE_USAGE "cephvol secret update NAME [--from-file FILE | -]"

static struct masterkey *
load_key(struct cli *cli)
{
	struct masterkey *mk;
	char err[1024];

	if (masterkey_load(cli->cfg.secrets_master_key, &mk, err, sizeof(err)) < 0)
		die("%s", err);
	return mk;
}

/* Read the whole value from path ("-" or NULL = stdin) into locked memory. */
static void
read_value(const char *path, const char *name, struct secret_value *out)
{
	size_t cap = SECRET_MAX_BYTES + 1, n = 0;
	unsigned char *buf;
	int fd = STDIN_FILENO;

	if (path && strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("cannot open %s: %s", path, strerror(errno));
	} else if (isatty(STDIN_FILENO)) {
		die("give the value of secret %s with --from-file FILE or on "
		    "standard input", name);
	}
	buf = sodium_malloc(cap);
	if (buf == NULL)
		die("cannot allocate locked memory for the value");
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("cannot read the value of secret %s: %s", name, strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap)
			die("the value of secret %s is larger than the limit of %u bytes "
			    "(1 MiB)", name, SECRET_MAX_BYTES);
	}
	if (fd != STDIN_FILENO)
		close(fd);
	out->data = sodium_malloc(n ? n : 1);
	if (out->data == NULL)
		die("cannot allocate locked memory for the value");
	memcpy(out->data, buf, n);
	out->len = n;
	sodium_free(buf);
}

static uint64_t
parse_id(const char *what, const char *s)
{
	uint64_t v;

	if (uint_parse(s, 0, 4294967294u, &v) < 0)
		die("bad %s '%s': expected a number from 0 to 4294967294", what, s);
	return v;
}

static int
secret_create_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "from-file", required_argument, NULL, 'f' },
		{ "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' },
		{ "mode", required_argument, NULL, 'm' },
		{ "label", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct secret_meta m = { 0 };
	struct secret_value v = { 0 };
	const char *from = NULL;
	char err[1024];
	int c;

	m.mode = 0400;
	m.labels = json_object();
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 'u':
			m.uid = (uid_t)parse_id("uid", optarg);
			break;
		case 'g':
			m.gid = (gid_t)parse_id("gid", optarg);
			break;
		case 'm': {
			char *end;
			unsigned long mode = strtoul(optarg, &end, 8);
			if (*optarg == '\0' || *end || mode > 0777)
				die("bad mode '%s': expected octal permission bits "
				    "from 0 to 0777, like 0400", optarg);
			m.mode = (mode_t)mode;
			break;
		}
		case 'l': {
			char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg)
				die("bad label '%s': expected KEY=VALUE", optarg);
			*eq = '\0';
			json_object_set_new(m.labels, optarg, json_string(eq + 1));
			break;
		}
		default:
			usage_die(CREATE_USAGE);
		}
	}
	if (optind < argc - 2 || optind >= argc)
		usage_die(CREATE_USAGE);
	if (optind == argc - 2) {
		if (strcmp(argv[argc - 1], "-") != 0 || from)
			usage_die(CREATE_USAGE);
		from = "-";
	}
	if (!name_valid(argv[optind]))
		die("bad secret name '%s': %s", argv[optind], NAME_RULE);
	snprintf(m.name, sizeof(m.name), "%s", argv[optind]);
	struct masterkey *mk = load_key(cli);
	read_value(from, m.name, &v);
	int r = secret_create(cli_store_create_pool(cli), mk, &m, &v, err, sizeof(err));
	secret_value_free(&v);
	masterkey_free(mk);
	json_decref(m.labels);
	if (r < 0)
		die("%s", err);
	printf("created secret %s version 1\n", m.name);
	return 0;
}

static int
secret_update_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "from-file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct secret_value v = { 0 };
	const char *from = NULL;
	uint32_t version = 0;
	char err[1024];
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'f')
			from = optarg;
		else
			usage_die(UPDATE_USAGE);
	}
	if (optind < argc - 2 || optind >= argc)
		usage_die(UPDATE_USAGE);
	if (optind == argc - 2) {
		if (strcmp(argv[argc - 1], "-") != 0 || from)
			usage_die(UPDATE_USAGE);
		from = "-";
	}
	const char *name = argv[optind];
	if (!name_valid(name))
		die("bad secret name '%s': %s", name, NAME_RULE);
	struct masterkey *mk = load_key(cli);
	read_value(from, name, &v);
	int r = secret_update(cli_store(cli), mk, name, &v, &version, err, sizeof(err));
	secret_value_free(&v);
	masterkey_free(mk);
	if (r < 0)
		die("%s", err);
	printf("updated secret %s to version %" PRIu32 "\n", name, version);
	return 0;
}

static json_t *
meta_json(const struct secret_meta *m, const uint32_t *vs, size_t nv)
{
	char mode[8];
	json_t *o;

	snprintf(mode, sizeof(mode), "%04o", (unsigned)m->mode);
	o = json_pack("{s:s, s:I, s:I, s:s, s:I, s:I, s:O}", "name", m->name,
	    "uid", (json_int_t)m->uid, "gid", (json_int_t)m->gid, "mode", mode,
	    "latest", (json_int_t)m->latest, "created", (json_int_t)m->created,
	    "labels", m->labels ? m->labels : json_object());
	if (vs) {
		json_t *a = json_array();
		for (size_t i = 0; i < nv; i++)
			json_array_append_new(a, json_integer(vs[i]));
		json_object_set_new(o, "versions", a);
	}
	return o;
}

static int
secret_ls_cmd(struct cli *cli, int argc, char **argv)
{
	struct secret_meta *list;
	size_t n;
	char when[32];
	int r;

	(void)argv;
	if (argc != 1)
		usage_die("cephvol secret ls");
	r = secret_list(cli_store(cli), &list, &n);
	if (r < 0)
		die("cannot list secrets: %s", strerror(-r));
	if (cli->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, meta_json(&list[i], NULL, 0));
		char *s = json_dumps(a, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
		json_decref(a);
	} else {
		printf("%-32s %7s %6s %6s %5s  %s\n", "NAME", "VERSION", "UID", "GID",
		    "MODE", "CREATED");
		for (size_t i = 0; i < n; i++)
			printf("%-32s %7" PRIu32 " %6u %6u %04o  %s\n", list[i].name,
			    list[i].latest, (unsigned)list[i].uid, (unsigned)list[i].gid,
			    (unsigned)list[i].mode,
			    time_format(list[i].created, when, sizeof(when)));
	}
	for (size_t i = 0; i < n; i++)
		secret_meta_free(&list[i]);
	free(list);
	return 0;
}

static int
secret_inspect_cmd(struct cli *cli, int argc, char **argv)
{
	struct secret_meta m;
	uint32_t *vs = NULL;
	size_t nv = 0;
	char when[32];
	int r;

	if (argc != 2)
		usage_die("cephvol secret inspect NAME");
	if (!name_valid(argv[1]))
		die("bad secret name '%s': %s", argv[1], NAME_RULE);
	struct store *st = cli_store(cli);
	r = secret_meta_get(st, argv[1], &m);
	if (r < 0)
		die(r == -ENOENT ? "no secret named %s" : "cannot read secret %s: %s",
		    argv[1], strerror(-r));
	secret_versions(st, argv[1], &vs, &nv);
	json_t *o = meta_json(&m, vs, nv);
	if (cli->json) {
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", s);
		free(s);
	} else {
		printf("name:     %s\nowner:    %u:%u\nmode:     %04o\nlatest:   %" PRIu32
		    "\ncreated:  %s\nversions:", m.name, (unsigned)m.uid, (unsigned)m.gid,
		    (unsigned)m.mode, m.latest, time_format(m.created, when, sizeof(when)));
		for (size_t i = 0; i < nv; i++)
			printf(" %" PRIu32, vs[i]);
		printf("\nlabels:  ");
		const char *k;
		json_t *v;
		json_object_foreach(m.labels, k, v)
			printf(" %s=%s", k, json_string_value(v) ? json_string_value(v) : "");
		printf("\n");
	}
	json_decref(o);
	free(vs);
	secret_meta_free(&m);
	return 0;
}

static int
secret_rm_cmd(struct cli *cli, int argc, char **argv)
{
	char err[1024];

	if (argc != 2)
		usage_die("cephvol secret rm NAME");
	if (secret_remove(cli_store(cli), argv[1], err, sizeof(err)) < 0)
		die("%s", err);
	printf("removed secret %s\n", argv[1]);
	return 0;
}

static int
secret_get_cmd(struct cli *cli, int argc, char **argv)
{
	struct secret_value v;
	char name[NAME_MAX_LEN + 1], err[1024];
	uint32_t version;

	if (argc != 2)
		usage_die("cephvol secret get NAME[@VERSION]");
	if (geteuid() != 0)
		die("'cephvol secret get' prints a secret's value and is for root only");
	if (secret_grant_parse(argv[1], name, sizeof(name), &version) < 0)
		die("bad secret '%s': expected NAME or NAME@VERSION; %s", argv[1],
		    NAME_RULE);
	struct masterkey *mk = load_key(cli);
	if (secret_value_get(cli_store(cli), mk, name, version, &v, err, sizeof(err)) < 0)
		die("%s", err);
	for (size_t off = 0; off < v.len; ) {
		ssize_t w = write(STDOUT_FILENO, v.data + off, v.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("cannot write the value: %s", strerror(errno));
		off += (size_t)w;
	}
	secret_value_free(&v);
	masterkey_free(mk);
	return 0;
}

int
cmd_secret(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "create", secret_create_cmd, NULL },
		{ "update", secret_update_cmd, NULL },
		{ "ls", secret_ls_cmd, NULL }, { "list", secret_ls_cmd, NULL },
		{ "inspect", secret_inspect_cmd, NULL },
		{ "rm", secret_rm_cmd, NULL }, { "remove", secret_rm_cmd, NULL },
		{ "get", secret_get_cmd, NULL },
	};
	int status;

	if (argc < 2)
		usage_die("cephvol secret create|update|ls|inspect|rm|get ...");
	if ((status = cli_verb_run(cli, verbs, ARRAY_SIZE(verbs), argc, argv)) < 0)
		usage_die("unknown secret command '%s'; expected create, update, ls, "
		    "inspect, rm or get", argv[1]);
	return status;
}
