/*
 * secretsfs.c - what a secrets volume's tree serves: one entry per
 * grant of the volume (catalog_get: "name" follows the latest version,
 * "name@N" pins version N), each a regular file with its secret's uid, gid
 * and mode, and the plaintext values behind them. See fuse/secretsfs.h for
 * the files around it and the lock.
 *
 * Where plaintext lives. Only in sodium_malloc()'d memory (guard pages,
 * mlock'ed, made read-only once filled), handed over by secret_value_get()
 * and never copied: a read replies with a pointer into it
 * (fuse/secretsfs_fuse.c).
 * Every open file holds a reference on the value it opened (struct
 * secretsfs_value), so a reader sees one version from open to close even
 * across a rotation; a value is wiped (sodium_free) as soon as nothing
 * refers to it: the tree has moved on and the last handle is closed. At
 * exit every value left is wiped, referenced or not.
 *
 * Loading. At start, every granted secret must load and authenticate, or
 * the mount fails with a sentence naming the secret (on the ready fd): half
 * a tree would hide the problem until an application trips on it. Later
 * changes come from the refresher (fuse/secretsfs_refresh.c) through
 * secretsfs_install() and secretsfs_withdraw().
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/log.h"
#include "fuse/secretsfs.h"
#include "store/secret_grant.h"

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
secretsfs_install(struct secretsfs *fs, struct secretsfs_entry *e,
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
secretsfs_withdraw(struct secretsfs *fs, struct secretsfs_entry *e,
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
secretsfs_get(struct secretsfs *fs, struct secretsfs_entry *e,
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
secretsfs_put(struct secretsfs *fs, struct secretsfs_value *s)
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
		secretsfs_install(fs, e, &m, &v);
	secret_meta_free(&m);
	return r;
}

int
secretsfs_load(struct secretsfs *fs, char *err, size_t errlen)
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
secretsfs_free(struct secretsfs *fs)
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
