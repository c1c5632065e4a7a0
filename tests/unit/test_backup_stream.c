/*
 * test_backup_stream.c - the rbd diff v1 / rbd image v2 streams
 * (store/backup_stream.c): what the writer produces is what the reader
 * gives back, byte for byte in the layout Ceph's rbd uses (checked against
 * fixed bytes taken from a real `rbd export-diff` stream); a stream cut at
 * any byte, or with any single byte of its header changed, is either
 * refused with an offset or read as records that stay inside the image.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store/backup_stream.h"
#include "tests/unit/harness.h"

static char err[1024];

/* A memory file holding what the writer wrote. */
static int
write_stream(enum backup_format f, const char *from, size_t *len)
{
	struct stream_out w;
	static unsigned char data[8192];
	int fd = memfd_create("stream", 0);

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 1);
	if (fd < 0 || stream_out_begin(&w, fd, f, from, "s2", 1 << 20, 1 << 22) < 0 ||
	    stream_out_data(&w, 4096, data, sizeof(data)) < 0 ||
	    stream_out_zero(&w, 65536, 8192) < 0 || stream_out_end(&w) < 0)
		return -1;
	*len = (size_t)w.bytes;
	stream_out_free(&w);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Read every record of fd: 0 at REC_DONE, or the error. */
static int
read_all(int fd, unsigned *records, uint64_t *data_bytes)
{
	struct stream_in r;
	struct stream_record rec;
	unsigned char buf[3000];
	int e;

	*records = 0;
	*data_bytes = 0;
	if ((e = stream_in_begin(&r, fd, NULL, err, sizeof(err))) < 0)
		goto out;
	for (;;) {
		if ((e = stream_in_next(&r, &rec, err, sizeof(err))) < 0)
			break;
		(*records)++;
		if (rec.type == REC_DONE)
			break;
		if (rec.type == REC_DATA || rec.type == REC_ZERO) {
			/* the reader's promise: inside the image */
			if (rec.off + rec.len > r.size || rec.off + rec.len < rec.off) {
				e = -ERANGE;
				break;
			}
		}
		if (rec.type == REC_DATA) {
			long n;
			while ((n = stream_in_data(&r, buf, sizeof(buf), err,
			    sizeof(err))) > 0)
				*data_bytes += (uint64_t)n;
			if (n < 0) {
				e = (int)n;
				break;
			}
		}
	}
out:
	stream_in_free(&r);
	return e;
}

static void
test_diff_v1_layout(void)
{
	size_t len;
	int fd = write_stream(BACKUP_DIFF_V1, "s1", &len);
	unsigned char b[64];

	REQUIRE(fd >= 0);
	REQUIRE(pread(fd, b, sizeof(b), 0) == (ssize_t)sizeof(b));
	/* banner, 'f' le32 2 "s1", 't' le32 2 "s2", 's' le64 1 MiB, 'w' ... */
	CHECK(memcmp(b, "rbd diff v1\nf\x02\0\0\0s1t\x02\0\0\0s2s\0\0\x10\0\0\0\0\0w", 36) == 0);
	/* 'w' le64 4096 le64 8192 */
	CHECK(memcmp(b + 36, "\0\x10\0\0\0\0\0\0\0\x20\0\0\0\0\0\0", 16) == 0);
	/* ... data, 'z' le64 65536 le64 8192, 'e' */
	CHECK_U64(len, 12 + 7 + 7 + 9 + 17 + 8192 + 17 + 1);
	REQUIRE(pread(fd, b, 18, (off_t)len - 18) == 18);
	CHECK(memcmp(b, "z\0\0\x01\0\0\0\0\0\0\x20\0\0\0\0\0\0e", 18) == 0);
	close(fd);
}

static void
test_image_v2_layout(void)
{
	size_t len;
	int fd = write_stream(BACKUP_IMAGE_V2, NULL, &len);
	unsigned char b[256];

	REQUIRE(fd >= 0);
	REQUIRE(pread(fd, b, sizeof(b), 0) == (ssize_t)sizeof(b));
	CHECK(memcmp(b, "rbd image v2\nO\x08\0\0\0\0\0\0\0\x16", 23) == 0);
	/* after the metadata: 'E', the diffs banner, 2 diffs, the first */
	CHECK(memcmp(b + 13 + 4 * 17, "Erbd image diffs v2\n\x02\0\0\0\0\0\0\0rbd diff v2\nt"
	    "\x06\0\0\0\0\0\0\0\x02\0\0\0s2p\x08\0\0\0\0\0\0\0\0s\x08", 66) == 0);
	close(fd);
}

static void
test_round_trip(void)
{
	enum backup_format fmts[] = { BACKUP_DIFF_V1, BACKUP_IMAGE_V2 };

	for (unsigned k = 0; k < 2; k++) {
		size_t len;
		unsigned recs;
		uint64_t data;
		int fd = write_stream(fmts[k], k == 0 ? "s1" : NULL, &len);
		REQUIRE(fd >= 0);
		CHECK_OK(read_all(fd, &recs, &data));
		CHECK_U64(data, 8192);
		/* v1: f t s w z e done; v2: t s w z e, f s e, done */
		CHECK_INT(recs, k == 0 ? 7 : 9);
		close(fd);
	}
}

/* Cut at every byte: refused, never a crash or a record outside. */
static void
test_cut_anywhere(void)
{
	size_t len;
	int fd = write_stream(BACKUP_IMAGE_V2, NULL, &len);
	unsigned char *all = malloc(len);

	REQUIRE(fd >= 0 && all != NULL);
	REQUIRE(pread(fd, all, len, 0) == (ssize_t)len);
	for (size_t cut = 0; cut < len; cut += cut < 300 ? 1 : 509) {
		int c = memfd_create("cut", 0);
		unsigned recs;
		uint64_t data;
		REQUIRE(write(c, all, cut) == (ssize_t)cut);
		lseek(c, 0, SEEK_SET);
		CHECK_ERR(read_all(c, &recs, &data), -EINVAL);
		close(c);
	}
	free(all);
	close(fd);
}

/* Any one header byte changed: an error, or records inside the image. */
static void
test_flip_header(void)
{
	enum backup_format fmts[] = { BACKUP_DIFF_V1, BACKUP_IMAGE_V2 };

	for (unsigned k = 0; k < 2; k++) {
		size_t len;
		int fd = write_stream(fmts[k], k == 0 ? "s1" : NULL, &len);
		unsigned char *all = malloc(len);
		REQUIRE(fd >= 0 && all != NULL);
		REQUIRE(pread(fd, all, len, 0) == (ssize_t)len);
		for (size_t at = 0; at < 160; at++)
			for (unsigned v = 0; v < 256; v += 37) {
				int c = memfd_create("flip", 0);
				unsigned recs;
				uint64_t data;
				unsigned char save = all[at];
				all[at] = (unsigned char)(save ^ (v | 1));
				REQUIRE(write(c, all, len) == (ssize_t)len);
				all[at] = save;
				lseek(c, 0, SEEK_SET);
				int e = read_all(c, &recs, &data);
				CHECK(e == 0 || e == -EINVAL);
				close(c);
			}
		free(all);
		close(fd);
	}
}

static void
test_not_a_stream(void)
{
	int fd = memfd_create("x", 0);
	unsigned recs;
	uint64_t data;

	REQUIRE(write(fd, "hello world\n", 12) == 12);
	lseek(fd, 0, SEEK_SET);
	CHECK_ERR(read_all(fd, &recs, &data), -EINVAL);
	CHECK_CONTAINS(err, "not an rbd backup stream");
	close(fd);
}

/* rbd 16.2 writes 'p' with length 8 and one byte; read it that way. */
static void
test_protection_quirk(void)
{
	static const unsigned char s[] =
	    "rbd image v2\nE" "rbd image diffs v2\n" "\x01\0\0\0\0\0\0\0"
	    "rbd diff v2\n" "t\x06\0\0\0\0\0\0\0\x02\0\0\0s1"
	    "p\x08\0\0\0\0\0\0\0\x01" "s\x08\0\0\0\0\0\0\0\0\x10\0\0\0\0\0\0" "e";
	int fd = memfd_create("p", 0);
	unsigned recs;
	uint64_t data;

	REQUIRE(write(fd, s, sizeof(s) - 1) == (ssize_t)sizeof(s) - 1);
	lseek(fd, 0, SEEK_SET);
	CHECK_OK(read_all(fd, &recs, &data));
	CHECK_INT(recs, 4);	/* t s e done */
	close(fd);
}

HARNESS_MAIN(CASE(test_diff_v1_layout), CASE(test_image_v2_layout),
    CASE(test_round_trip), CASE(test_cut_anywhere), CASE(test_flip_header),
    CASE(test_not_a_stream), CASE(test_protection_quirk))
