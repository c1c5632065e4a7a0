/*
 * common/pagepool.h - a fixed region of memory handed out in runs of whole
 * pages, first fit. cephvol-mount's reads and writes live in it, so the bytes
 * of its request buffers are one mapping of a size fixed at start: they can neither grow
 * nor scatter over the heap, whatever the load (see fuse/imagefs.c).
 *
 * Not thread-safe: the caller serialises every call (imagefs holds its
 * budget lock). An allocation that finds no free run returns NULL rather
 * than waiting; the caller decides whether to wait for a free.
 */
#ifndef CEPHVOL_PAGEPOOL_H
#define CEPHVOL_PAGEPOOL_H

#include <stddef.h>

#define PAGEPOOL_PAGE	4096

struct pagepool;

/* A pool of `bytes` (rounded up to whole pages, > 0): 0 or -errno. The
 * memory is mapped now and touched only when first used. */
int	pagepool_create(size_t bytes, struct pagepool **out);
void	pagepool_destroy(struct pagepool *pp);

/* A page-aligned run of at least len bytes (len > 0), or NULL when no free
 * run is long enough now (or len is more than the whole pool). */
void	*pagepool_alloc(struct pagepool *pp, size_t len);
/* Give back what pagepool_alloc(pp, len) returned, with the same len. */
void	pagepool_free(struct pagepool *pp, void *p, size_t len);

/* Give the pages of every free run back to the kernel (they read as zeros
 * and are faulted in again when next used); bytes offered. Not on locked
 * memory (mlock): the caller unlocks first. */
size_t	pagepool_release_free(struct pagepool *pp);
/* The pool's size and the bytes handed out now, in whole pages. */
size_t	pagepool_size(const struct pagepool *pp);
size_t	pagepool_used(const struct pagepool *pp);

#endif
