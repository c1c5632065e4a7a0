/*
 * cmd_key.c - `cephvol key init|rotate|show`: the secrets master key.
 *
 * Rotation re-seals every secret under a new key without a moment where a
 * secret is unreadable:
 *   1. the new key is written to "<key>.new" (or found there: resume);
 *   2. each secret is re-sealed in one atomic write (store/secretstore.c);
 *      readers holding the old key open new records through "<key>.new";
 *   3. the old key is kept as "<key>.old" and "<key>.new" renamed over
 *      "<key>" (atomic); readers holding the old key now find the new one
 *      at "<key>";
 *   4. "<key>.old" is wiped and removed.
 * Running `cephvol key rotate` again after an interruption at any point
 * finishes the job. CEPHVOL_CRASH_AT=<step> stops after a step (tests,
 * common/testhook.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cli.h"
#include "common/testhook.h"
#include "common/util.h"
#include "secrets/masterkey.h"
#include "store/conn.h"
#include "store/secretstore.h"

static int
key_init(struct cli *cli, int argc, char **argv)
{
	const char *path = cli->cfg.secrets_master_key;
	struct masterkey *mk;
	char err[1024], id[17];

	(void)argv;
	if (argc != 1)
		usage_die("cephvol key init");
	if (masterkey_create_file(path, err, sizeof(err)) < 0)
		die("%s", err);
	if (masterkey_load(path, &mk, err, sizeof(err)) < 0)
		die("%s", err);
	printf("created master key %s in %s (mode 0600, root); back it up: "
	    "without it no secret can be read\n", masterkey_id_hex(mk, id, sizeof(id)),
	    path);
	masterkey_free(mk);
	return 0;
}

static int
key_show(struct cli *cli, int argc, char **argv)
{
	struct masterkey *mk;
	char err[1024], id[17];

	(void)argv;
	if (argc != 1)
		usage_die("cephvol key show");
	if (masterkey_load(cli->cfg.secrets_master_key, &mk, err, sizeof(err)) < 0)
		die("%s", err);
	masterkey_id_hex(mk, id, sizeof(id));
	if (cli->json)
		printf("{\"id\": \"%s\", \"path\": \"%s\"}\n", id, cli->cfg.secrets_master_key);
	else
		printf("master key %s (%s)\n", id, cli->cfg.secrets_master_key);
	masterkey_free(mk);
	return 0;
}

/* Copy a user-supplied key file to dst through locked memory. */
static void
install_new_key(const char *src, const char *dst)
{
	struct masterkey *k;
	char err[1024];

	if (masterkey_load(src, &k, err, sizeof(err)) < 0)
		die("--new-key: %s", err);
	sodium_mprotect_readwrite(k->key);
	if (masterkey_write_file(dst, k->key, err, sizeof(err)) < 0)
		die("%s", err);
	masterkey_free(k);
}

static void
wipe_unlink(const char *path)
{
	unsigned char zero[MASTERKEY_BYTES] = { 0 };
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd >= 0) {
		if (write(fd, zero, sizeof(zero)) < 0 || fsync(fd) < 0)
			fprintf(stderr, "cephvol: warning: cannot wipe %s\n", path);
		close(fd);
	}
	unlink(path);
}

static int
key_rotate(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "new-key", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = cli->cfg.secrets_master_key, *src = NULL;
	char newp[4200], oldp[4200], err[1024], oid[17], nid[17];
	struct masterkey *oldk, *newk;
	struct secret_meta *list = NULL;
	size_t n = 0, changed = 0;
	struct stat sb;
	int c, r;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'n')
			src = optarg;
		else
			usage_die("cephvol key rotate [--new-key FILE]");
	}
	if (optind != argc)
		usage_die("cephvol key rotate [--new-key FILE]");
	snprintf(newp, sizeof(newp), "%s.new", path);
	snprintf(oldp, sizeof(oldp), "%s.old", path);

	if (stat(newp, &sb) < 0 && stat(oldp, &sb) == 0) {
		/* Interrupted after the swap: only the cleanup is left. */
		wipe_unlink(oldp);
		printf("finished an interrupted rotation: removed the old key\n");
		return 0;
	}
	if (masterkey_load(path, &oldk, err, sizeof(err)) < 0)
		die("%s", err);
	if (stat(newp, &sb) == 0) {
		printf("resuming an interrupted rotation with the key in %s\n", newp);
		if (src)
			fprintf(stderr, "cephvol: note: --new-key ignored while %s exists\n",
			    newp);
	} else if (src) {
		install_new_key(src, newp);
	} else if (masterkey_create_file(newp, err, sizeof(err)) < 0) {
		die("%s", err);
	}
	testhook_point("new-key");
	if (masterkey_load(newp, &newk, err, sizeof(err)) < 0)
		die("%s", err);
	if (sodium_memcmp(oldk->id, newk->id, sizeof(oldk->id)) == 0)
		die("the new key is the current key; nothing to rotate");

	struct store *st = cli_store(cli);
	r = secret_list(st, &list, &n);
	if (r < 0)
		die("cannot list secrets: %s", strerror(-r));
	for (size_t i = 0; i < n; i++) {
		bool did = false;
		r = secret_rekey(st, oldk, newk, list[i].name, &did, err, sizeof(err));
		if (r < 0)
			die("%s; run 'cephvol key rotate' again to resume (old key "
			    "still in %s, new key in %s)", err, path, newp);
		changed += did;
		if (did)
			testhook_point("rekeyed-one");
	}
	testhook_point("rekeyed-all");
	if (link(path, oldp) < 0 && errno != EEXIST)
		die("cannot keep the old key as %s: %s", oldp, strerror(errno));
	if (rename(newp, path) < 0)
		die("cannot move the new key %s to %s: %s", newp, path, strerror(errno));
	testhook_point("swapped");
	wipe_unlink(oldp);
	printf("rotated master key %s -> %s: %zu of %zu secrets re-sealed\n",
	    masterkey_id_hex(oldk, oid, sizeof(oid)),
	    masterkey_id_hex(newk, nid, sizeof(nid)), changed, n);
	for (size_t i = 0; i < n; i++)
		secret_meta_free(&list[i]);
	free(list);
	masterkey_free(oldk);
	masterkey_free(newk);
	return 0;
}

int
cmd_key(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "init", key_init, NULL }, { "rotate", key_rotate, NULL },
		{ "show", key_show, NULL },
	};
	int status;

	if (argc < 2)
		usage_die("cephvol key init|rotate [--new-key FILE]|show");
	if ((status = cli_verb_run(cli, verbs, ARRAY_SIZE(verbs), argc, argv)) < 0)
		usage_die("unknown key command '%s'; expected init, rotate or show",
		    argv[1]);
	return status;
}
