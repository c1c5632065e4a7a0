/*
 * secret_read_bench.c - latency of reading a whole small file the way an
 * application reads its credentials: open + read until EOF + close, many
 * times, one after another.
 *
 *	secret_read_bench [-n COUNT] [-w WARMUP] LABEL=FILE...
 *
 * For each file prints one line:
 *	LABEL n=COUNT bytes=B p50_us=X p90_us=X p99_us=X max_us=X mean_us=X
 * Files are measured in turns (round robin, COUNT/10 at a time) so both see
 * the same machine noise. Every read must return the same bytes as the
 * first one (a changed size fails the run: nothing rotates during a bench).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct target {
	const char	*label;
	const char	*path;
	uint64_t	*ns;
	size_t		 done;
	ssize_t		 bytes;
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* open + read to EOF + close; the bytes read, or -1. */
static ssize_t
read_once(const char *path, char *buf, size_t len)
{
	ssize_t total = 0, k;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((k = read(fd, buf + total, len - (size_t)total)) > 0)
		total += k;
	close(fd);
	return k < 0 ? -1 : total;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const uint64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return (double)v[i] / 1000.0;
}

int
main(int argc, char **argv)
{
	static char buf[1 << 21];
	size_t count = 10000, warm = 200, nt = 0;
	struct target *t;
	int c;

	while ((c = getopt(argc, argv, "n:w:")) != -1) {
		switch (c) {
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			warm = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: secret_read_bench [-n COUNT] [-w WARMUP] LABEL=FILE...\n");
			return 2;
		}
	}
	if (optind >= argc || count < 10) {
		fprintf(stderr, "usage: secret_read_bench [-n COUNT] [-w WARMUP] LABEL=FILE...\n");
		return 2;
	}
	t = calloc((size_t)(argc - optind), sizeof(*t));
	for (int i = optind; i < argc; i++, nt++) {
		char *eq = strchr(argv[i], '=');
		t[nt].label = argv[i];
		t[nt].path = eq ? eq + 1 : argv[i];
		if (eq)
			*eq = '\0';
		t[nt].ns = calloc(count, sizeof(uint64_t));
		if (t[nt].ns == NULL)
			return 1;
		t[nt].bytes = read_once(t[nt].path, buf, sizeof(buf));
		if (t[nt].bytes < 0) {
			fprintf(stderr, "secret_read_bench: cannot read %s: %s\n", t[nt].path,
			    strerror(errno));
			return 1;
		}
		for (size_t w = 0; w < warm; w++)
			read_once(t[nt].path, buf, sizeof(buf));
	}
	size_t chunk = count / 10;
	for (size_t base = 0; base < count; base += chunk) {
		for (size_t k = 0; k < nt; k++) {
			for (size_t i = base; i < base + chunk && i < count; i++) {
				uint64_t t0 = mono_ns();
				ssize_t got = read_once(t[k].path, buf, sizeof(buf));
				t[k].ns[i] = mono_ns() - t0;
				if (got != t[k].bytes) {
					fprintf(stderr, "secret_read_bench: %s: read %zd bytes, "
					    "first read gave %zd\n", t[k].path, got, t[k].bytes);
					return 1;
				}
				t[k].done++;
			}
		}
	}
	for (size_t k = 0; k < nt; k++) {
		uint64_t sum = 0;
		qsort(t[k].ns, t[k].done, sizeof(uint64_t), cmp_u64);
		for (size_t i = 0; i < t[k].done; i++)
			sum += t[k].ns[i];
		printf("%s n=%zu bytes=%zd p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f "
		    "mean_us=%.1f\n", t[k].label, t[k].done, t[k].bytes,
		    pct(t[k].ns, t[k].done, 0.50), pct(t[k].ns, t[k].done, 0.90),
		    pct(t[k].ns, t[k].done, 0.99), (double)t[k].ns[t[k].done - 1] / 1000.0,
		    (double)sum / (double)t[k].done / 1000.0);
		free(t[k].ns);
	}
	free(t);
	return 0;
}
