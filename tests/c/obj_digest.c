/*
 * obj_digest.c - a fingerprint of every object of a pool whose name starts
 * with a prefix, for tests that must prove nothing was written
 * (tests/integ/fault_takeover_stopped.sh): take one before, one after,
 * compare.
 *
 *	obj_digest [-c CEPHCONF] [-n CLIENT] POOL PREFIX
 *
 * One line per object, sorted by name: "NAME SIZE VERSION DIGEST", where
 * VERSION is the object's user version (every write op moves it, even one
 * that rewrites the same bytes) and DIGEST a BLAKE2b-128 of its data. The
 * configuration is CEPHCONF, else $CEPH_CONF; the client CLIENT (default
 * client.admin) with the keyring that configuration names. Exit 0, 1 on
 * error, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rados/librados.h>
#include <sodium.h>

#define CHUNK	(4u << 20)
#define DLEN	16

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
digest(rados_ioctx_t io, const char *oid, char *buf)
{
	crypto_generichash_state h;
	unsigned char d[DLEN];
	uint64_t size = 0, off = 0;
	time_t mtime;
	int r;

	r = rados_stat(io, oid, &size, &mtime);
	if (r < 0) {
		fprintf(stderr, "obj_digest: stat %s: %s\n", oid, strerror(-r));
		return r;
	}
	crypto_generichash_init(&h, NULL, 0, DLEN);
	for (;;) {
		r = rados_read(io, oid, buf, CHUNK, off);
		if (r < 0) {
			fprintf(stderr, "obj_digest: read %s at %" PRIu64 ": %s\n", oid,
			    off, strerror(-r));
			return r;
		}
		crypto_generichash_update(&h, (unsigned char *)buf, (size_t)r);
		off += (uint64_t)r;
		if ((unsigned)r < CHUNK)
			break;
	}
	/* the version of the object as this last read saw it */
	uint64_t ver = rados_get_last_version(io);
	crypto_generichash_final(&h, d, DLEN);
	printf("%s %" PRIu64 " %" PRIu64 " ", oid, off, ver);
	for (int i = 0; i < DLEN; i++)
		printf("%02x", d[i]);
	putchar('\n');
	if (off != size) {
		fprintf(stderr, "obj_digest: %s: read %" PRIu64 " bytes, stat said %"
		    PRIu64 "\n", oid, off, size);
		return -EIO;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *conf = NULL, *client = "client.admin";
	rados_t cl;
	rados_ioctx_t io;
	rados_list_ctx_t lc;
	const char *entry;
	char **names = NULL, *buf;
	size_t n = 0, cap = 0;
	int c, r, status = 0;

	while ((c = getopt(argc, argv, "c:n:")) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'n':
			client = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2)
		goto usage;
	const char *pool = argv[optind], *prefix = argv[optind + 1];
	if (sodium_init() < 0)
		return 1;
	if ((r = rados_create2(&cl, "ceph", client, 0)) < 0 ||
	    (r = rados_conf_read_file(cl, conf)) < 0 ||
	    (r = rados_conf_set(cl, "client_mount_timeout", "30")) < 0 ||
	    (r = rados_connect(cl)) < 0) {
		fprintf(stderr, "obj_digest: cannot connect as %s: %s\n", client,
		    strerror(-r));
		return 1;
	}
	if ((r = rados_ioctx_create(cl, pool, &io)) < 0) {
		fprintf(stderr, "obj_digest: pool %s: %s\n", pool, strerror(-r));
		rados_shutdown(cl);
		return 1;
	}
	if ((r = rados_nobjects_list_open(io, &lc)) < 0) {
		fprintf(stderr, "obj_digest: list %s: %s\n", pool, strerror(-r));
		return 1;
	}
	while ((r = rados_nobjects_list_next(lc, &entry, NULL, NULL)) == 0) {
		if (strncmp(entry, prefix, strlen(prefix)) != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			names = realloc(names, cap * sizeof(*names));
			if (names == NULL)
				return 1;
		}
		if ((names[n++] = strdup(entry)) == NULL)
			return 1;
	}
	rados_nobjects_list_close(lc);
	if (r != -ENOENT) {
		fprintf(stderr, "obj_digest: list %s: %s\n", pool, strerror(-r));
		return 1;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	if ((buf = malloc(CHUNK)) == NULL)
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (digest(io, names[i], buf) < 0)
			status = 1;
		free(names[i]);
	}
	free(names);
	free(buf);
	rados_ioctx_destroy(io);
	rados_shutdown(cl);
	return status;

usage:
	fprintf(stderr, "usage: obj_digest [-c CEPHCONF] [-n CLIENT] POOL PREFIX\n");
	return 2;
}
