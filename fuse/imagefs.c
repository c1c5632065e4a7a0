/*
 * imagefs.c - a block image (store/image.h) served as one regular file,
 * FUSEDIR/image (HELPER_IMAGE_FILE), for a loop device with direct I/O.
 *
 * Design. Low-level FUSE API, multithreaded (fuse_loop_cfg, FUSE_USE_VERSION
 * 312). A read or write callback takes a buffer, submits an image request
 * and returns at once; the reply is sent from the image's completion (a
 * librados callback thread). So a handful of receiving threads keep many
 * requests in flight, and the kernel's cap on them, max_background (the
 * loop's direct I/O arrives as background requests), is raised from 12 to
 * 64. Writes are write-through: a write is answered only when RADOS has
 * acknowledged it. flush waits for every write in flight (image_flush);
 * fsync has nothing to wait for (ifs_fsync). fallocate(PUNCH_HOLE or
 * ZERO_RANGE) is an image discard: a discarded range reads as zeros, which
 * ZERO_RANGE asks for.
 *
 * Memory. Every request's bytes live in a run of pages of one fixed region
 * (common/pagepool.h) as big as the byte budget: a read lands there, and
 * a write is copied there from the receiving thread's buffer, which libfuse
 * reuses for the next request as soon as we return. The image keeps a
 * write's buffer until the write completes, because a write held while
 * the lease is unconfirmed is sent again from it (store/image.h). So our
 * buffers can neither grow past the budget nor scatter over the heap that
 * librados's buffers churn through. Requests in flight are
 * bounded in number (max_inflight) and in bytes (inflight_bytes), and a
 * read or write also needs a free run in the region: a callback that would exceed
 * any of these waits for completions, which come from librados threads,
 * never from ours, so the wait always ends (with nothing in flight the
 * region is empty and the budget is whole). With the process's memory
 * locked on fault (imagefs_server.c) this keeps RSS flat under any load.
 *
 * Fencing. imagefs_fence() (lease lost) makes every later request fail
 * with the given error before it reaches the image; the image's own fence
 * does the same one layer below and fails what it holds or has in flight.
 * While the lease is only unconfirmed (a stalled cluster), the image holds
 * requests and nothing here changes: they complete late, not in error.
 *
 * Locking: fs->lock guards the budget (inflight, inflight_bytes) and the
 * buffer region; `fenced`, `stop_asked` and the counters are
 * atomics. Never hold fs->lock across an image call or a FUSE reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "common/log.h"
#include "common/pagepool.h"
#include "fuse/imagefs.h"
#include "fuse/qos.h"
#include "host/helperproto.h"
#include "store/image.h"

#define ROOT_INO	FUSE_ROOT_ID
#define FILE_INO	2
#define ATTR_TIMEOUT	60.0

struct imagefs {
	struct image		*img;		/* borrowed */
	_Atomic uint64_t	 size;		/* grows online (imagefs_set_size) */
	char			*volume;	/* owned */
	char			*fusedir;	/* owned */
	struct fuse_session	*se;
	struct qos		*qos;		/* the volume's limits */
	unsigned		 max_threads, max_background, max_inflight;
	size_t			 max_bytes;

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* budget freed, or drained */
	unsigned		 inflight;	/* lock */
	size_t			 inflight_bytes;/* lock */
	struct pagepool		*bufs;	/* lock; max_bytes of request buffers */

	atomic_int		 fenced;	/* 0 or -errno */
	atomic_bool		 stop_asked;

	_Atomic uint64_t	 n_reads, n_writes, n_discards, n_flushes, n_errors;
	_Atomic uint64_t	 b_read, b_written;
	atomic_uint		 max_seen;
};

/* One request in flight: the image request and what the reply needs. */
struct ifs_req {
	struct image_io	 io;		/* first: io.arg is not needed */
	struct imagefs	*fs;
	fuse_req_t	 req;
	enum { OP_READ, OP_WRITE, OP_DISCARD } op;
	void		*buf;		/* ours: read or write bytes, or NULL */
	size_t		 buflen;	/* buf's size, as allocated */
	bool		 pooled;	/* buf is from fs->bufs, else malloc */
	size_t		 charge;	/* bytes counted against the budget */
};

/* ---- the in-flight budget and read buffers ----------------------------- */

/* Wait for room for r (its charge, and for a read or write a buffer of
 * io.len bytes), then count it. A request bigger than the whole budget, or
 * than the region, goes alone; 0 or -ENOMEM. */
static int
budget_take(struct imagefs *fs, struct ifs_req *r)
{
	size_t len = r->io.len;

	r->buflen = len;
	r->pooled = r->op != OP_DISCARD && len <= pagepool_size(fs->bufs);
	pthread_mutex_lock(&fs->lock);
	for (;;) {
		bool room = fs->inflight == 0 || (fs->inflight < fs->max_inflight &&
		    fs->inflight_bytes + r->charge <= fs->max_bytes);
		if (room && r->pooled)
			r->buf = pagepool_alloc(fs->bufs, len);
		/* Cannot happen (with nothing in flight the region is
		 * empty), but never wait when nobody will wake us. */
		if (room && r->pooled && r->buf == NULL && fs->inflight == 0)
			r->pooled = false;
		if (room && (!r->pooled || r->buf))
			break;
		pthread_cond_wait(&fs->cond, &fs->lock);
	}
	fs->inflight++;
	fs->inflight_bytes += r->charge;
	unsigned n = fs->inflight;
	pthread_mutex_unlock(&fs->lock);
	unsigned seen = atomic_load(&fs->max_seen);
	while (n > seen && !atomic_compare_exchange_weak(&fs->max_seen, &seen, n))
		;
	if (r->op != OP_DISCARD && !r->pooled &&
	    posix_memalign(&r->buf, PAGEPOOL_PAGE, len) != 0) {
		r->buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Give back a request's buffer and budget; wake waiters. */
static void
req_finish(struct ifs_req *r)
{
	struct imagefs *fs = r->fs;

	pthread_mutex_lock(&fs->lock);
	if (r->buf && r->pooled)
		pagepool_free(fs->bufs, r->buf, r->buflen);
	fs->inflight--;
	fs->inflight_bytes -= r->charge;
	pthread_cond_broadcast(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
	if (!r->pooled)
		free(r->buf);
	free(r);
}

/* ---- completions (librados threads) ------------------------------------ */

static void
io_done(struct image_io *io, int res)
{
	struct ifs_req *r = (struct ifs_req *)io;
	struct imagefs *fs = r->fs;
	int fenced = atomic_load(&fs->fenced);

	/* A request that completed after the lease was lost still counts
	 * as failed: its result must not be trusted as durable. */
	if (res == 0 && fenced < 0 && r->op != OP_READ)
		res = fenced;
	if (res < 0) {
		atomic_fetch_add(&fs->n_errors, 1);
		log_err("volume=%s %s off=%" PRIu64 " len=%zu failed: %s", fs->volume,
		    r->op == OP_READ ? "read" : r->op == OP_WRITE ? "write" : "discard",
		    io->off, io->len, strerror(-res));
		fuse_reply_err(r->req, -res);
	} else if (r->op == OP_READ) {
		atomic_fetch_add(&fs->b_read, io->len);
		fuse_reply_buf(r->req, r->buf, io->len);
	} else if (r->op == OP_WRITE) {
		atomic_fetch_add(&fs->b_written, io->len);
		fuse_reply_write(r->req, io->len);
	} else
		fuse_reply_err(r->req, 0);
	req_finish(r);
}

/* Submit r (budget taken); on a submit error reply and finish here. */
static void
submit(struct ifs_req *r)
{
	struct imagefs *fs = r->fs;
	int fenced = atomic_load(&fs->fenced);
	int res;

	r->io.done = io_done;
	r->io.arg = r;
	if (fenced < 0)
		res = fenced;
	else if (r->op == OP_READ)
		res = image_submit_read(fs->img, &r->io);
	else if (r->op == OP_WRITE)
		res = image_submit_write(fs->img, &r->io);
	else
		res = image_submit_discard(fs->img, &r->io);
	if (res < 0) {
		atomic_fetch_add(&fs->n_errors, 1);
		log_err("volume=%s cannot submit %s off=%" PRIu64 " len=%zu: %s",
		    fs->volume, r->op == OP_READ ? "read" : r->op == OP_WRITE ?
		    "write" : "discard", r->io.off, r->io.len, strerror(-res));
		fuse_reply_err(r->req, -res);
		req_finish(r);
	}
}

/* A new request; a read or write gets a buffer of len bytes. NULL when
 * there is no memory for it, and req is then answered with ENOMEM. */
static struct ifs_req *
req_new(struct imagefs *fs, fuse_req_t req, int op, uint64_t off, size_t len)
{
	struct ifs_req *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	r->fs = fs;
	r->req = req;
	r->op = op;
	r->io.off = off;
	r->io.len = len;
	/* a write's bytes are held by librados until RADOS acknowledges */
	r->charge = op == OP_DISCARD ? 0 : len;
	if (budget_take(fs, r) < 0) {
		req_finish(r);
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	r->io.buf = r->buf;
	return r;
}

/* ---- FUSE operations --------------------------------------------------- */

static void
fill_attr(struct imagefs *fs, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	if (ino == ROOT_INO) {
		st->st_mode = S_IFDIR | 0700;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = (off_t)fs->size;
		st->st_blksize = 4096;
		st->st_blocks = (blkcnt_t)(fs->size / 512);
	}
}

static void
ifs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct imagefs *fs = userdata;

	conn->max_background = fs->max_background;
	conn->congestion_threshold = fs->max_background * 3 / 4;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	/* No page cache games: the loop does direct I/O. */
	conn->want &= ~(FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_SPLICE_READ |
	    FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE | FUSE_CAP_WRITEBACK_CACHE);
	log_info("volume=%s fuse init: max_write=%u max_background=%u async_dio=%s",
	    fs->volume, conn->max_write, conn->max_background,
	    (conn->want & FUSE_CAP_ASYNC_DIO) ? "on" : "off");
}

static void
ifs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct imagefs *fs = fuse_req_userdata(req);
	struct fuse_entry_param e;

	if (parent != ROOT_INO || strcmp(name, HELPER_IMAGE_FILE) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = FILE_INO;
	e.attr_timeout = ATTR_TIMEOUT;
	e.entry_timeout = ATTR_TIMEOUT;
	fill_attr(fs, FILE_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void
ifs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct imagefs *fs = fuse_req_userdata(req);
	struct stat st;

	(void)fi;
	if (ino != ROOT_INO && ino != FILE_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(fs, ino, &st);
	fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

static void
ifs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	struct imagefs *fs = fuse_req_userdata(req);
	struct stat st;

	(void)fi;
	/* The size is the volume's; only a no-op truncate is accepted. */
	if ((to_set & FUSE_SET_ATTR_SIZE) && (ino != FILE_INO ||
	    (uint64_t)attr->st_size != fs->size)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fill_attr(fs, ino, &st);
	fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

static void
ifs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != FILE_INO) {
		fuse_reply_err(req, ino == ROOT_INO ? EISDIR : ENOENT);
		return;
	}
	if (fi->flags & O_TRUNC) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fi->direct_io = 1;	/* never the page cache: write-through */
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

static void
ifs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct imagefs *fs = fuse_req_userdata(req);
	struct ifs_req *r;

	(void)ino;
	(void)fi;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off >= fs->size || size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > fs->size - (uint64_t)off)
		size = (size_t)(fs->size - (uint64_t)off);
	atomic_fetch_add(&fs->n_reads, 1);
	qos_wait(fs->qos, false, size);
	if ((r = req_new(fs, req, OP_READ, (uint64_t)off, size)) != NULL)
		submit(r);
}

static void
ifs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	struct imagefs *fs = fuse_req_userdata(req);
	struct ifs_req *r;

	(void)ino;
	(void)fi;
	if (off < 0 || (uint64_t)off >= fs->size || size > fs->size - (uint64_t)off) {
		fuse_reply_err(req, off < 0 ? EINVAL : (uint64_t)off >= fs->size ?
		    ENOSPC : EFBIG);
		return;
	}
	if (size == 0) {
		fuse_reply_write(req, 0);
		return;
	}
	atomic_fetch_add(&fs->n_writes, 1);
	qos_wait(fs->qos, true, size);
	if ((r = req_new(fs, req, OP_WRITE, (uint64_t)off, size)) == NULL)
		return;
	/* buf is the receiving thread's and is reused once we return; the
	 * image keeps ours until the write completes */
	memcpy(r->buf, buf, size);
	submit(r);
}

static int
do_flush(struct imagefs *fs)
{
	int fenced = atomic_load(&fs->fenced), r;

	atomic_fetch_add(&fs->n_flushes, 1);
	if (fenced < 0)
		return fenced;
	r = image_flush(fs->img);
	if (r == 0 && (fenced = atomic_load(&fs->fenced)) < 0)
		r = fenced;
	if (r < 0)
		log_err("volume=%s flush failed: %s", fs->volume, strerror(-r));
	return r;
}

static void
ifs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, -do_flush(fuse_req_userdata(req)));
}

/*
 * fsync has nothing to make durable: the file is direct I/O only and a write
 * is answered once RADOS has acknowledged it, so every write the kernel saw
 * complete is already on the cluster (what a cache flush promises). So the
 * first fsync is answered ENOSYS, which the kernel takes as success and
 * remembers for the connection: later ones (a journaling filesystem's cache
 * flushes, through the loop device) return at once without a trip here. On
 * xfs, whose log writes carry a flush before and after, that is two trips
 * through FUSE saved per commit (8 KiB overwrite + fdatasync, PostgreSQL's
 * log: p50 0.81 ms against 1.05, docs/design.md). A fenced image fails it
 * instead; writes after the fence fail in any case, and with them the
 * fsync that waits on them.
 */
static void
ifs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct imagefs *fs = fuse_req_userdata(req);
	int fenced = atomic_load(&fs->fenced);

	(void)ino;
	(void)datasync;
	(void)fi;
	atomic_fetch_add(&fs->n_flushes, 1);
	fuse_reply_err(req, fenced < 0 ? -fenced : ENOSYS);
}

static void
ifs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void
ifs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
    struct fuse_file_info *fi)
{
	struct imagefs *fs = fuse_req_userdata(req);
	struct ifs_req *r;

	(void)fi;
	if (ino != FILE_INO || off < 0 || len <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((uint64_t)off >= fs->size || (uint64_t)len > fs->size - (uint64_t)off) {
		/* KEEP_SIZE beyond the end is a no-op; growing is not allowed */
		if ((mode & FALLOC_FL_KEEP_SIZE) && (uint64_t)off < fs->size)
			len = (off_t)(fs->size - (uint64_t)off);
		else if (mode & FALLOC_FL_KEEP_SIZE) {
			fuse_reply_err(req, 0);
			return;
		} else {
			fuse_reply_err(req, EFBIG);
			return;
		}
	}
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (!(mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))) {
		/* Allocation: the image is thin, every byte is already there. */
		fuse_reply_err(req, atomic_load(&fs->fenced) < 0 ? EIO : 0);
		return;
	}
	atomic_fetch_add(&fs->n_discards, 1);
	qos_wait(fs->qos, true, 0);	/* an operation; no bytes move */
	if ((r = req_new(fs, req, OP_DISCARD, (uint64_t)off, (size_t)len)) != NULL)
		submit(r);
}

static void
ifs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fuse_reply_open(req, fi);
}

static void
ifs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct imagefs *fs = fuse_req_userdata(req);
	static const char *const names[] = { ".", "..", HELPER_IMAGE_FILE };
	char buf[512];
	size_t used = 0;
	struct stat st;

	(void)fi;
	if (ino != ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (size > sizeof(buf))
		size = sizeof(buf);
	for (off_t i = off; i < 3; i++) {
		fill_attr(fs, i == 2 ? FILE_INO : ROOT_INO, &st);
		size_t n = fuse_add_direntry(req, buf + used, size - used, names[i],
		    &st, i + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static void
ifs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct imagefs *fs = fuse_req_userdata(req);
	struct statvfs sv = { .f_bsize = 4096, .f_frsize = 4096,
	    .f_blocks = fs->size / 4096, .f_files = 2, .f_namemax = 255 };

	(void)ino;
	fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops ifs_ops = {
	.init		= ifs_init,
	.lookup		= ifs_lookup,
	.getattr	= ifs_getattr,
	.setattr	= ifs_setattr,
	.open		= ifs_open,
	.read		= ifs_read,
	.write		= ifs_write,
	.flush		= ifs_flush,
	.fsync		= ifs_fsync,
	.release	= ifs_release,
	.fallocate	= ifs_fallocate,
	.opendir	= ifs_opendir,
	.readdir	= ifs_readdir,
	.statfs		= ifs_statfs,
};

/* ---- life cycle -------------------------------------------------------- */

int
imagefs_create(const struct imagefs_params *p, struct imagefs **out, char *err,
    size_t errlen)
{
	struct imagefs *fs;
	char fsname[320];
	int r;

	fs = calloc(1, sizeof(*fs));
	if (fs == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	fs->img = p->img;
	fs->size = p->size;
	fs->volume = strdup(p->volume);
	fs->fusedir = strdup(p->fusedir);
	fs->max_threads = p->max_threads ? p->max_threads : 4;
	fs->max_background = p->max_background ? p->max_background : 64;
	fs->max_inflight = p->max_inflight ? p->max_inflight : 64;
	fs->max_bytes = p->inflight_bytes ? p->inflight_bytes : (12u << 20);
	if ((fs->qos = qos_new()) == NULL)
		r = -ENOMEM;
	else
		r = pagepool_create(fs->max_bytes, &fs->bufs);
	if (r == 0 && p->qos != NULL)
		qos_set(fs->qos, p->qos);
	if (r < 0) {
		snprintf(err, errlen, "cannot map %zu bytes for request buffers: %s",
		    fs->max_bytes, strerror(-r));
		qos_free(fs->qos);
		free(fs->volume);
		free(fs->fusedir);
		free(fs);
		return r;
	}
	pthread_mutex_init(&fs->lock, NULL);
	pthread_cond_init(&fs->cond, NULL);

	snprintf(fsname, sizeof(fsname), "fsname=cephvol:%s,subtype=cephvol", p->volume);
	char *argv[] = { "cephvol-mount", "-o", fsname, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	fs->se = fuse_session_new(&args, &ifs_ops, sizeof(ifs_ops), fs);
	fuse_opt_free_args(&args);
	if (fs->se == NULL) {
		snprintf(err, errlen, "cannot create a fuse session");
		r = -EIO;
		goto out_free;
	}
	if (fuse_session_mount(fs->se, fs->fusedir) != 0) {
		snprintf(err, errlen, "cannot mount fuse at %s (see the log above)",
		    fs->fusedir);
		r = -EIO;
		goto out_destroy_session;
	}
	*out = fs;
	return 0;

out_destroy_session:
	fuse_session_destroy(fs->se);
out_free:
	pthread_cond_destroy(&fs->cond);
	pthread_mutex_destroy(&fs->lock);
	pagepool_destroy(fs->bufs);
	free(fs->volume);
	free(fs->fusedir);
	free(fs);
	return r;
}

int
imagefs_run(struct imagefs *fs)
{
	struct fuse_loop_config *lc;
	int r;

	lc = fuse_loop_cfg_create();
	if (lc == NULL)
		return -ENOMEM;
	fuse_loop_cfg_set_max_threads(lc, fs->max_threads);
	/* Keep every worker: with fewer idle ones allowed, libfuse ends and
	 * starts threads all the time under load (48 new ones in 4 s of
	 * sequential writes), each with a fresh 1 MiB receive buffer to fault
	 * in, lock and unmap again. */
	fuse_loop_cfg_set_idle_threads(lc, fs->max_threads);
	fuse_loop_cfg_set_clone_fd(lc, 0);
	if (atomic_load(&fs->stop_asked))
		fuse_session_exit(fs->se);
	r = fuse_session_loop_mt(fs->se, lc);
	fuse_loop_cfg_destroy(lc);
	/* A signal number (our own stop) is a normal end. */
	return r < 0 ? r : 0;
}

void
imagefs_stop(struct imagefs *fs)
{
	atomic_store(&fs->stop_asked, true);
	qos_release(fs->qos);	/* no worker waits on a limit any more */
	fuse_session_exit(fs->se);
}

void
imagefs_set_qos(struct imagefs *fs, const struct volume_qos *qos)
{
	qos_set(fs->qos, qos);
}

void
imagefs_fence(struct imagefs *fs, int err)
{
	int zero = 0;

	atomic_compare_exchange_strong(&fs->fenced, &zero, err < 0 ? err : -EIO);
}

int
imagefs_drain(struct imagefs *fs)
{
	pthread_mutex_lock(&fs->lock);
	while (fs->inflight > 0)
		pthread_cond_wait(&fs->cond, &fs->lock);
	pthread_mutex_unlock(&fs->lock);
	return do_flush(fs);
}

void
imagefs_destroy(struct imagefs *fs)
{
	if (fs == NULL)
		return;
	fuse_session_unmount(fs->se);
	fuse_session_destroy(fs->se);
	pagepool_destroy(fs->bufs);
	qos_free(fs->qos);
	pthread_cond_destroy(&fs->cond);
	pthread_mutex_destroy(&fs->lock);
	free(fs->volume);
	free(fs->fusedir);
	free(fs);
}

size_t
imagefs_release_idle(struct imagefs *fs)
{
	size_t released = 0;

	pthread_mutex_lock(&fs->lock);
	if (fs->inflight == 0)
		released = pagepool_release_free(fs->bufs);
	pthread_mutex_unlock(&fs->lock);
	return released;
}

int
imagefs_set_size(struct imagefs *fs, uint64_t size)
{
	int r;

	if (size < fs->size)
		return -EINVAL;
	fs->size = size;
	/* the kernel keeps the file's attributes ATTR_TIMEOUT: drop them */
	r = fuse_lowlevel_notify_inval_inode(fs->se, FILE_INO, 0, 0);
	return r == -ENOENT ? 0 : r;	/* -ENOENT: nothing cached */
}

void
imagefs_get_stats(struct imagefs *fs, struct imagefs_stats *out)
{
	out->reads = atomic_load(&fs->n_reads);
	out->writes = atomic_load(&fs->n_writes);
	out->discards = atomic_load(&fs->n_discards);
	out->flushes = atomic_load(&fs->n_flushes);
	out->errors = atomic_load(&fs->n_errors);
	out->bytes_read = atomic_load(&fs->b_read);
	out->bytes_written = atomic_load(&fs->b_written);
	out->max_inflight_seen = atomic_load(&fs->max_seen);
}

