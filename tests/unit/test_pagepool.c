/*
 * test_pagepool.c - common/pagepool.h: runs of whole pages from a fixed
 * region, first fit. The edges by hand, then a long random sequence
 * checked against a plain array of page owners.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "common/pagepool.h"
#include "tests/unit/harness.h"

#define PG	PAGEPOOL_PAGE

static void
test_pagepool_create_rejects(void)
{
	struct pagepool *pp = NULL;

	CHECK_ERR(pagepool_create(0, &pp), -EINVAL);
	CHECK_ERR(pagepool_create(SIZE_MAX, &pp), -EINVAL);
	CHECK(pp == NULL);
}

static void
test_pagepool_basic(void)
{
	struct pagepool *pp;
	unsigned char *a, *b, *c;

	REQUIRE(pagepool_create(3 * PG + 1, &pp) == 0);	/* rounds up: 4 pages */
	CHECK_U64(pagepool_size(pp), 4 * PG);
	CHECK(pagepool_alloc(pp, 0) == NULL);
	CHECK(pagepool_alloc(pp, 4 * PG + 1) == NULL);
	a = pagepool_alloc(pp, 1);
	b = pagepool_alloc(pp, PG + 1);			/* two pages */
	REQUIRE(a != NULL && b != NULL);
	CHECK(((uintptr_t)a % PG) == 0);
	CHECK(b == a + PG);
	CHECK_U64(pagepool_used(pp), 3 * PG);
	memset(a, 1, PG);
	memset(b, 2, 2 * PG);
	CHECK(pagepool_alloc(pp, 2 * PG) == NULL);	/* one page left */
	c = pagepool_alloc(pp, PG);
	CHECK(c == b + 2 * PG);
	CHECK(pagepool_alloc(pp, 1) == NULL);		/* full */
	pagepool_free(pp, a, 1);
	pagepool_free(pp, c, PG);
	CHECK(pagepool_alloc(pp, 2 * PG) == NULL);	/* free but not adjacent */
	pagepool_free(pp, b, PG + 1);
	CHECK_U64(pagepool_used(pp), 0);
	a = pagepool_alloc(pp, 4 * PG);			/* the whole pool */
	CHECK(a != NULL);
	pagepool_free(pp, a, 4 * PG);
	pagepool_destroy(pp);
}

/* Runs that cross 64-page words, in a pool that ends inside a word. */
static void
test_pagepool_word_edges(void)
{
	struct pagepool *pp;
	unsigned char *a, *b, *c;

	REQUIRE(pagepool_create(130 * PG, &pp) == 0);
	a = pagepool_alloc(pp, 60 * PG);
	b = pagepool_alloc(pp, 70 * PG);		/* pages 60..129 */
	REQUIRE(a != NULL && b != NULL);
	CHECK(b == a + 60 * PG);
	CHECK(pagepool_alloc(pp, 1) == NULL);
	pagepool_free(pp, a, 60 * PG);
	c = pagepool_alloc(pp, 61 * PG);
	CHECK(c == NULL);
	c = pagepool_alloc(pp, 60 * PG);
	CHECK(c == a);
	pagepool_free(pp, b, 70 * PG);
	pagepool_free(pp, c, 60 * PG);
	CHECK_U64(pagepool_used(pp), 0);
	pagepool_destroy(pp);
}

/* Random allocations and frees against a model: every run handed out is
 * inside the pool, overlaps no other, and an allocation fails only when
 * the model has no free run that long. */
static void
test_pagepool_random_model(void)
{
	enum { NPAGES = 200, SLOTS = 40 };
	struct pagepool *pp;
	unsigned char *base;
	int owner[NPAGES];
	struct { unsigned char *p; size_t len; } slot[SLOTS];
	uint64_t seed = 42;

	REQUIRE(pagepool_create(NPAGES * PG, &pp) == 0);
	base = pagepool_alloc(pp, NPAGES * PG);
	REQUIRE(base != NULL);
	pagepool_free(pp, base, NPAGES * PG);
	memset(owner, -1, sizeof(owner));
	memset(slot, 0, sizeof(slot));
	for (int step = 0; step < 20000; step++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		int s = (int)((seed >> 33) % SLOTS);
		if (slot[s].p) {
			size_t first = (size_t)(slot[s].p - base) / PG;
			for (size_t i = 0; i < (slot[s].len + PG - 1) / PG; i++)
				owner[first + i] = -1;
			pagepool_free(pp, slot[s].p, slot[s].len);
			slot[s].p = NULL;
			continue;
		}
		size_t len = 1 + (size_t)((seed >> 17) % (24 * PG));
		size_t n = (len + PG - 1) / PG, run = 0, best = 0;
		for (int i = 0; i < NPAGES; i++) {
			run = owner[i] < 0 ? run + 1 : 0;
			best = run > best ? run : best;
		}
		unsigned char *p = pagepool_alloc(pp, len);
		if (p == NULL) {
			CHECK(best < n);
			continue;
		}
		size_t first = (size_t)(p - base) / PG;
		REQUIRE((size_t)(p - base) % PG == 0 && first + n <= NPAGES);
		for (size_t i = 0; i < n; i++) {
			CHECK(owner[first + i] < 0);
			owner[first + i] = s;
		}
		slot[s].p = p;
		slot[s].len = len;
	}
	for (int s = 0; s < SLOTS; s++)
		if (slot[s].p)
			pagepool_free(pp, slot[s].p, slot[s].len);
	CHECK_U64(pagepool_used(pp), 0);
	pagepool_destroy(pp);
}

HARNESS_MAIN(CASE(test_pagepool_create_rejects), CASE(test_pagepool_basic),
    CASE(test_pagepool_word_edges), CASE(test_pagepool_random_model))
