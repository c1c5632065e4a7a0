/*
 * fsync_records.c - append fsync'ed, checksummed records to a file, and
 * check them after a crash (tests/integ/mount_crash.sh).
 *
 *	fsync_records write FILE [MAX]	append records 0, 1, 2, ... (up to MAX,
 *					default unbounded), fsync after each and
 *					print "synced N" (N records durable) on
 *					stdout, line-buffered; exits 1 at the
 *					first error (EIO once the server died)
 *	fsync_records check FILE N	every record 0..N-1 is present and
 *					intact; a torn or missing tail after
 *					them is allowed. Prints what it found.
 *	fsync_records run FILE [MAX]	like write, for the fault tests
 *					(tests/integ/fault_*.sh): each line is
 *					"synced N MS" with MS the wall clock in
 *					milliseconds (comparable with `date
 *					+%s%3N`); SIGTERM or SIGINT stop it after
 *					the record in hand: it closes the file,
 *					prints "stopped N LONGEST_MS AT" (the
 *					longest write + fsync and the record it
 *					was) and exits 0. An error is printed on
 *					stderr as "error: ..." and exits 1.
 *
 * A record is RECSZ bytes: magic, sequence number, length, payload made
 * from the sequence number, and a CRC-32 over all of it. Exit 0 ok, 1
 * failure, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECSZ	4096
#define MAGIC	0x43565245u	/* "CVRE" */

struct rec_head {
	uint32_t	magic;
	uint32_t	crc;	/* over the record with crc = 0 */
	uint64_t	seq;
};

static uint32_t crc_table[256];

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t
crc32_buf(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	while (n--)
		c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

static void
rec_fill(unsigned char *buf, uint64_t seq)
{
	struct rec_head h = { .magic = MAGIC, .crc = 0, .seq = seq };
	uint64_t x = seq * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = sizeof(h); i < RECSZ; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	memcpy(buf, &h, sizeof(h));
	h.crc = crc32_buf(buf, RECSZ);
	memcpy(buf, &h, sizeof(h));
}

static int
do_write(const char *file, uint64_t max)
{
	unsigned char buf[RECSZ];
	int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", file, strerror(errno));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (uint64_t seq = 0; max == 0 || seq < max; seq++) {
		rec_fill(buf, seq);
		ssize_t n = write(fd, buf, RECSZ);
		if (n != RECSZ) {
			fprintf(stderr, "write record %" PRIu64 ": %s\n", seq,
			    n < 0 ? strerror(errno) : "short write");
			return 1;
		}
		if (fsync(fd) < 0) {
			fprintf(stderr, "fsync after record %" PRIu64 ": %s\n", seq,
			    strerror(errno));
			return 1;
		}
		printf("synced %" PRIu64 "\n", seq + 1);
	}
	close(fd);
	return 0;
}

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* write, timed and stoppable: see the top of the file */
static int
do_run(const char *file, uint64_t max)
{
	unsigned char buf[RECSZ];
	struct sigaction sa = { .sa_handler = on_stop, .sa_flags = SA_RESTART };
	uint64_t seq, longest = 0, longest_at = 0;
	int fd;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0) {
		fprintf(stderr, "error: open %s: %s\n", file, strerror(errno));
		return 1;
	}
	for (seq = 0; !stopping && (max == 0 || seq < max); seq++) {
		uint64_t t0 = mono_ms(), took;

		rec_fill(buf, seq);
		ssize_t n = write(fd, buf, RECSZ);
		if (n != RECSZ) {
			fprintf(stderr, "error: write record %" PRIu64 " after %" PRIu64
			    " ms: %s\n", seq, mono_ms() - t0,
			    n < 0 ? strerror(errno) : "short write");
			return 1;
		}
		if (fsync(fd) < 0) {
			fprintf(stderr, "error: fsync after record %" PRIu64 " after %"
			    PRIu64 " ms: %s\n", seq, mono_ms() - t0, strerror(errno));
			return 1;
		}
		took = mono_ms() - t0;
		if (took > longest) {
			longest = took;
			longest_at = seq;
		}
		printf("synced %" PRIu64 " %" PRIu64 "\n", seq + 1, wall_ms());
	}
	if (close(fd) < 0) {
		fprintf(stderr, "error: close: %s\n", strerror(errno));
		return 1;
	}
	printf("stopped %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", seq, longest, longest_at);
	return 0;
}

static int
do_check(const char *file, uint64_t want)
{
	unsigned char buf[RECSZ], ref[RECSZ];
	uint64_t seq = 0;
	int fd = open(file, O_RDONLY);

	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", file, strerror(errno));
		return 1;
	}
	for (;; seq++) {
		ssize_t n = pread(fd, buf, RECSZ, (off_t)(seq * RECSZ));
		if (n != RECSZ)
			break;
		rec_fill(ref, seq);
		if (memcmp(buf, ref, RECSZ) != 0)
			break;
	}
	close(fd);
	printf("%" PRIu64 " intact records, %" PRIu64 " were fsync'ed\n", seq, want);
	if (seq < want) {
		fprintf(stderr, "record %" PRIu64 " is missing or damaged, but %" PRIu64
		    " records were fsync'ed\n", seq, want);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	crc_init();
	if (argc >= 3 && strcmp(argv[1], "write") == 0)
		return do_write(argv[2], argc > 3 ? strtoull(argv[3], NULL, 10) : 0);
	if (argc == 4 && strcmp(argv[1], "check") == 0)
		return do_check(argv[2], strtoull(argv[3], NULL, 10));
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "run") == 0)
		return do_run(argv[2], argc > 3 ? strtoull(argv[3], NULL, 10) : 0);
	fprintf(stderr, "usage: fsync_records write FILE [MAX] | check FILE N | "
	    "run FILE [MAX]\n");
	return 2;
}
