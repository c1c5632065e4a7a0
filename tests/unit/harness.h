/*
 * tests/unit/harness.h - a tiny unit test harness, header only.
 *
 * A test binary is one .c file (tests/unit/NAME.c -> build/tests/unit/NAME):
 *
 *	#include "tests/unit/harness.h"
 *
 *	static void
 *	test_size_parse(void)
 *	{
 *		uint64_t v;
 *		CHECK_OK(size_parse("10G", &v));
 *		CHECK_U64(v, 10ull << 30);
 *		CHECK_ERR(size_parse("ten", &v), -EINVAL);
 *	}
 *
 *	HARNESS_MAIN(CASE(test_size_parse), CASE(test_other))
 *
 * A CHECK that fails prints file:line and what differed, and the case goes
 * on (so one run shows every difference); REQUIRE stops the case. The
 * binary runs every case (or those named on its command line), prints
 * "ok NAME" / "FAIL NAME" per case and a summary, and exits 0 if all passed,
 * 1 otherwise (2 for an unknown case name). Cases run in one process, in
 * order: a case must not depend on another's leftovers.
 */
#ifndef CEPHVOL_TEST_HARNESS_H
#define CEPHVOL_TEST_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct harness_case {
	const char	*name;
	void		(*fn)(void);
};

/* Failures in the running case; reset per case. */
static unsigned harness_failures;
/* Temp dir for the binary (under $TMPDIR), made on first use. */
static char harness_tmp[4096];

#define CASE(fn)	{ #fn, fn }

#define HARNESS_FAIL_(...) do {						\
	fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);		\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	harness_failures++;						\
} while (0)

/* CHECK(cond): cond must hold. */
#define CHECK(cond) do {						\
	if (!(cond))							\
		HARNESS_FAIL_("CHECK(%s) failed", #cond);		\
} while (0)

/* REQUIRE(cond): cond must hold, else the case stops here. */
#define REQUIRE(cond) do {						\
	if (!(cond)) {							\
		HARNESS_FAIL_("REQUIRE(%s) failed", #cond);		\
		return;							\
	}								\
} while (0)

/* Integers, compared as int64_t / uint64_t, both values printed. */
#define CHECK_INT(got, want) do {					\
	int64_t g_ = (int64_t)(got), w_ = (int64_t)(want);		\
	if (g_ != w_)							\
		HARNESS_FAIL_("%s is %" PRId64 ", want %" PRId64 " (%s)",\
		    #got, g_, w_, #want);				\
} while (0)

#define CHECK_U64(got, want) do {					\
	uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);		\
	if (g_ != w_)							\
		HARNESS_FAIL_("%s is %" PRIu64 ", want %" PRIu64 " (%s)",\
		    #got, g_, w_, #want);				\
} while (0)

/* A call returning 0 / -errno: CHECK_OK wants 0, CHECK_ERR a given -errno. */
#define CHECK_OK(call) do {						\
	int r_ = (call);						\
	if (r_ != 0)							\
		HARNESS_FAIL_("%s returned %d (%s), want 0", #call, r_,	\
		    strerror(r_ < 0 ? -r_ : r_));			\
} while (0)

#define CHECK_ERR(call, want) do {					\
	int r_ = (call), w_ = (want);					\
	if (r_ != w_)							\
		HARNESS_FAIL_("%s returned %d (%s), want %d (%s)", #call,\
		    r_, r_ ? strerror(r_ < 0 ? -r_ : r_) : "success",	\
		    w_, strerror(w_ < 0 ? -w_ : w_));			\
} while (0)

/* Strings; NULL prints as (null). */
#define CHECK_STR(got, want) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if (g_ == NULL || w_ == NULL ? g_ != w_ : strcmp(g_, w_) != 0)	\
		HARNESS_FAIL_("%s is \"%s\", want \"%s\"", #got,	\
		    g_ ? g_ : "(null)", w_ ? w_ : "(null)");		\
} while (0)

/* needle occurs in haystack. */
#define CHECK_CONTAINS(haystack, needle) do {				\
	const char *h_ = (haystack), *n_ = (needle);			\
	if (h_ == NULL || strstr(h_, n_) == NULL)			\
		HARNESS_FAIL_("%s does not contain \"%s\": \"%s\"",	\
		    #haystack, n_, h_ ? h_ : "(null)");			\
} while (0)

/*
 * A fresh directory for this binary, removed at exit if empty of
 * subdirectories (cases remove their own files). Returns an absolute path.
 */
__attribute__((unused)) static const char *
harness_tmpdir(void)
{
	if (harness_tmp[0] == '\0') {
		const char *base = getenv("TMPDIR");
		snprintf(harness_tmp, sizeof(harness_tmp), "%s/unit.XXXXXX",
		    base && *base ? base : "/tmp");
		if (mkdtemp(harness_tmp) == NULL) {
			perror("mkdtemp");
			exit(1);
		}
	}
	return harness_tmp;
}

/* Write text to DIR/name (in harness_tmpdir()); returns the path (static). */
__attribute__((unused)) static const char *
harness_file(const char *name, const char *text)
{
	static char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", harness_tmpdir(), name);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	return path;
}

static void
harness_cleanup(void)
{
	char cmd[4200];

	if (harness_tmp[0] == '\0')
		return;
	/* The dir holds only files written by harness_file(). */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", harness_tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", harness_tmp);
}

static double
harness_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
harness_run(const struct harness_case *cases, size_t n, int argc, char **argv)
{
	unsigned failed = 0, ran = 0;
	double t0 = harness_now();

	for (int a = 1; a < argc; a++) {
		bool known = false;
		for (size_t i = 0; i < n; i++)
			known |= strcmp(argv[a], cases[i].name) == 0;
		if (!known) {
			fprintf(stderr, "%s: no case named %s\n", argv[0], argv[a]);
			return 2;
		}
	}
	atexit(harness_cleanup);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < n; i++) {
		if (argc > 1) {
			bool want = false;
			for (int a = 1; a < argc; a++)
				want |= strcmp(argv[a], cases[i].name) == 0;
			if (!want)
				continue;
		}
		double t = harness_now();
		harness_failures = 0;
		cases[i].fn();
		fflush(stderr);
		ran++;
		if (harness_failures) {
			failed++;
			printf("FAIL %s (%u failed checks)\n", cases[i].name,
			    harness_failures);
		} else {
			printf("ok   %s (%.3fs)\n", cases[i].name, harness_now() - t);
		}
	}
	printf("%u cases, %u passed, %u failed (%.2fs)\n", ran, ran - failed,
	    failed, harness_now() - t0);
	return failed ? 1 : 0;
}

#define HARNESS_MAIN(...)						\
int main(int argc, char **argv);					\
int									\
main(int argc, char **argv)						\
{									\
	static const struct harness_case cases_[] = { __VA_ARGS__ };	\
	return harness_run(cases_, sizeof(cases_) / sizeof(cases_[0]),	\
	    argc, argv);						\
}

#endif
