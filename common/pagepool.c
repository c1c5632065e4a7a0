/*
 * pagepool.c - a fixed region handed out in runs of whole pages, first fit
 * (see pagepool.h). One bit per page, set while the page is handed out;
 * the bits past the last page are set for good, so a search never runs off
 * the end. First fit keeps small runs low in the region and leaves the long
 * free runs that big reads need at the top.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "common/pagepool.h"

struct pagepool {
	unsigned char	*base;
	size_t		 npages;
	size_t		 used;		/* pages handed out */
	size_t		 nwords;
	uint64_t	*map;		/* bit set = page handed out */
};

int
pagepool_create(size_t bytes, struct pagepool **out)
{
	struct pagepool *pp;

	if (bytes == 0 || bytes > SIZE_MAX - PAGEPOOL_PAGE)
		return -EINVAL;
	pp = calloc(1, sizeof(*pp));
	if (pp == NULL)
		return -ENOMEM;
	pp->npages = (bytes + PAGEPOOL_PAGE - 1) / PAGEPOOL_PAGE;
	pp->nwords = (pp->npages + 63) / 64;
	pp->map = calloc(pp->nwords, sizeof(*pp->map));
	pp->base = mmap(NULL, pp->npages * PAGEPOOL_PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pp->map == NULL || pp->base == MAP_FAILED) {
		if (pp->base != MAP_FAILED)
			munmap(pp->base, pp->npages * PAGEPOOL_PAGE);
		free(pp->map);
		free(pp);
		return -ENOMEM;
	}
	if (pp->npages % 64)
		pp->map[pp->nwords - 1] = ~0ull << (pp->npages % 64);
	*out = pp;
	return 0;
}

void
pagepool_destroy(struct pagepool *pp)
{
	if (pp == NULL)
		return;
	munmap(pp->base, pp->npages * PAGEPOOL_PAGE);
	free(pp->map);
	free(pp);
}

/* The first page at or after i whose bit is `used`, or npages. */
static size_t
next_page(const struct pagepool *pp, size_t i, bool used)
{
	while (i < pp->npages) {
		uint64_t w = used ? pp->map[i / 64] : ~pp->map[i / 64];

		w &= ~0ull << (i % 64);
		if (w) {
			i = (i & ~(size_t)63) + (size_t)__builtin_ctzll(w);
			return i < pp->npages ? i : pp->npages;
		}
		i = (i | 63) + 1;
	}
	return pp->npages;
}

static void
mark(struct pagepool *pp, size_t first, size_t n, bool used)
{
	for (size_t i = first; i < first + n; ) {
		size_t bit = i % 64, len = 64 - bit;
		uint64_t mask;

		if (len > first + n - i)
			len = first + n - i;
		mask = (len == 64 ? ~0ull : ((1ull << len) - 1)) << bit;
		if (used)
			pp->map[i / 64] |= mask;
		else
			pp->map[i / 64] &= ~mask;
		i += len;
	}
}

void *
pagepool_alloc(struct pagepool *pp, size_t len)
{
	size_t n, i, end;

	if (len == 0 || len > pp->npages * PAGEPOOL_PAGE)
		return NULL;
	n = (len + PAGEPOOL_PAGE - 1) / PAGEPOOL_PAGE;
	for (i = next_page(pp, 0, false); i + n <= pp->npages;
	    i = next_page(pp, end, false)) {
		end = next_page(pp, i, true);
		if (end - i >= n) {
			mark(pp, i, n, true);
			pp->used += n;
			return pp->base + i * PAGEPOOL_PAGE;
		}
	}
	return NULL;
}

void
pagepool_free(struct pagepool *pp, void *p, size_t len)
{
	size_t first = (size_t)((unsigned char *)p - pp->base) / PAGEPOOL_PAGE;
	size_t n = (len + PAGEPOOL_PAGE - 1) / PAGEPOOL_PAGE;

	mark(pp, first, n, false);
	pp->used -= n;
}

size_t
pagepool_size(const struct pagepool *pp)
{
	return pp->npages * PAGEPOOL_PAGE;
}

size_t
pagepool_used(const struct pagepool *pp)
{
	return pp->used * PAGEPOOL_PAGE;
}

size_t
pagepool_release_free(struct pagepool *pp)
{
	size_t released = 0, i = 0;

	while (i < pp->npages) {
		size_t j = i;

		while (j < pp->npages && !(pp->map[j / 64] >> (j % 64) & 1))
			j++;
		if (j > i && madvise(pp->base + i * PAGEPOOL_PAGE,
		    (j - i) * PAGEPOOL_PAGE, MADV_DONTNEED) == 0)
			released += (j - i) * PAGEPOOL_PAGE;
		i = j + 1;
	}
	return released;
}
