/*
 * fuse/imagefs.h - a block image served as one regular file,
 * HELPER_IMAGE_FILE (host/helperproto.h), in a private FUSE mount
 * (low-level API, multithreaded), for a loop device with direct I/O to sit
 * on. See fuse/imagefs.c for the design.
 */
#ifndef CEPHVOL_IMAGEFS_H
#define CEPHVOL_IMAGEFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/volopts.h"

struct image;
struct imagefs;

struct imagefs_params {
	struct image	*img;		/* borrowed; must outlive the imagefs */
	uint64_t	 size;		/* bytes, the file's size */
	const char	*volume;	/* for logs and fsname */
	const char	*fusedir;	/* where to mount */
	unsigned	 max_threads;	/* FUSE worker threads, 0 = default 4 */
	unsigned	 max_background;/* kernel in-flight cap, 0 = default 64 */
	unsigned	 max_inflight;	/* requests in flight to RADOS, 0 = 64 */
	size_t		 inflight_bytes;/* bytes in flight, 0 = 12 MiB */
	const struct volume_qos *qos;	/* its I/O limits (copied), or NULL */
};

/* Create the session and mount it on fusedir. *out is new: imagefs_destroy(). */
int	imagefs_create(const struct imagefs_params *p, struct imagefs **out,
	    char *err, size_t errlen);
/* Serve until the mount goes away or imagefs_stop(); 0 or -errno. */
int	imagefs_run(struct imagefs *fs);
/*
 * Make imagefs_run() return (from any thread, not a signal handler). Its
 * thread may sleep in sem_wait(3) until a worker ends: the caller must also
 * interrupt it (a signal whose handler has no SA_RESTART) until it returns.
 */
void	imagefs_stop(struct imagefs *fs);
/* Every later read, write, discard and flush fails with err (lease lost). */
void	imagefs_fence(struct imagefs *fs, int err);
/* Wait until nothing is in flight, then flush the image: 0 or -errno. */
int	imagefs_drain(struct imagefs *fs);
/* Unmount (if still mounted) and free. Call imagefs_drain() first. */
void	imagefs_destroy(struct imagefs *fs);

/* Counters, for logs. */
struct imagefs_stats {
	uint64_t	reads, writes, discards, flushes, errors;
	uint64_t	bytes_read, bytes_written;
	unsigned	max_inflight_seen;
};
/* Nothing in flight: the request region's pages go back to the kernel
 * (the caller has unlocked its memory); bytes offered, 0 when busy. */
size_t	imagefs_release_idle(struct imagefs *fs);
/* New I/O limits (fuse/qos.h), from the next request on. */
void	imagefs_set_qos(struct imagefs *fs, const struct volume_qos *qos);
/* The file grows to size bytes (the image grew first): grow only, 0 or
 * -errno; the kernel is told to forget the size it cached. */
int	imagefs_set_size(struct imagefs *fs, uint64_t size);
void	imagefs_get_stats(struct imagefs *fs, struct imagefs_stats *out);

#endif
