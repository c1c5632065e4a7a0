/*
 * test_str_escape.c - common/util.h str_escape(): what a client sends, as it
 * may appear in a log line or an Err. Nothing it returns may hold a control
 * byte, a byte over 0x7e or an unescaped quote, whatever the input; it is
 * always NUL-terminated within the buffer and cut only at whole characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tests/unit/harness.h"

static const char *
esc(const char *s, size_t n, size_t len)
{
	static char buf[512];

	memset(buf, 'Z', sizeof(buf));
	return str_escape(buf, len, s, n);
}

static void
test_plain_and_escaped(void)
{
	CHECK_STR(esc("VolumeDriver.Mount", 18, 64), "VolumeDriver.Mount");
	CHECK_STR(esc("", 0, 64), "");
	CHECK_STR(esc(NULL, 0, 64), "");
	CHECK_STR(esc("a\nb", 3, 64), "a\\x0ab");
	CHECK_STR(esc("a\r\n2026-01-01 forged", 20, 64), "a\\x0d\\x0a2026-01-01 forged");
	CHECK_STR(esc("\"q\" \\x0a", 8, 64), "\\x22q\\x22 \\x5cx0a");
	CHECK_STR(esc("\x1b[31m\x7f\xff\xc3\xa9", 9, 64), "\\x1b[31m\\x7f\\xff\\xc3\\xa9");
	/* NUL bytes inside the range are shown, not an end */
	CHECK_STR(esc("/a\0b", 4, 64), "/a\\x00b");
}

static void
test_bounded(void)
{
	char in[300];

	memset(in, 'a', sizeof(in));
	/* exactly fits: no "..." */
	CHECK_STR(esc(in, 7, 8), "aaaaaaa");
	/* one more: cut, marked, within the buffer */
	CHECK_STR(esc(in, 8, 8), "aaaa...");
	CHECK(strlen(esc(in, sizeof(in), 100)) == 99);
	/* an escape is never cut in half */
	CHECK_STR(esc("ab\n\ncd", 6, 10), "ab\\x0a...");
	CHECK_STR(esc("ab\n\ncd", 6, 9), "ab...");
	CHECK_STR(esc("\n\n", 2, 9), "\\x0a\\x0a");
	CHECK_STR(esc("\n\n", 2, 8), "\\x0a...");
	CHECK_STR(esc("\n\n", 2, 7), "...");
	/* tiny buffers still end in NUL */
	CHECK_STR(esc("abc", 3, 1), "");
	CHECK_STR(esc("abcdef", 6, 3), "..");
	CHECK_STR(esc("abc", 3, 4), "abc");
}

static void
test_random_inputs(void)
{
	unsigned seed = (unsigned)time(NULL);
	char in[200], out[128];

	printf("seed %u\n", seed);
	srand(seed);
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)rand() % sizeof(in), len = 1 + (size_t)rand() % sizeof(out);
		for (size_t i = 0; i < n; i++)
			in[i] = (char)(rand() & 0xff);
		memset(out, 'Z', sizeof(out));
		str_escape(out, len, in, n);
		REQUIRE(memchr(out, '\0', len) != NULL);
		for (const char *p = out; *p; p++) {
			unsigned char c = (unsigned char)*p;
			REQUIRE(c >= 0x20 && c < 0x7f && c != '"');
			/* a backslash only ever starts \xNN */
			if (c == '\\')
				REQUIRE(p[1] == 'x' && p[2] && p[3]);
		}
	}
}

HARNESS_MAIN(CASE(test_plain_and_escaped), CASE(test_bounded), CASE(test_random_inputs))
