/*
 * mounts.c - which mounts hold which volume on this host: the mount table.
 *
 * Docker sends Mount/Unmount with an ID that is not the container id and can
 * repeat (docker cp). We count per (volume, ID); the caller detaches only
 * when the volume's total reaches zero. The table is saved to mounts.json
 * (tmp + fsync + rename, file_write_atomic) after each change and loaded at
 * start from that file; hoststate.c then checks it against what is really
 * mounted.
 *
 * A volume gets its entry before it is attached (mounts_begin) and loses it
 * only after it was detached (mounts_forget), so after a crash at any point
 * the file names every volume that may have something attached.
 *
 * Locking: mounts.lock guards the whole table and the file; nothing blocks
 * under it but the file's write. It is never held across a mount: callers
 * run one job per volume at a time (job.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "store/catalog.h"
#include "volplugin/mounts.h"

struct mref {
	struct mref	*next;
	char		*id;		/* owned */
	unsigned	 count;
	struct mounts_owner owner;	/* the dockerd that took it, or 0 */
};

struct mvol {
	struct mvol	*next;
	struct volume_meta meta;	/* owned (labels, secrets) */
	char		*mountpoint;	/* owned */
	pid_t		 helper;	/* cephvol-mount, 0 if unknown */
	struct mref	*refs;
};

struct mounts {
	pthread_mutex_t	 lock;
	char		*path;		/* STATE_DIR/mounts.json, owned */
	struct mvol	*vols;		/* guarded by lock */
};

static struct mvol *
find(struct mounts *mt, const char *name)
{
	for (struct mvol *v = mt->vols; v; v = v->next)
		if (strcmp(v->meta.name, name) == 0)
			return v;
	return NULL;
}

static unsigned
total(const struct mvol *v)
{
	unsigned n = 0;

	for (struct mref *r = v->refs; r; r = r->next)
		n += r->count;
	return n;
}

static void
refs_free(struct mref *r)
{
	struct mref *next;

	for (; r; r = next) {
		next = r->next;
		free(r->id);
		free(r);
	}
}

static void
mvol_free(struct mvol *v)
{
	refs_free(v->refs);
	volume_meta_free(&v->meta);
	free(v->mountpoint);
	free(v);
}

static void
unlink_vol(struct mounts *mt, struct mvol *v)
{
	for (struct mvol **p = &mt->vols; *p; p = &(*p)->next)
		if (*p == v) {
			*p = v->next;
			return;
		}
}

/* The table as JSON; NULL on allocation failure. Called with lock held. */
static json_t *
encode(struct mounts *mt)
{
	json_t *root = json_object(), *vols = json_object();

	if (root == NULL || vols == NULL)
		goto out_nomem;
	json_object_set_new(root, "version", json_integer(1));
	for (struct mvol *v = mt->vols; v; v = v->next) {
		json_t *o = json_object(), *refs = json_object();
		if (o == NULL || refs == NULL) {
			json_decref(o);
			json_decref(refs);
			goto out_nomem;
		}
		for (struct mref *r = v->refs; r; r = r->next)
			json_object_set_new(refs, r->id, json_pack("{s:i, s:i, s:I}",
			    "count", (int)r->count, "owner_pid", (int)r->owner.pid,
			    "owner_start", (json_int_t)r->owner.start));
		json_object_set_new(o, "meta", volume_meta_json(&v->meta));
		json_object_set_new(o, "mountpoint", json_string(v->mountpoint));
		json_object_set_new(o, "helper_pid", json_integer(v->helper));
		json_object_set_new(o, "refs", refs);
		json_object_set_new(vols, v->meta.name, o);
	}
	json_object_set_new(root, "volumes", vols);
	return root;

out_nomem:
	json_decref(vols);
	json_decref(root);
	return NULL;
}

/* Save the table. Called with lock held. */
static int
save(struct mounts *mt)
{
	json_t *j = encode(mt);
	char *text;
	int r;

	if (j == NULL)
		return -ENOMEM;
	text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(j);
	if (text == NULL)
		return -ENOMEM;
	r = file_write_atomic(mt->path, text, strlen(text), 0600);
	free(text);
	if (r < 0)
		log_err("cannot save mount state to %s: %s", mt->path, strerror(-r));
	return r;
}

static int
load(struct mounts *mt, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *vols, *o;
	const char *name;
	char *text;
	size_t len;
	int r;

	r = file_read_all(mt->path, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		snprintf(err, errlen, "cannot read mount state %s: %s", mt->path,
		    strerror(-r));
		return r;
	}
	root = json_loadb(text, len, 0, &je);
	free(text);
	if (root == NULL || !json_is_object(vols = json_object_get(root, "volumes"))) {
		snprintf(err, errlen, "mount state %s is damaged (%s); move it away "
		    "and check mounts under the mount root by hand", mt->path,
		    root ? "no \"volumes\" object" : je.text);
		json_decref(root);
		return -EINVAL;
	}
	json_object_foreach(vols, name, o) {
		struct mvol *v = calloc(1, sizeof(*v));
		json_t *refs = json_object_get(o, "refs"), *cnt;
		const char *id, *mp = json_string_value(json_object_get(o, "mountpoint"));

		if (v == NULL) {
			json_decref(root);
			return -ENOMEM;
		}
		if (volume_meta_from_json(json_object_get(o, "meta"), &v->meta) < 0 ||
		    strcmp(v->meta.name, name) != 0 || mp == NULL || mp[0] != '/' ||
		    (refs && !json_is_object(refs))) {
			snprintf(err, errlen, "mount state %s: the entry of volume "
			    "%.255s is damaged; move the file away and check mounts "
			    "under the mount root by hand", mt->path, name);
			volume_meta_free(&v->meta);
			free(v);
			json_decref(root);
			return -EINVAL;
		}
		v->mountpoint = strdup(mp);
		v->helper = (pid_t)json_integer_value(json_object_get(o, "helper_pid"));
		json_object_foreach(refs, id, cnt) {
			struct mref *rf;
			/* {"count", "owner_pid", "owner_start"}, or a bare count
			 * (an older version's file: owner unknown) */
			json_int_t n = json_is_object(cnt) ?
			    json_integer_value(json_object_get(cnt, "count")) :
			    json_integer_value(cnt);
			if (n <= 0)
				continue;
			rf = calloc(1, sizeof(*rf));
			if (rf == NULL || (rf->id = strdup(id)) == NULL) {
				free(rf);
				continue;
			}
			rf->count = (unsigned)n;
			if (json_is_object(cnt)) {
				rf->owner.pid = (pid_t)json_integer_value(
				    json_object_get(cnt, "owner_pid"));
				rf->owner.start = (uint64_t)json_integer_value(
				    json_object_get(cnt, "owner_start"));
			}
			rf->next = v->refs;
			v->refs = rf;
		}
		v->next = mt->vols;
		mt->vols = v;
	}
	json_decref(root);
	return 0;
}

int
mounts_open(const char *state_dir, struct mounts **out, char *err, size_t errlen)
{
	struct mounts *mt = calloc(1, sizeof(*mt));
	int r;

	if (mt == NULL)
		return -ENOMEM;
	pthread_mutex_init(&mt->lock, NULL);
	if ((r = mkdir_p(state_dir, 0700)) < 0) {
		snprintf(err, errlen, "cannot create state directory %s: %s",
		    state_dir, strerror(-r));
		free(mt);
		return r;
	}
	if (asprintf(&mt->path, "%s/%s", state_dir, MOUNTS_FILE) < 0) {
		free(mt);
		return -ENOMEM;
	}
	if ((r = load(mt, err, errlen)) < 0) {
		mounts_close(mt);
		return r;
	}
	*out = mt;
	return 0;
}

void
mounts_close(struct mounts *mt)
{
	struct mvol *v, *next;

	if (mt == NULL)
		return;
	for (v = mt->vols; v; v = next) {
		next = v->next;
		mvol_free(v);
	}
	pthread_mutex_destroy(&mt->lock);
	free(mt->path);
	free(mt);
}

unsigned
mounts_refs(struct mounts *mt, const char *name)
{
	struct mvol *v;
	unsigned n = 0;

	pthread_mutex_lock(&mt->lock);
	if ((v = find(mt, name)) != NULL)
		n = total(v);
	pthread_mutex_unlock(&mt->lock);
	return n;
}

bool
mounts_has(struct mounts *mt, const char *name)
{
	bool has;

	pthread_mutex_lock(&mt->lock);
	has = find(mt, name) != NULL;
	pthread_mutex_unlock(&mt->lock);
	return has;
}

int
mounts_get(struct mounts *mt, const char *name, struct volume_meta *out,
    char *mountpoint, size_t mplen)
{
	struct mvol *v;
	int r = -ENOENT;

	pthread_mutex_lock(&mt->lock);
	if ((v = find(mt, name)) != NULL) {
		r = out ? volume_meta_copy(&v->meta, out) : 0;
		if (mountpoint)
			snprintf(mountpoint, mplen, "%s", v->mountpoint);
	}
	pthread_mutex_unlock(&mt->lock);
	return r;
}

int
mounts_begin(struct mounts *mt, const struct volume_meta *m, const char *mountpoint)
{
	struct mvol *v;
	int r;

	pthread_mutex_lock(&mt->lock);
	if ((v = find(mt, m->name)) != NULL) {
		pthread_mutex_unlock(&mt->lock);
		return 0;
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL || volume_meta_copy(m, &v->meta) < 0 ||
	    (v->mountpoint = strdup(mountpoint)) == NULL) {
		pthread_mutex_unlock(&mt->lock);
		if (v) {
			volume_meta_free(&v->meta);
			free(v);
		}
		return -ENOMEM;
	}
	v->next = mt->vols;
	mt->vols = v;
	r = save(mt);
	if (r < 0) {
		unlink_vol(mt, v);
		mvol_free(v);
	}
	pthread_mutex_unlock(&mt->lock);
	return r;
}

int
mounts_set_helper(struct mounts *mt, const char *name, pid_t pid)
{
	struct mvol *v;
	int r = -ENOENT;

	pthread_mutex_lock(&mt->lock);
	if ((v = find(mt, name)) != NULL) {
		r = 0;
		if (v->helper != pid) {
			v->helper = pid;
			r = save(mt);
		}
	}
	pthread_mutex_unlock(&mt->lock);
	return r;
}

struct mounts_owner
mounts_owner_of(pid_t pid)
{
	struct mounts_owner o = { 0, 0 };
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return o;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return o;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return o;
	buf[n] = '\0';
	/* after "pid (comm)": state is field 3, starttime field 22 */
	if ((p = strrchr(buf, ')')) == NULL)
		return o;
	char *save = NULL, *tok = strtok_r(p + 1, " ", &save);
	for (int field = 3; tok && field < 22; field++)
		tok = strtok_r(NULL, " ", &save);
	if (tok == NULL)
		return o;
	o.pid = pid;
	o.start = strtoull(tok, NULL, 10);
	return o;
}

/* Is the process that took a reference gone (known, and not running)? */
static bool
owner_gone(const struct mounts_owner *o)
{
	struct mounts_owner now;

	if (o->pid <= 0)
		return false;	/* unknown: assume it lives */
	now = mounts_owner_of(o->pid);
	return now.pid == 0 || now.start != o->start;
}

int
mounts_ref(struct mounts *mt, const char *name, const char *id,
    const struct mounts_owner *owner)
{
	struct mvol *v;
	struct mref *rf;
	int r;

	pthread_mutex_lock(&mt->lock);
	if ((v = find(mt, name)) == NULL) {
		pthread_mutex_unlock(&mt->lock);
		return -ENOENT;
	}
	for (rf = v->refs; rf; rf = rf->next)
		if (strcmp(rf->id, id) == 0)
			break;
	if (rf && owner && owner->pid > 0 && (rf->owner.pid != owner->pid ||
	    rf->owner.start != owner->start) && owner_gone(&rf->owner)) {
		/* a restarted dockerd mounting its running container again */
		struct mounts_owner was = rf->owner;
		rf->owner = *owner;
		r = save(mt);
		if (r < 0)
			rf->owner = was;
		pthread_mutex_unlock(&mt->lock);
		return r < 0 ? r : 1;
	}
	if (rf == NULL) {
		rf = calloc(1, sizeof(*rf));
		if (rf == NULL || (rf->id = strdup(id)) == NULL) {
			free(rf);
			pthread_mutex_unlock(&mt->lock);
			return -ENOMEM;
		}
		rf->next = v->refs;
		v->refs = rf;
		if (owner)
			rf->owner = *owner;
	}
	rf->count++;
	r = save(mt);
	if (r < 0) {
		/* not saved: not taken, so memory and file agree */
		if (--rf->count == 0) {
			for (struct mref **p = &v->refs; *p; p = &(*p)->next)
				if (*p == rf) {
					*p = rf->next;
					break;
				}
			free(rf->id);
			free(rf);
		}
	}
	pthread_mutex_unlock(&mt->lock);
	return r;
}

int
mounts_unref(struct mounts *mt, const char *name, const char *id, unsigned *left)
{
	struct mvol *v;
	struct mref **p, *rf;
	int r;

	*left = 0;
	pthread_mutex_lock(&mt->lock);
	if ((v = find(mt, name)) == NULL) {
		pthread_mutex_unlock(&mt->lock);
		return -ENOENT;
	}
	for (p = &v->refs; (rf = *p) != NULL; p = &rf->next)
		if (strcmp(rf->id, id) == 0)
			break;
	if (rf == NULL) {
		*left = total(v);
		pthread_mutex_unlock(&mt->lock);
		return -ENOENT;
	}
	if (--rf->count == 0) {
		*p = rf->next;
		free(rf->id);
		free(rf);
	}
	*left = total(v);
	/* Dropped in memory even if the save fails: Docker does not retry an
	 * Unmount, so keeping the reference would leak it for good. */
	r = save(mt);
	pthread_mutex_unlock(&mt->lock);
	return r;
}

int
mounts_forget(struct mounts *mt, const char *name)
{
	struct mvol *v;
	int r = 0;

	pthread_mutex_lock(&mt->lock);
	if ((v = find(mt, name)) != NULL) {
		unlink_vol(mt, v);
		mvol_free(v);
		r = save(mt);
	}
	pthread_mutex_unlock(&mt->lock);
	return r;
}

int
mounts_drop_refs(struct mounts *mt, const char *name)
{
	struct mvol *v;
	int r = -ENOENT;

	pthread_mutex_lock(&mt->lock);
	if ((v = find(mt, name)) != NULL) {
		refs_free(v->refs);
		v->refs = NULL;
		r = save(mt);
	}
	pthread_mutex_unlock(&mt->lock);
	return r;
}

/* Entries for which pred holds. */
static unsigned
count(struct mounts *mt, bool (*pred)(const struct mvol *))
{
	unsigned n = 0;

	pthread_mutex_lock(&mt->lock);
	for (struct mvol *v = mt->vols; v; v = v->next)
		n += pred(v);
	pthread_mutex_unlock(&mt->lock);
	return n;
}

static bool
referenced(const struct mvol *v)
{
	return v->refs != NULL;
}

static bool
helper_running(const struct mvol *v)
{
	return v->helper > 0 && kill(v->helper, 0) == 0;
}

unsigned
mounts_count(struct mounts *mt)
{
	return count(mt, referenced);
}

unsigned
mounts_helpers_alive(struct mounts *mt)
{
	return count(mt, helper_running);
}

int
mounts_names(struct mounts *mt, bool idle, char ***names, size_t *n)
{
	size_t cnt = 0;
	char **out;

	*names = NULL;
	*n = 0;
	pthread_mutex_lock(&mt->lock);
	for (struct mvol *v = mt->vols; v; v = v->next)
		cnt += !idle || v->refs == NULL;
	out = calloc(cnt + 1, sizeof(*out));
	if (out == NULL) {
		pthread_mutex_unlock(&mt->lock);
		return -ENOMEM;
	}
	cnt = 0;
	for (struct mvol *v = mt->vols; v; v = v->next)
		if ((!idle || v->refs == NULL) && (out[cnt] = strdup(v->meta.name)) != NULL)
			cnt++;
	pthread_mutex_unlock(&mt->lock);
	*names = out;
	*n = cnt;
	return 0;
}
