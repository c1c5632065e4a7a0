/*
 * radosdu.c - bytes held in RADOS by the objects of one pool whose names
 * start with a prefix: the space figure of the benchmark.
 *
 *	radosdu CEPH_CONF POOL [PREFIX]	prints "BYTES OBJECTS"
 *
 * The size of an object is what rados_stat reports (its logical length);
 * RADOS exposes no per-object allocation, and cluster statistics need a
 * mgr. `make` builds it into BUILD/bench/radosdu for tests/bench/lib.sh;
 * a benchmark helper only, linked with librados alone, not part of cephvol.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <rados/librados.h>

int
main(int argc, char **argv)
{
	rados_t cluster;
	rados_ioctx_t io;
	rados_list_ctx_t ls;
	const char *name, *prefix = argc > 3 ? argv[3] : "";
	size_t plen = strlen(prefix);
	uint64_t bytes = 0, n = 0, size;
	time_t mtime;
	int r;

	if (argc < 3) {
		fprintf(stderr, "usage: radosdu CEPH_CONF POOL [PREFIX]\n");
		return 2;
	}
	if ((r = rados_create(&cluster, NULL)) < 0 ||
	    (r = rados_conf_read_file(cluster, argv[1])) < 0 ||
	    (r = rados_connect(cluster)) < 0) {
		fprintf(stderr, "radosdu: cannot connect: %s\n", strerror(-r));
		return 1;
	}
	if ((r = rados_ioctx_create(cluster, argv[2], &io)) < 0) {
		fprintf(stderr, "radosdu: cannot open pool %s: %s\n", argv[2], strerror(-r));
		rados_shutdown(cluster);
		return 1;
	}
	if ((r = rados_nobjects_list_open(io, &ls)) < 0) {
		fprintf(stderr, "radosdu: cannot list pool %s: %s\n", argv[2], strerror(-r));
		goto out;
	}
	while ((r = rados_nobjects_list_next(ls, &name, NULL, NULL)) == 0) {
		if (strncmp(name, prefix, plen) != 0)
			continue;
		if (rados_stat(io, name, &size, &mtime) == 0) {
			bytes += size;
			n++;
		}
	}
	rados_nobjects_list_close(ls);
	r = r == -ENOENT ? 0 : r;
	if (r == 0)
		printf("%llu %llu\n", (unsigned long long)bytes, (unsigned long long)n);
	else
		fprintf(stderr, "radosdu: listing pool %s: %s\n", argv[2], strerror(-r));
out:
	rados_ioctx_destroy(io);
	rados_shutdown(cluster);
	return r < 0 ? 1 : 0;
}
