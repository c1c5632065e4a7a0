/*
 * secretsfs.c - a secrets volume's tree (fuse/secretsfs.h): its FUSE layer,
 * one flat, read-only directory of regular files, one per entry of the
 * tree (below), each with its secret's uid, gid and mode.
 * The directory is 0555 root. Nothing else can ever appear in it.
 *
 * No kernel caching of values. Mounted ro, nosuid, nodev, noexec,
 * allow_other and default_permissions (the kernel checks uid, gid and mode,
 * as it would on a disk filesystem). Every open is direct_io without
 * keep_cache, so no byte of a value enters the page cache, and every open
 * comes here and takes the value current at that moment; a read replies
 * with a pointer into the value's locked memory (fuse_reply_buf writes it
 * to /dev/fuse with writev). Names and attributes (size, owner, mode: what
 * the kernel's permission check uses) are cached for SECRETSFS_CACHE_S at
 * most, and every change invalidates them in the kernel at once
 * (secretsfs_invalidate, fuse_lowlevel_notify_inval_inode / _entry, from
 * the refresher thread, never from a request): that saves a lookup and a
 * getattr round trip per open, about a third of the requests. Anything
 * that would change the tree fails with EROFS (the ro mount already stops
 * it in the kernel; the handlers are a second line).
 *
 * Audit: every open (volume, secret, version, caller uid, gid and pid from
 * fuse_req_ctx, and its command name) and every denied request; never a
 * value.
 *
 * One thread serves (secretsfs_run, fuse_session_loop): every request is a
 * memory access. Entries' mutable fields are read under fs->lock.
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
#include <time.h>
#include <unistd.h>

#include <fuse_lowlevel.h>
#include <sodium.h>

#include "common/log.h"
#include "fuse/secretsfs.h"
#include "store/catalog.h"
#include "store/secretstore.h"

#define ROOT_INO		FUSE_ROOT_ID
#define RETRY_S		2

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
		ep.attr_timeout = SECRETSFS_CACHE_S;
		ep.entry_timeout = SECRETSFS_CACHE_S;
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
		fuse_reply_attr(req, &st, SECRETSFS_CACHE_S);
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
	fuse_reply_attr(req, &st, SECRETSFS_CACHE_S);
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
	s = secretsfs_tree_open(fs, e, &state, &version);
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
		secretsfs_tree_close(fs, s);
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
	secretsfs_tree_close(fs, s);
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
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_files = fs->n + 1;
	sv.f_namemax = NAME_MAX_LEN;
	sv.f_flag = ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC;
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
secretsfs_invalidate(struct secretsfs *fs, struct secretsfs_entry *e, bool name)
{
	int r;

	r = fuse_lowlevel_notify_inval_inode(fs->se, e->ino, 0, 0);
	if (r < 0 && r != -ENOENT)
		log_warn("volume=%s secret=%s: cannot invalidate the kernel's attributes: "
		    "%s (stale for %.0f s at most)", fs->volume, e->name, strerror(-r),
		    SECRETSFS_CACHE_S);
	if (name) {
		r = fuse_lowlevel_notify_inval_entry(fs->se, ROOT_INO, e->name,
		    strlen(e->name));
		if (r < 0 && r != -ENOENT)
			log_warn("volume=%s secret=%s: cannot invalidate the kernel's entry: "
			    "%s", fs->volume, e->name, strerror(-r));
	}
}

int
secretsfs_mount(struct secretsfs *fs, char *err, size_t errlen)
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
secretsfs_run(struct secretsfs *fs)
{
	int r;

	r = atomic_load(&fs->stop_asked) ? 0 : fuse_session_loop(fs->se);
	/* EINTR, or anything once asked to stop, is our own stop. */
	if (r < 0 && r != -EINTR && !atomic_load(&fs->stop_asked))
		return r;
	return 0;
}

void
secretsfs_stop(struct secretsfs *fs)
{
	atomic_store(&fs->stop_asked, true);
	fuse_session_exit(fs->se);
}

void
secretsfs_unmount(struct secretsfs *fs)
{
	fuse_session_unmount(fs->se);
	fuse_session_destroy(fs->se);
	fs->se = NULL;
}

/* ---- the tree --------------------------------------------------------- */

/*
 * Where plaintext lives. Only in sodium_malloc()'d memory (guard pages,
 * mlock'ed, made read-only once filled), handed over by secret_value_get()
 * and never copied: a read replies with a pointer into it (above).
 * Every open file holds a reference on the value it opened (struct
 * secretsfs_value), so a reader sees one version from open to close even
 * across a rotation; a value is wiped (sodium_free) as soon as nothing
 * refers to it: the tree has moved on and the last handle is closed. At
 * exit every value left is wiped, referenced or not.
 *
 * Loading. At start, every granted secret must load and authenticate, or
 * the mount fails with a sentence naming the secret (on the ready fd): half
 * a tree would hide the problem until an application trips on it. Later
 * changes come from the refresher (below) through
 * secretsfs_tree_install() and secretsfs_tree_withdraw().
 */

/* A new value (refs 1, the caller's) that steals v->data. fs->lock held. */
static struct secretsfs_value *
value_new_locked(struct secretsfs *fs, struct secret_value *v)
{
	struct secretsfs_value *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->v = *v;
	memset(v, 0, sizeof(*v));
	if (s->v.data)
		sodium_mprotect_readonly(s->v.data);
	s->refs = 1;
	s->next = fs->vals;
	if (fs->vals)
		fs->vals->prev = s;
	fs->vals = s;
	return s;
}

/* Drop one reference; the last one wipes the value. fs->lock held. */
static void
value_put_locked(struct secretsfs *fs, struct secretsfs_value *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		fs->vals = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->v.data)
		sodium_mprotect_readwrite(s->v.data);
	secret_value_free(&s->v);	/* sodium_free: zeroes, unlocks, unmaps */
	free(s);
}

int
secretsfs_tree_install(struct secretsfs *fs, struct secretsfs_entry *e,
    const struct secret_meta *m, struct secret_value *v)
{
	pthread_mutex_lock(&fs->lock);
	struct secretsfs_value *s = value_new_locked(fs, v);
	if (s == NULL) {
		pthread_mutex_unlock(&fs->lock);
		secret_value_free(v);
		log_err("volume=%s secret=%s: out of memory, keeping version %u",
		    fs->volume, e->name, e->version);
		return -ENOMEM;
	}
	value_put_locked(fs, e->cur);	/* wiped now unless a reader holds it */
	e->cur = s;
	e->state = SECRETSFS_OK;
	e->version = s->v.version;
	e->uid = m->uid;
	e->gid = m->gid;
	e->mode = m->mode;
	clock_gettime(CLOCK_REALTIME, &e->mtime);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

void
secretsfs_tree_withdraw(struct secretsfs *fs, struct secretsfs_entry *e,
    enum secretsfs_state state, uint32_t version)
{
	pthread_mutex_lock(&fs->lock);
	value_put_locked(fs, e->cur);
	e->cur = NULL;
	e->state = state;
	e->version = version;
	clock_gettime(CLOCK_REALTIME, &e->mtime);
	pthread_mutex_unlock(&fs->lock);
}

struct secretsfs_value *
secretsfs_tree_open(struct secretsfs *fs, struct secretsfs_entry *e,
    enum secretsfs_state *state, uint32_t *version)
{
	struct secretsfs_value *s = NULL;

	pthread_mutex_lock(&fs->lock);
	*state = e->state;
	*version = e->version;
	if (e->state == SECRETSFS_OK && e->cur) {
		s = e->cur;
		s->refs++;
	}
	pthread_mutex_unlock(&fs->lock);
	return s;
}

void
secretsfs_tree_close(struct secretsfs *fs, struct secretsfs_value *s)
{
	pthread_mutex_lock(&fs->lock);
	value_put_locked(fs, s);
	pthread_mutex_unlock(&fs->lock);
}

/* Read and authenticate the secret of entry e (named, pinned) for the
 * first time; -errno and a sentence. */
static int
entry_load(struct secretsfs *fs, struct secretsfs_entry *e, char *err,
    size_t errlen)
{
	struct secret_meta m;
	struct secret_value v;
	char why[512];
	uint32_t want;
	int r;

	memset(&m, 0, sizeof(m));
	r = secret_meta_get(fs->st, e->name, &m);
	if (r == -ENOENT) {
		snprintf(err, errlen, "cannot mount secrets volume %s: secret %s does "
		    "not exist", fs->volume, e->name);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "cannot mount secrets volume %s: cannot read "
		    "secret %s: %s", fs->volume, e->name, strerror(-r));
		return r;
	}
	memset(&v, 0, sizeof(v));
	why[0] = '\0';
	want = e->pin ? e->pin : m.latest;
	r = secret_value_get(fs->st, fs->mk, e->name, want, &v, why, sizeof(why));
	if (r == 0 && v.version != want) {
		secret_value_free(&v);
		r = -EBADMSG;
	}
	if (r == -EBADMSG)
		snprintf(err, errlen, "cannot mount secrets volume %s: secret %s version "
		    "%u failed authentication (tampered, swapped or wrong master key)"
		    "%s%s", fs->volume, e->name, want, why[0] ? ": " : "", why);
	else if (r == -ENOENT)
		snprintf(err, errlen, "cannot mount secrets volume %s: secret %s has no "
		    "version %u", fs->volume, e->name, want);
	else if (r < 0)
		snprintf(err, errlen, "cannot mount secrets volume %s: cannot read secret "
		    "%s version %u: %s", fs->volume, e->name, want,
		    why[0] ? why : strerror(-r));
	if (r == 0)
		secretsfs_tree_install(fs, e, &m, &v);
	secret_meta_free(&m);
	return r;
}

int
secretsfs_tree_load(struct secretsfs *fs, char *err, size_t errlen)
{
	size_t n = json_array_size(fs->grants);
	int r;

	if (n == 0) {
		snprintf(err, errlen, "volume %s grants no secrets", fs->volume);
		return -ENOENT;
	}
	fs->e = calloc(n, sizeof(*fs->e));
	if (fs->e == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct secretsfs_entry *e = &fs->e[fs->n];
		const char *g = json_string_value(json_array_get(fs->grants, i));

		if (g == NULL || secret_grant_parse(g, e->name, sizeof(e->name),
		    &e->pin) < 0) {
			snprintf(err, errlen, "volume %s has a bad grant '%s'", fs->volume,
			    g ? g : "?");
			return -EINVAL;
		}
		for (size_t k = 0; k < fs->n; k++)
			if (strcmp(fs->e[k].name, e->name) == 0) {
				snprintf(err, errlen, "volume %s grants secret %s twice",
				    fs->volume, e->name);
				return -EINVAL;
			}
		e->fs = fs;
		e->ino = 2 + fs->n;
		if ((r = entry_load(fs, e, err, errlen)) < 0)
			return r;
		fs->n++;
	}
	return 0;
}

size_t
secretsfs_tree_free(struct secretsfs *fs)
{
	size_t wiped = 0;

	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < fs->n; i++)
		fs->e[i].cur = NULL;
	while (fs->vals) {
		fs->vals->refs = 1;
		value_put_locked(fs, fs->vals);
		wiped++;
	}
	pthread_mutex_unlock(&fs->lock);
	free(fs->e);
	fs->e = NULL;
	fs->n = 0;
	return wiped;
}

/* ---- the refresher ---------------------------------------------------- */

/*
 * Live rotation. Each followed secret is watched (secret_watch, RADOS
 * watch/notify): the callback only marks the entry dirty and wakes the
 * refresher thread, which re-reads the secret's metadata and, when the
 * version moved, fetches and opens the new record outside any lock, then
 * swaps it in (secretsfs_tree_install) and invalidates what the kernel
 * caches of it (secretsfs_invalidate: only from this thread, never on a
 * request's path). Bound: a `cephvol secret update` is visible within a
 * few milliseconds of the notify (measured in
 * tests/integ/secretsfs_rotate.sh); if a notify is lost (watch broken,
 * client reconnect) the periodic re-check (--recheck, default 30 s), which
 * also renews every watch, catches up, so the worst case is the re-check
 * interval. Pinned secrets never move to another version.
 * Owner and mode are authenticated with the record (the store binds them
 * into its associated data), so a change of them is applied only after the
 * value opened again under the new metadata; metadata that changes while
 * it is read is read again.
 *
 * Failures. Every refresh (notify, re-check) opens the record it should
 * serve again, also when the version did not move, so the rule is simple:
 * the tree serves only what authenticates in the store now, the same as a
 * fresh mount would.
 *  - the record we should now serve fails authentication (-EBADMSG:
 *    tampered, swapped, rolled back, wrong key), whether a new version or
 *    the one we serve: our copy is wiped and the file stays listed but
 *    every open fails with EIO, logged as an error on every attempt. We do
 *    not keep serving the last good value: after a rotation the operator
 *    replaced it, possibly because it leaked, and a stale credential
 *    served silently is worse than a loud failure; a damaged current
 *    record would make every new mount fail, and a tree that keeps working
 *    hides that. A record that opens again (repaired, or a new version) is
 *    served again.
 *  - the secret (or the pinned version) was removed: the file disappears.
 *  - anything else (cluster unreachable, timeout): transient, the last
 *    value (authenticated, and still the newest we know) stays, and the
 *    refresh is retried every RETRY_S seconds.
 *  - a followed secret whose latest version goes backwards: refused, the
 *    newer value we hold stays (rollback of the metadata).
 *
 * The volume itself. The tree serves the grants of the volume it was
 * mounted for, and only while that volume exists: if its registration is
 * lost (fuse/secretsfs_server.c calls secretsfs_refresh_revoke), or the
 * periodic re-check finds the volume gone, created again under the same
 * name (another id) or granting something else, every file is withdrawn at
 * once and nothing is served again until it is mounted anew; loudly in the
 * log. A cluster that does not answer changes nothing (the values held
 * stay, as for a rotation).
 */

/* An entry's value changed: the tree, then the kernel's cache of it. */
static void
entry_install(struct secretsfs *fs, struct secretsfs_entry *e,
    const struct secret_meta *m, struct secret_value *v)
{
	if (secretsfs_tree_install(fs, e, m, v) == 0)
		secretsfs_invalidate(fs, e, false);
}

static void
entry_withdraw(struct secretsfs *fs, struct secretsfs_entry *e,
    enum secretsfs_state state, uint32_t version)
{
	secretsfs_tree_withdraw(fs, e, state, version);
	secretsfs_invalidate(fs, e, state == SECRETSFS_GONE);
}

/*
 * Bring e up to date. Returns 0, or -errno for a transient failure that
 * should be retried (the current value stays). See the top of the file
 * for what each failure does.
 */
static int
entry_refresh(struct secretsfs *fs, struct secretsfs_entry *e)
{
	struct secret_meta m;
	struct secret_value v;
	char err[512];
	uint32_t want, have;
	enum secretsfs_state state;
	int r;

	memset(&m, 0, sizeof(m));
	r = secret_meta_get(fs->st, e->name, &m);
	pthread_mutex_lock(&fs->lock);
	have = e->cur ? e->cur->v.version : 0;
	state = e->state;
	pthread_mutex_unlock(&fs->lock);
	if (r == -ENOENT) {
		if (state != SECRETSFS_GONE) {
			log_err("volume=%s secret=%s was removed: its file is withdrawn",
			    fs->volume, e->name);
			entry_withdraw(fs, e, SECRETSFS_GONE, 0);
		}
		return 0;
	}
	if (r < 0) {
		log_warn("volume=%s secret=%s: cannot read its metadata: %s; still serving "
		    "version %u, retrying", fs->volume, e->name, strerror(-r), have);
		return r;
	}
	want = e->pin ? e->pin : m.latest;
	pthread_mutex_lock(&fs->lock);
	bool same_owner = e->uid == m.uid && e->gid == m.gid && e->mode == m.mode;
	pthread_mutex_unlock(&fs->lock);
	bool same = state == SECRETSFS_OK && have == want && same_owner;
	if (state == SECRETSFS_OK && !e->pin && want < have) {
		log_err("volume=%s secret=%s: its latest version went back from %u to %u "
		    "(rolled back metadata?); refused, still serving version %u",
		    fs->volume, e->name, have, want, have);
		secret_meta_free(&m);
		return 0;
	}
	memset(&v, 0, sizeof(v));
	err[0] = '\0';
	r = secret_value_get(fs->st, fs->mk, e->name, want, &v, err, sizeof(err));
	if (r == 0 && v.version != want) {
		secret_value_free(&v);
		r = -EBADMSG;
		snprintf(err, sizeof(err), "asked for version %u, got another", want);
	}
	if (r == 0) {
		/* The owner and mode are authenticated with the record (they
		 * are in its associated data), against the metadata the store
		 * read itself: make sure that was the metadata we hold. */
		struct secret_meta m2;
		memset(&m2, 0, sizeof(m2));
		int r2 = secret_meta_get(fs->st, e->name, &m2);
		bool unchanged = r2 == 0 && m2.uid == m.uid && m2.gid == m.gid &&
		    m2.mode == m.mode && m2.latest == m.latest;
		if (r2 == 0)
			secret_meta_free(&m2);
		if (!unchanged) {
			secret_value_free(&v);
			secret_meta_free(&m);
			log_debug("volume=%s secret=%s changed while being read, again",
			    fs->volume, e->name);
			return -EAGAIN;
		}
	}
	if (r == 0 && same) {
		/* The record we serve still opens: keep our copy. */
		secret_value_free(&v);
		secret_meta_free(&m);
		return 0;
	}
	if (r == 0) {
		entry_install(fs, e, &m, &v);
		if (state == SECRETSFS_OK && have == want)
			log_info("volume=%s secret=%s version %u: owner %u:%u mode %04o "
			    "(authenticated)", fs->volume, e->name, want, (unsigned)m.uid,
			    (unsigned)m.gid, (unsigned)m.mode);
		else if (state == SECRETSFS_OK) {
			atomic_fetch_add(&fs->n_rotations, 1);
			log_info("volume=%s secret=%s rotated: version %u -> %u", fs->volume,
			    e->name, have, want);
		} else
			log_info("volume=%s secret=%s served again: version %u", fs->volume,
			    e->name, want);
	} else if (r == -EBADMSG) {
		atomic_fetch_add(&fs->n_failures, 1);
		log_err("!!! volume=%s secret=%s version %u FAILED AUTHENTICATION (tampered, "
		    "swapped, rolled back or wrong key): %s; nothing is served for it, its "
		    "file fails with EIO !!!", fs->volume, e->name, want,
		    err[0] ? err : strerror(-r));
		entry_withdraw(fs, e, SECRETSFS_BAD, want);
		r = 0;
	} else if (r == -ENOENT) {
		log_err("volume=%s secret=%s version %u no longer exists: its file is "
		    "withdrawn", fs->volume, e->name, want);
		entry_withdraw(fs, e, SECRETSFS_GONE, want);
		r = 0;
	} else {
		log_warn("volume=%s secret=%s: cannot read version %u: %s; still serving "
		    "version %u, retrying", fs->volume, e->name, want,
		    err[0] ? err : strerror(-r), have);
	}
	secret_meta_free(&m);
	return r;
}

/* librados watch callback: note it and wake the refresher, nothing more. */
static void
on_notify(void *arg, const char *name)
{
	struct secretsfs_entry *e = arg;
	struct secretsfs *fs = e->fs;

	(void)name;
	atomic_store(&e->dirty, true);
	pthread_mutex_lock(&fs->lock);
	fs->kick = true;
	pthread_cond_signal(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
}

void
secretsfs_refresh_watch(struct secretsfs *fs)
{
	int r;

	/* Watch before serving, so no update between load and watch is
	 * missed for longer than one re-check: mark all dirty once after. */
	for (size_t i = 0; i < fs->n; i++) {
		struct secretsfs_entry *e = &fs->e[i];
		r = secret_watch(fs->st, e->name, on_notify, e, &e->watch);
		if (r < 0)
			log_warn("volume=%s secret=%s: cannot watch for updates: %s; they "
			    "arrive with the %u s re-check only", fs->volume, e->name,
			    strerror(-r), fs->recheck_s);
		else
			e->watching = true;
		atomic_store(&e->dirty, !e->pin);
	}
	pthread_mutex_lock(&fs->lock);
	fs->kick = true;
	pthread_mutex_unlock(&fs->lock);
}

void
secretsfs_refresh_unwatch(struct secretsfs *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		if (fs->e[i].watching)
			secret_unwatch(fs->st, fs->e[i].watch);
}

/*
 * Renew e's watch: a new one first, then drop the old, so there is no gap.
 * A watch that lapsed (OSD restart, client reconnect, blocklist) stops
 * notifications silently; renewing at every periodic re-check puts the
 * millisecond path back within one interval.
 */
static void
entry_rewatch(struct secretsfs *fs, struct secretsfs_entry *e)
{
	uint64_t h;
	int r = secret_watch(fs->st, e->name, on_notify, e, &h);

	if (r < 0) {
		log_warn("volume=%s secret=%s: cannot renew its watch: %s", fs->volume,
		    e->name, strerror(-r));
		return;
	}
	if (e->watching)
		secret_unwatch(fs->st, e->watch);
	e->watch = h;
	e->watching = true;
}

void
secretsfs_refresh_revoke(struct secretsfs *fs, const char *why)
{
	pthread_mutex_lock(&fs->lock);
	if (!atomic_exchange(&fs->revoked, true))
		snprintf(fs->revoked_why, sizeof(fs->revoked_why), "%s", why);
	fs->kick = true;
	pthread_cond_signal(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
}

/* Is the volume still the one we serve? Revoke if not; a cluster that does
 * not answer changes nothing. */
static void
volume_recheck(struct secretsfs *fs)
{
	struct volume_meta vm;
	int r;

	memset(&vm, 0, sizeof(vm));
	r = catalog_get(fs->st, fs->volume, &vm);
	if (r == -ENOENT)
		secretsfs_refresh_revoke(fs, "the volume no longer exists");
	else if (r == 0 && strcmp(vm.id, fs->id) != 0)
		secretsfs_refresh_revoke(fs, "the volume was removed and created again "
		    "(another id)");
	else if (r == 0 && !json_equal(vm.secrets, fs->grants))
		secretsfs_refresh_revoke(fs, "the volume's grants changed");
	else if (r < 0)
		log_warn("volume=%s: cannot re-read the volume: %s; still serving",
		    fs->volume, strerror(-r));
	if (r == 0)
		volume_meta_free(&vm);
}

/* Withdraw every file, once. */
static void
withdraw_all(struct secretsfs *fs)
{
	char why[256];

	if (fs->withdrawn)
		return;
	fs->withdrawn = true;
	pthread_mutex_lock(&fs->lock);
	snprintf(why, sizeof(why), "%s", fs->revoked_why);
	pthread_mutex_unlock(&fs->lock);
	log_err("!!! secrets volume=%s (id %s): %s; every secret is withdrawn and "
	    "nothing is served until it is mounted again !!!", fs->volume, fs->id,
	    why);
	for (size_t i = 0; i < fs->n; i++)
		entry_withdraw(fs, &fs->e[i], SECRETSFS_GONE, 0);
}

static void
ts_after(struct timespec *ts, unsigned s)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += s;
}

static bool
ts_passed(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec ||
	    (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

static void *
refresher_main(void *arg)
{
	struct secretsfs *fs = arg;
	struct timespec next_check, retry_at;
	bool all = false, retrying = false;

	ts_after(&next_check, fs->recheck_s);
	pthread_mutex_lock(&fs->lock);
	for (;;) {
		while (!fs->stop && !fs->kick) {
			const struct timespec *until = retrying &&
			    retry_at.tv_sec < next_check.tv_sec ? &retry_at : &next_check;
			if (ts_passed(until))
				break;
			pthread_cond_timedwait(&fs->cond, &fs->lock, until);
		}
		if (fs->stop)
			break;
		fs->kick = false;
		if (ts_passed(&next_check)) {
			all = true;
			ts_after(&next_check, fs->recheck_s);
		}
		pthread_mutex_unlock(&fs->lock);

		if (all && !atomic_load(&fs->revoked))
			volume_recheck(fs);
		if (atomic_load(&fs->revoked)) {
			withdraw_all(fs);
			all = false;
			retrying = false;
			pthread_mutex_lock(&fs->lock);
			continue;
		}

		if (all)
			for (size_t i = 0; i < fs->n; i++)
				entry_rewatch(fs, &fs->e[i]);
		bool failed = false;
		for (size_t i = 0; i < fs->n; i++) {
			struct secretsfs_entry *e = &fs->e[i];
			bool dirty = atomic_exchange(&e->dirty, false);
			if (!all && !dirty && !retrying)
				continue;
			if (entry_refresh(fs, e) < 0) {
				atomic_store(&e->dirty, true);
				failed = true;
			}
		}
		all = false;
		retrying = failed;
		if (failed)
			ts_after(&retry_at, RETRY_S);

		pthread_mutex_lock(&fs->lock);
	}
	pthread_mutex_unlock(&fs->lock);
	return NULL;
}

int
secretsfs_refresh_start(struct secretsfs *fs)
{
	int r = pthread_create(&fs->refresher, NULL, refresher_main, fs);

	return -r;
}

void
secretsfs_refresh_stop(struct secretsfs *fs)
{
	pthread_mutex_lock(&fs->lock);
	fs->stop = true;
	pthread_cond_signal(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
	pthread_join(fs->refresher, NULL);
}
