/*
 * secretsfs_fuse.c - the FUSE layer of a secrets volume's tree
 * (fuse/secretsfs.h): one flat, read-only directory of regular files, one
 * per entry of the tree, each with its secret's uid, gid and mode.
 * The directory is 0555 root. Nothing else can ever appear in it.
 *
 * No kernel caching of values. Mounted ro, nosuid, nodev, noexec,
 * allow_other and default_permissions (the kernel checks uid, gid and mode,
 * as it would on a disk filesystem). Every open is direct_io without
 * keep_cache, so no byte of a value enters the page cache, and every open
 * comes here and takes the value current at that moment; a read replies
 * with a pointer into the value's locked memory (fuse_reply_buf writes it
 * to /dev/fuse with writev). Names and attributes (size, owner, mode: what
 * the kernel's permission check uses) are cached for CACHE_S at most, and
 * every change invalidates them in the kernel at once
 * (secretsfs_fuse_invalidate: fuse_lowlevel_notify_inval_inode / _entry,
 * from the refresher thread, never from a request): that saves a lookup
 * and a getattr round trip per open, about a third of the requests.
 * Anything that would change the tree fails with EROFS (the ro mount
 * already stops it in the kernel; the handlers are a second line).
 *
 * Audit: every open (volume, secret, version, caller uid, gid and pid from
 * fuse_req_ctx, and its command name) and every denied request; never a
 * value.
 *
 * One thread serves (secretsfs_fuse_run, fuse_session_loop): every request
 * is a memory access. Entries' mutable fields are read under fs->lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "common/log.h"
#include "fuse/secretsfs.h"
#include "fuse/secretsfs_fuse.h"

#define ROOT_INO		FUSE_ROOT_ID
/* Entries and attributes may be cached this long; every change is also
 * invalidated in the kernel at once (notify_inval), so this only bounds a
 * lost invalidation. Contents are never cached (direct_io, and every open
 * comes here and takes the current value). */
#define CACHE_S			1.0

/* ---- attributes --------------------------------------------------------- */

static void
root_attr(struct secretsfs *fs, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ROOT_INO;
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = 2;
	st->st_atim = st->st_mtim = st->st_ctim = fs->started;
}

/* fs->lock held. */
static void
entry_attr_locked(const struct secretsfs_entry *e, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = e->ino;
	st->st_mode = S_IFREG | (e->mode & 07777);
	st->st_nlink = 1;
	st->st_uid = e->uid;
	st->st_gid = e->gid;
	st->st_size = e->cur ? (off_t)e->cur->v.len : 0;
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = e->mtime;
}

static struct secretsfs_entry *
entry_of(struct secretsfs *fs, fuse_ino_t ino)
{
	if (ino < 2 || ino - 2 >= fs->n)
		return NULL;
	return &fs->e[ino - 2];
}

/* ---- FUSE operations ---------------------------------------------------- */

static void
sfs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct secretsfs *fs = userdata;

	/* Nothing of a value may stay in the kernel: no splice (pages
	 * handed over), no writeback cache, no readdir cache. */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE |
	    FUSE_CAP_SPLICE_MOVE | FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_AUTO_INVAL_DATA |
	    FUSE_CAP_CACHE_SYMLINKS);
	log_debug("volume=%s fuse init: proto %u.%u", fs->volume, conn->proto_major,
	    conn->proto_minor);
}

static void
sfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct secretsfs *fs = fuse_req_userdata(req);
	struct fuse_entry_param ep;

	if (parent != ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	for (size_t i = 0; i < fs->n; i++) {
		struct secretsfs_entry *e = &fs->e[i];
		if (strcmp(e->name, name) != 0)
			continue;
		memset(&ep, 0, sizeof(ep));
		pthread_mutex_lock(&fs->lock);
		if (e->state == SECRETSFS_GONE) {
			pthread_mutex_unlock(&fs->lock);
			break;
		}
		entry_attr_locked(e, &ep.attr);
		pthread_mutex_unlock(&fs->lock);
		ep.ino = e->ino;
		ep.attr_timeout = CACHE_S;
		ep.entry_timeout = CACHE_S;
		fuse_reply_entry(req, &ep);
		return;
	}
	/* A negative entry with timeout 0: nothing cached either way. */
	fuse_reply_err(req, ENOENT);
}

static void
sfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);
}

static void
sfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct secretsfs *fs = fuse_req_userdata(req);
	struct secretsfs_entry *e;
	struct stat st;

	(void)fi;
	if (ino == ROOT_INO) {
		root_attr(fs, &st);
		fuse_reply_attr(req, &st, CACHE_S);
		return;
	}
	if ((e = entry_of(fs, ino)) == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	if (e->state == SECRETSFS_GONE) {
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, ENOENT);
		return;
	}
	entry_attr_locked(e, &st);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_attr(req, &st, CACHE_S);
}

/* The caller's command name, for the audit line ("?" if it is gone). */
static const char *
caller_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t k;
	int fd;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return buf;
	k = read(fd, buf, len - 1);
	close(fd);
	if (k <= 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	buf[k] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	for (char *c = buf; *c; c++)	/* keep the log line parseable */
		if (*c == ' ' || *c == '=' || (unsigned char)*c < 0x20)
			*c = '_';
	return buf;
}

static void
sfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct secretsfs *fs = fuse_req_userdata(req);
	const struct fuse_ctx *cx = fuse_req_ctx(req);
	struct secretsfs_entry *e;
	struct secretsfs_value *s;
	enum secretsfs_state state;
	uint32_t version;

	if (ino == ROOT_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((e = entry_of(fs, ino)) == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_APPEND | O_CREAT))) {
		log_warn("denied write open volume=%s secret=%s uid=%u gid=%u pid=%d: "
		    "read-only", fs->volume, e->name, (unsigned)cx->uid, (unsigned)cx->gid,
		    (int)cx->pid);
		fuse_reply_err(req, EROFS);
		return;
	}
	s = secretsfs_get(fs, e, &state, &version);
	if (s == NULL) {
		log_err("denied open volume=%s secret=%s version=%u uid=%u gid=%u pid=%d: %s",
		    fs->volume, e->name, version, (unsigned)cx->uid, (unsigned)cx->gid,
		    (int)cx->pid, state == SECRETSFS_BAD ? "its record failed "
		    "authentication, nothing is served for it" : "the secret was removed");
		fuse_reply_err(req, state == SECRETSFS_BAD ? EIO : ENOENT);
		return;
	}
	atomic_fetch_add(&fs->n_opens, 1);
	if (log_get_level() >= LOG_LEVEL_INFO) {
		char comm[32];
		log_info("open volume=%s secret=%s version=%u uid=%u gid=%u pid=%d comm=%s",
		    fs->volume, e->name, s->v.version, (unsigned)cx->uid,
		    (unsigned)cx->gid, (int)cx->pid, caller_comm(cx->pid, comm, sizeof(comm)));
	}
	fi->fh = (uint64_t)(uintptr_t)s;
	fi->direct_io = 1;	/* never the page cache */
	fi->keep_cache = 0;
	fi->noflush = 1;
	if (fuse_reply_open(req, fi) != 0) {
		/* the caller went away (interrupted): drop the reference */
		secretsfs_put(fs, s);
	}
}

static void
sfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct secretsfs_value *s = (struct secretsfs_value *)(uintptr_t)fi->fh;

	(void)ino;
	if (s == NULL || off < 0) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if ((uint64_t)off >= s->v.len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > s->v.len - (size_t)off)
		size = s->v.len - (size_t)off;
	/* Straight from locked memory to /dev/fuse (writev), no copy. */
	fuse_reply_buf(req, (const char *)s->v.data + off, size);
}

static void
sfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct secretsfs *fs = fuse_req_userdata(req);
	struct secretsfs_value *s = (struct secretsfs_value *)(uintptr_t)fi->fh;

	(void)ino;
	secretsfs_put(fs, s);
	fuse_reply_err(req, 0);
}

static void
sfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void
sfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fi->cache_readdir = 0;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

static void
sfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct secretsfs *fs = fuse_req_userdata(req);
	struct stat st;
	size_t used = 0;
	char *buf;

	(void)fi;
	if (ino != ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if ((buf = malloc(size)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Offsets: 1 ".", 2 "..", 3 + i entry i. */
	for (off_t k = off; k < (off_t)fs->n + 2; k++) {
		const char *name;
		memset(&st, 0, sizeof(st));
		if (k < 2) {
			name = k == 0 ? "." : "..";
			st.st_ino = ROOT_INO;
			st.st_mode = S_IFDIR;
		} else {
			struct secretsfs_entry *e = &fs->e[k - 2];
			bool gone;
			pthread_mutex_lock(&fs->lock);
			gone = e->state == SECRETSFS_GONE;
			pthread_mutex_unlock(&fs->lock);
			if (gone)
				continue;
			name = e->name;
			st.st_ino = e->ino;
			st.st_mode = S_IFREG;
		}
		size_t need = fuse_add_direntry(req, buf + used, size - used, name, &st, k + 1);
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void
sfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void
sfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct secretsfs *fs = fuse_req_userdata(req);
	struct statvfs sv = { .f_bsize = 4096, .f_frsize = 4096,
	    .f_files = fs->n + 1, .f_namemax = NAME_MAX_LEN,
	    .f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC };

	(void)ino;
	fuse_reply_statfs(req, &sv);
}

/* Everything that would change the tree. The ro mount stops these in the
 * kernel already; this is the second line. */
static void
deny(fuse_req_t req, const char *what)
{
	struct secretsfs *fs = fuse_req_userdata(req);
	const struct fuse_ctx *cx = fuse_req_ctx(req);

	log_warn("denied %s volume=%s uid=%u pid=%d: read-only", what, fs->volume,
	    (unsigned)cx->uid, (int)cx->pid);
	fuse_reply_err(req, EROFS);
}

static void
sfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	(void)ino; (void)attr; (void)to_set; (void)fi;
	deny(req, "setattr");
}

static void
sfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)parent; (void)name; (void)mode; (void)rdev;
	deny(req, "mknod");
}

static void
sfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent; (void)name; (void)mode;
	deny(req, "mkdir");
}

static void
sfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent; (void)name;
	deny(req, "unlink");
}

static void
sfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent; (void)name;
	deny(req, "rmdir");
}

static void
sfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link; (void)parent; (void)name;
	deny(req, "symlink");
}

static void
sfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
    const char *newname, unsigned int flags)
{
	(void)parent; (void)name; (void)newparent; (void)newname; (void)flags;
	deny(req, "rename");
}

static void
sfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino; (void)newparent; (void)newname;
	deny(req, "link");
}

static void
sfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	(void)ino; (void)buf; (void)size; (void)off; (void)fi;
	deny(req, "write");
}

static void
sfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
    size_t size, int flags)
{
	(void)ino; (void)name; (void)value; (void)size; (void)flags;
	deny(req, "setxattr");
}

static void
sfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino; (void)name;
	deny(req, "removexattr");
}

static void
sfs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	(void)parent; (void)name; (void)mode; (void)fi;
	deny(req, "create");
}

static void
sfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
    struct fuse_file_info *fi)
{
	(void)ino; (void)mode; (void)off; (void)len; (void)fi;
	deny(req, "fallocate");
}

static const struct fuse_lowlevel_ops sfs_ops = {
	.init		= sfs_init,
	.lookup		= sfs_lookup,
	.forget		= sfs_forget,
	.getattr	= sfs_getattr,
	.setattr	= sfs_setattr,
	.mknod		= sfs_mknod,
	.mkdir		= sfs_mkdir,
	.unlink		= sfs_unlink,
	.rmdir		= sfs_rmdir,
	.symlink	= sfs_symlink,
	.rename		= sfs_rename,
	.link		= sfs_link,
	.open		= sfs_open,
	.read		= sfs_read,
	.write		= sfs_write,
	.flush		= sfs_flush,
	.release	= sfs_release,
	.opendir	= sfs_opendir,
	.readdir	= sfs_readdir,
	.releasedir	= sfs_releasedir,
	.statfs		= sfs_statfs,
	.setxattr	= sfs_setxattr,
	.removexattr	= sfs_removexattr,
	.create		= sfs_create,
	.fallocate	= sfs_fallocate,
};

/* ---- the session -------------------------------------------------------- */

void
secretsfs_fuse_invalidate(struct secretsfs *fs, struct secretsfs_entry *e,
    bool name)
{
	int r;

	r = fuse_lowlevel_notify_inval_inode(fs->se, e->ino, 0, 0);
	if (r < 0 && r != -ENOENT)
		log_warn("volume=%s secret=%s: cannot invalidate the kernel's attributes: "
		    "%s (stale for %.0f s at most)", fs->volume, e->name, strerror(-r),
		    CACHE_S);
	if (name) {
		r = fuse_lowlevel_notify_inval_entry(fs->se, ROOT_INO, e->name,
		    strlen(e->name));
		if (r < 0 && r != -ENOENT)
			log_warn("volume=%s secret=%s: cannot invalidate the kernel's entry: "
			    "%s", fs->volume, e->name, strerror(-r));
	}
}

int
secretsfs_fuse_mount(struct secretsfs *fs, char *err, size_t errlen)
{
	char opts[NAME_MAX_LEN + 160];

	snprintf(opts, sizeof(opts), "ro,nosuid,nodev,noexec,allow_other,"
	    "default_permissions,fsname=cephvol:%s,subtype=cephvol-secrets", fs->volume);
	char *fargv[] = { "cephvol-mount", "-o", opts, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	fs->se = fuse_session_new(&args, &sfs_ops, sizeof(sfs_ops), fs);
	fuse_opt_free_args(&args);
	if (fs->se == NULL) {
		snprintf(err, errlen, "cannot mount secrets volume %s: cannot create a "
		    "fuse session", fs->volume);
		return -EIO;
	}
	if (fuse_session_mount(fs->se, fs->mountpoint) != 0) {
		snprintf(err, errlen, "cannot mount secrets volume %s at %s (see the log "
		    "above)", fs->volume, fs->mountpoint);
		fuse_session_destroy(fs->se);
		fs->se = NULL;
		return -EIO;
	}
	return 0;
}

int
secretsfs_fuse_run(struct secretsfs *fs)
{
	int r;

	r = atomic_load(&fs->stop_asked) ? 0 : fuse_session_loop(fs->se);
	/* EINTR, or anything once asked to stop, is our own stop. */
	if (r < 0 && r != -EINTR && !atomic_load(&fs->stop_asked))
		return r;
	return 0;
}

void
secretsfs_fuse_stop(struct secretsfs *fs)
{
	atomic_store(&fs->stop_asked, true);
	fuse_session_exit(fs->se);
}

void
secretsfs_fuse_unmount(struct secretsfs *fs)
{
	fuse_session_unmount(fs->se);
	fuse_session_destroy(fs->se);
	fs->se = NULL;
}
