/*
 * secret_watch.c - how a host that serves a secret learns that it changed
 * (store/secretstore.h): a RADOS watch on the secret's object.
 *
 * A watcher lives from secret_watch() to secret_unwatch(); its callback
 * runs on a librados thread after each notify (secretstore.c sends one
 * after every update), and also when the watch ends (the object was
 * removed, or the watch lapsed), so the owner re-reads the secret either
 * way. A notify is acked at once. secret_unwatch() flushes librados'
 * watch callbacks, so none runs after it returns.
 * No state but the watcher; no locking.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

#include "common/log.h"
#include "store/conn.h"
#include "store/secret_internal.h"
#include "store/secretstore.h"

struct secret_watcher {
	struct store	*st;
	uint64_t	 cookie;
	char		 oid[300];
	char		 name[NAME_MAX_LEN + 1];
	void		(*cb)(void *, const char *);
	void		*arg;
};

static void
watch_notified(void *arg, uint64_t notify_id, uint64_t handle,
    uint64_t notifier_id, void *data, size_t len)
{
	struct secret_watcher *w = arg;

	(void)notifier_id;
	(void)data;
	(void)len;
	rados_notify_ack(store_ioctx(w->st), w->oid, notify_id, handle, NULL, 0);
	w->cb(w->arg, w->name);
}

static void
watch_failed(void *arg, uint64_t handle, int err)
{
	struct secret_watcher *w = arg;

	(void)handle;
	/* The object was removed or the watch lapsed: let the owner re-check. */
	log_debug("watch on secret %s ended: %s", w->name, strerror(-err));
	w->cb(w->arg, w->name);
}

int
secret_watch(struct store *st, const char *name,
    void (*cb)(void *arg, const char *name), void *arg, uint64_t *handle)
{
	struct secret_watcher *w;
	int r;

	if (!name_valid(name))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->st = st;
	w->cb = cb;
	w->arg = arg;
	snprintf(w->name, sizeof(w->name), "%s", name);
	secret_oid(name, w->oid, sizeof(w->oid));
	r = rados_watch2(store_ioctx(st), w->oid, &w->cookie, watch_notified,
	    watch_failed, w);
	if (r < 0) {
		free(w);
		return r;
	}
	*handle = (uint64_t)(uintptr_t)w;
	return 0;
}

void
secret_unwatch(struct store *st, uint64_t handle)
{
	struct secret_watcher *w = (struct secret_watcher *)(uintptr_t)handle;

	if (w == NULL)
		return;
	rados_unwatch2(store_ioctx(st), w->cookie);
	rados_watch_flush(store_cluster(st));	/* no callback runs after this */
	free(w);
}
