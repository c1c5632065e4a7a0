/*
 * test_util.c - common/util.h: sizes, names, integers, edit distance,
 * the file helpers and growing an array. Pure functions, so every edge is
 * checked here rather than through the programs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/unit/harness.h"

static uint64_t
sz(const char *s)
{
	uint64_t v = 0xdeadbeef;

	if (size_parse(s, &v) != 0)
		return UINT64_MAX;
	return v;
}

static void
test_size_parse_units(void)
{
	CHECK_U64(sz("0"), 0);
	CHECK_U64(sz("4097"), 4097);
	CHECK_U64(sz("512b"), 512);
	CHECK_U64(sz("1K"), 1024);
	CHECK_U64(sz("1k"), 1024);
	CHECK_U64(sz("1KB"), 1024);
	CHECK_U64(sz("1KiB"), 1024);
	CHECK_U64(sz("1kib"), 1024);
	CHECK_U64(sz("4M"), 4ull << 20);
	CHECK_U64(sz("4MiB"), 4ull << 20);
	CHECK_U64(sz("10G"), 10737418240ull);
	CHECK_U64(sz("10GB"), 10737418240ull);
	CHECK_U64(sz("1536M"), 1536ull << 20);
	CHECK_U64(sz("2T"), 2ull << 40);
	CHECK_U64(sz("1P"), 1ull << 50);
	CHECK_U64(sz("007"), 7);
}

static void
test_size_parse_rejects(void)
{
	uint64_t v = 42;

	CHECK_ERR(size_parse("", &v), -EINVAL);
	CHECK_ERR(size_parse(NULL, &v), -EINVAL);
	CHECK_ERR(size_parse("G", &v), -EINVAL);
	CHECK_ERR(size_parse("-1", &v), -EINVAL);
	CHECK_ERR(size_parse("+1", &v), -EINVAL);
	CHECK_ERR(size_parse(" 1G", &v), -EINVAL);
	CHECK_ERR(size_parse("1G ", &v), -EINVAL);
	CHECK_ERR(size_parse("1 G", &v), -EINVAL);
	CHECK_ERR(size_parse("1.5G", &v), -EINVAL);
	CHECK_ERR(size_parse("1E", &v), -EINVAL);
	CHECK_ERR(size_parse("1X", &v), -EINVAL);
	CHECK_ERR(size_parse("1GiBs", &v), -EINVAL);
	CHECK_ERR(size_parse("0x10", &v), -EINVAL);
	CHECK_ERR(size_parse("ten", &v), -EINVAL);
	CHECK_U64(v, 42);	/* untouched on error */
}

static void
test_size_parse_overflow(void)
{
	uint64_t v = 42;

	CHECK_OK(size_parse("18446744073709551615", &v));
	CHECK_U64(v, UINT64_MAX);
	CHECK_ERR(size_parse("18446744073709551616", &v), -ERANGE);
	CHECK_ERR(size_parse("99999999999999999999999", &v), -ERANGE);
	CHECK_OK(size_parse("16383P", &v));
	CHECK_U64(v, 16383ull << 50);
	CHECK_ERR(size_parse("16384P", &v), -ERANGE);
	CHECK_OK(size_parse("16777215T", &v));
	CHECK_ERR(size_parse("16777216T", &v), -ERANGE);
	CHECK_ERR(size_parse("17179869184G", &v), -ERANGE);
}

static void
test_size_format(void)
{
	char buf[32];

	CHECK_STR(size_format(0, buf, sizeof(buf)), "0");
	CHECK_STR(size_format(1, buf, sizeof(buf)), "1");
	CHECK_STR(size_format(1023, buf, sizeof(buf)), "1023");
	CHECK_STR(size_format(1024, buf, sizeof(buf)), "1K");
	CHECK_STR(size_format(4097, buf, sizeof(buf)), "4097");
	CHECK_STR(size_format(1536ull << 20, buf, sizeof(buf)), "1536M");
	CHECK_STR(size_format(10ull << 30, buf, sizeof(buf)), "10G");
	CHECK_STR(size_format(1ull << 50, buf, sizeof(buf)), "1P");
	CHECK_STR(size_format(1ull << 60, buf, sizeof(buf)), "1024P");
	CHECK_STR(size_format(UINT64_MAX, buf, sizeof(buf)), "18446744073709551615");
	/* the returned pointer is buf */
	CHECK(size_format(5, buf, sizeof(buf)) == buf);
}

/* size_format's output always parses back to the same number. */
static void
test_size_round_trip(void)
{
	static const uint64_t samples[] = {
		0, 1, 512, 1000, 1024, 4096, 65536, 1 << 20, 3 << 20,
		(1ull << 30) + 1, 10ull << 30, 1ull << 40, 7ull << 50,
		(1ull << 63), UINT64_MAX, UINT64_MAX - 1,
	};
	char buf[32];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		uint64_t back = 0;
		CHECK_OK(size_parse(size_format(samples[i], buf, sizeof(buf)), &back));
		CHECK_U64(back, samples[i]);
	}
	/* and a spread of pseudo-random ones, multiples of powers of 2 */
	for (int i = 0; i < 2000; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		uint64_t v = (x >> (i % 64)) << (i % 53);
		uint64_t back = 0;
		if (size_parse(size_format(v, buf, sizeof(buf)), &back) != 0 ||
		    back != v) {
			CHECK_U64(back, v);
			break;
		}
	}
}

static void
test_name_valid(void)
{
	char name[NAME_MAX_LEN + 2];

	CHECK(name_valid("a"));
	CHECK(name_valid("0"));
	CHECK(name_valid("pgdata"));
	CHECK(name_valid("my-vol_1.data"));
	CHECK(name_valid("A.b-C_d"));
	CHECK(!name_valid(NULL));
	CHECK(!name_valid(""));
	CHECK(!name_valid("."));
	CHECK(!name_valid(".."));
	CHECK(!name_valid(".hidden"));
	CHECK(!name_valid("-x"));
	CHECK(!name_valid("_x"));
	CHECK(!name_valid("a/b"));
	CHECK(!name_valid("a b"));
	CHECK(!name_valid("a:b"));
	CHECK(!name_valid("a@3"));
	CHECK(!name_valid("caf\xc3\xa9"));
	CHECK(!name_valid("a\nb"));

	memset(name, 'a', NAME_MAX_LEN);
	name[NAME_MAX_LEN] = '\0';
	CHECK(name_valid(name));		/* 255 bytes */
	name[NAME_MAX_LEN] = 'a';
	name[NAME_MAX_LEN + 1] = '\0';
	CHECK(!name_valid(name));		/* 256 bytes */
}

static void
test_uint_parse(void)
{
	uint64_t v = 42;

	CHECK_OK(uint_parse("0", 0, 10, &v));
	CHECK_U64(v, 0);
	CHECK_OK(uint_parse("10", 0, 10, &v));
	CHECK_U64(v, 10);
	CHECK_OK(uint_parse("3", 3, 3, &v));
	CHECK_OK(uint_parse("18446744073709551615", 0, UINT64_MAX, &v));
	CHECK_U64(v, UINT64_MAX);
	v = 42;
	CHECK_ERR(uint_parse("11", 0, 10, &v), -ERANGE);
	CHECK_ERR(uint_parse("2", 3, 3600, &v), -ERANGE);
	CHECK_ERR(uint_parse("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	CHECK_ERR(uint_parse("", 0, 10, &v), -EINVAL);
	CHECK_ERR(uint_parse(NULL, 0, 10, &v), -EINVAL);
	CHECK_ERR(uint_parse("-1", 0, 10, &v), -EINVAL);
	CHECK_ERR(uint_parse("+1", 0, 10, &v), -EINVAL);
	CHECK_ERR(uint_parse(" 1", 0, 10, &v), -EINVAL);
	CHECK_ERR(uint_parse("1 ", 0, 10, &v), -EINVAL);
	CHECK_ERR(uint_parse("1s", 0, 10, &v), -EINVAL);
	CHECK_ERR(uint_parse("0x1", 0, 10, &v), -EINVAL);
	CHECK_U64(v, 42);	/* untouched on error */
}

static void
test_edit_distance(void)
{
	CHECK_U64(edit_distance("", ""), 0);
	CHECK_U64(edit_distance("abc", "abc"), 0);
	CHECK_U64(edit_distance("", "abc"), 3);
	CHECK_U64(edit_distance("abc", ""), 3);
	CHECK_U64(edit_distance("kitten", "sitting"), 3);
	CHECK_U64(edit_distance("sitting", "kitten"), 3);
	CHECK_U64(edit_distance("flaw", "lawn"), 2);
	CHECK_U64(edit_distance("ceph.pool", "ceph.polo"), 2);
	CHECK_U64(edit_distance("volume.default_sise", "volume.default_size"), 1);
	CHECK_U64(edit_distance("abc", "acb"), 2);	/* no transpositions */
	/* long strings: at least the length difference, at most the longer */
	char a[200], b[200];
	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[100] = '\0';
	size_t d = edit_distance(a, b);
	CHECK(d >= 99 && d <= 199);
}

static void
test_file_helpers(void)
{
	char path[4200], deep[4200], *text = NULL;
	size_t len = 0;
	struct stat st;

	snprintf(path, sizeof(path), "%s/atomic", harness_tmpdir());
	CHECK_OK(file_write_atomic(path, "hello\n", 6, 0600));
	CHECK_OK(file_read_all(path, &text, &len));
	CHECK_U64(len, 6);
	CHECK_STR(text, "hello\n");
	free(text);
	REQUIRE(stat(path, &st) == 0);
	CHECK_INT(st.st_mode & 07777, 0600);

	/* replacing keeps no .tmp behind and applies the new mode */
	CHECK_OK(file_write_atomic(path, "", 0, 0640));
	CHECK_OK(file_read_all(path, &text, &len));
	CHECK_U64(len, 0);
	CHECK_STR(text, "");
	free(text);
	REQUIRE(stat(path, &st) == 0);
	CHECK_INT(st.st_mode & 07777, 0640);
	snprintf(deep, sizeof(deep), "%s.tmp", path);
	CHECK(access(deep, F_OK) != 0);

	/* a file bigger than the first read buffer */
	char big[10000];
	memset(big, 'z', sizeof(big));
	CHECK_OK(file_write_atomic(path, big, sizeof(big), 0600));
	CHECK_OK(file_read_all(path, &text, &len));
	CHECK_U64(len, sizeof(big));
	CHECK(text && memcmp(text, big, sizeof(big)) == 0 && text[len] == '\0');
	free(text);
	CHECK_OK(unlink(path));

	snprintf(deep, sizeof(deep), "%s/missing", harness_tmpdir());
	CHECK_ERR(file_read_all(deep, &text, &len), -ENOENT);

	snprintf(deep, sizeof(deep), "%s/a/b/c", harness_tmpdir());
	CHECK_OK(mkdir_p(deep, 0700));
	CHECK_OK(mkdir_p(deep, 0700));		/* exists: fine */
	REQUIRE(stat(deep, &st) == 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_ERR(mkdir_p("", 0700), -ENAMETOOLONG);
}

static void
test_array_grow(void)
{
	uint32_t *v = NULL;
	size_t cap = 0;

	for (size_t n = 0; n < 100; n++) {
		REQUIRE(array_grow(&v, &cap, n, sizeof(*v), 8) == 0);
		CHECK(cap > n);
		v[n] = (uint32_t)n;
	}
	CHECK_U64(cap, 128);		/* 8, then doubled */
	for (size_t n = 0; n < 100; n++)
		if (v[n] != n)
			HARNESS_FAIL_("v[%zu] is %u after growing", n, v[n]);
	/* room already: nothing moves */
	uint32_t *was = v;
	CHECK_OK(array_grow(&v, &cap, 100, sizeof(*v), 8));
	CHECK(v == was);
	CHECK_U64(cap, 128);
	/* too big to count: refused, the array untouched */
	CHECK_ERR(array_grow(&v, &cap, 128, SIZE_MAX / 128, 8), -ENOMEM);
	CHECK(v == was);
	CHECK_U64(cap, 128);
	free(v);
}

HARNESS_MAIN(
	CASE(test_size_parse_units),
	CASE(test_size_parse_rejects),
	CASE(test_size_parse_overflow),
	CASE(test_size_format),
	CASE(test_size_round_trip),
	CASE(test_name_valid),
	CASE(test_uint_parse),
	CASE(test_edit_distance),
	CASE(test_file_helpers),
	CASE(test_array_grow),
)
