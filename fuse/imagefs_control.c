/*
 * imagefs_control.c - requests to the block volume server through the
 * cluster (fuse/imagefs_control.h).
 *
 * A snapshot, in the order that keeps the pause short and the result
 * consistent: the snapshot id comes from the monitors before anything is
 * frozen (a monitor round trip); then FIFREEZE (the filesystem writes back
 * and commits its journal; the container's writes block), image_flush()
 * (every write the image was given is acknowledged), the record in the
 * header (the snapshot exists from here), the new snapshot context on the
 * image (every later write keeps the old bytes), FITHAW. The container sees
 * a pause, never an error: a failure thaws and answers with the reason.
 *
 * A resize: the header is the truth (the asker wrote the new size there
 * first); the image and the file grow, the loop device is told, and the
 * filesystem is grown online. Grown twice is harmless, so it ignores the
 * deadline.
 *
 * One request at a time (volctl's thread); no state of its own but the
 * target, which outlives it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "fuse/imagefs_control.h"
#include "fuse/imagefs.h"
#include "host/freeze.h"
#include "host/fs.h"
#include "host/loop.h"
#include "host/mountinfo.h"
#include "store/catalog_header.h"
#include "store/image.h"
#include "store/lease.h"
#include "store/snapshot.h"
#include "store/volctl.h"

struct imagefs_control {
	struct imagefs_control_target	 t;
	struct volctl			*vc;
};

static json_t *
fail(const char *fmt, const char *a, const char *b)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), fmt, a, b);
	return json_pack("{s:s}", "err", msg);
}

static double
ms_since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e6;
}

static json_t *
snapshot(struct imagefs_control *c, const char *name, uint64_t deadline_ms)
{
	const struct imagefs_control_target *t = &c->t;
	char why[1024] = "", mp[PATH_MAX] = "";
	uint64_t id, seq, *ids = NULL, t_frozen = 0, t0 = now_ns();
	struct volume_meta now;
	json_t *reply = NULL;
	bool committed = false;
	size_t n = 0;
	int fd = -1, r;

	if (!name_valid(name))
		return fail("bad snapshot name%s%s", "", "");
	if (now_ns() / 1000000 >= deadline_ms) {
		log_err("volume=%s: snapshot %s not taken: the request arrived past "
		    "its deadline (this process was stopped, or the cluster slow)",
		    t->volume, name);
		return fail("the request arrived past its deadline%s%s", "", "");
	}
	if (!lease_valid(t->ls))
		return fail("the lease of volume %s is not confirmed on this host "
		    "(the cluster is slow or stalled)%s", t->volume, "");
	if ((r = snapshot_alloc_id(t->st, &id)) < 0)
		return fail("the monitors gave no snapshot id: %s%s", strerror(-r), "");
	t_frozen = now_ns();
	r = freeze_image_fs(t->image_file, &fd, mp, sizeof(mp), deadline_ms * 1000000,
	    &t_frozen, why, sizeof(why));
	if (r == 0 && (r = image_flush(t->img)) < 0)
		snprintf(why, sizeof(why), "cannot flush the volume's writes: %s",
		    strerror(-r));
	if (r == 0 && now_ns() / 1000000 > deadline_ms) {
		r = -ETIMEDOUT;
		snprintf(why, sizeof(why), "freezing and flushing took %.0f ms, past "
		    "the request's deadline", ms_since(t0));
	}
	if (r == 0 && !lease_valid(t->ls)) {
		r = -ENOLCK;
		snprintf(why, sizeof(why), "the lease is not confirmed any more");
	}
	if (r == 0 && (r = snapshot_commit(t->st, t->id, name, id, &now, why,
	    sizeof(why))) == 0) {
		committed = true;
		r = snapshot_context(&now, &seq, &ids, &n);
		if (r == 0)
			r = image_set_snap_context(t->img, seq, ids, n);
		if (r < 0) {
			/* Writes would overwrite what the snapshot must keep:
			 * stop writing rather than serve a snapshot that lies. */
			snprintf(why, sizeof(why), "the snapshot is recorded but "
			    "writes cannot carry it (%s): the volume is fenced "
			    "here; remove the snapshot and mount again",
			    strerror(-r));
			image_fence(t->img, -EIO);
		}
		free(ids);
		volume_meta_free(&now);
	}
	freeze_thaw(fd);
	if (r < 0) {
		if (!committed)
			snapshot_release_id(t->st, id);
		log_err("volume=%s: snapshot %s failed: %s", t->volume, name, why);
		return json_pack("{s:s}", "err", why);
	}
	if (fd >= 0)
		log_info("volume=%s: snapshot %s (id %" PRIu64 ") taken in %.1f ms, "
		    "filesystem frozen at %s for %.1f ms", t->volume, name, id,
		    ms_since(t0), mp, ms_since(t_frozen));
	else
		log_info("volume=%s: snapshot %s (id %" PRIu64 ") taken in %.1f ms, "
		    "no filesystem mounted from it here (crash-consistent: it holds "
		    "every write sent before it)", t->volume, name, id, ms_since(t0));
	reply = json_pack("{s:b, s:I, s:b, s:f}", "ok", 1, "id", (json_int_t)id,
	    "froze", fd >= 0, "frozen_ms", fd >= 0 ?
	    (double)(int64_t)(ms_since(t_frozen) * 10 + 0.5) / 10 : 0.0);
	return reply;
}

static json_t *
resize(struct imagefs_control *c)
{
	const struct imagefs_control_target *t = &c->t;
	char dev[64], mp[PATH_MAX], fstype[32] = "", why[1024];
	struct volume_meta m;
	const char *note = NULL;
	struct stat st;
	bool grown = false;
	int r;

	if (!lease_valid(t->ls))
		return fail("the lease of volume %s is not confirmed on this host%s",
		    t->volume, "");
	if ((r = catalog_header_read(t->st, t->id, &m)) < 0)
		return fail("cannot read the volume's header: %s%s", strerror(-r), "");
	if ((r = image_set_size(t->img, m.size)) < 0 ||
	    (r = imagefs_set_size(t->fs, m.size)) < 0) {
		volume_meta_free(&m);
		return fail("cannot grow the image: %s%s", strerror(-r), "");
	}
	/* the kernel asks us for the size again; the loop reads its cache */
	(void)stat(t->image_file, &st);
	if (fs_over_image(t->image_file, dev, sizeof(dev), mp, sizeof(mp))) {
		if ((r = loop_set_capacity(dev)) < 0) {
			snprintf(why, sizeof(why), "the image grew but loop device %s "
			    "did not take it: %s", dev, strerror(-r));
			goto out;
		}
		mountinfo_find(mp, fstype, sizeof(fstype), NULL, 0);
		r = fs_grow(dev, fstype, mp, t->volume, 120, why, sizeof(why));
		if (r == -EPERM) {	/* grows at the next mount: say so */
			log_warn("volume=%s: %s", t->volume, why);
			note = why;
			r = 0;
		} else if (r < 0)
			goto out;
		else
			grown = true;
	}
	log_info("volume=%s grew to %" PRIu64 " bytes%s%s", t->volume, m.size,
	    grown ? ", filesystem grown online at " : "", grown ? mp : "");
out:
	volume_meta_free(&m);
	if (r < 0) {
		log_err("volume=%s: resize: %s", t->volume, why);
		return json_pack("{s:s}", "err", why);
	}
	return json_pack("{s:b, s:I, s:b, s:s*}", "ok", 1, "size",
	    (json_int_t)m.size, "grown", grown, "note", note);
}

/* The header's I/O limits, applied from the next request on. */
static json_t *
limits(struct imagefs_control *c)
{
	const struct imagefs_control_target *t = &c->t;
	struct volume_meta m;
	json_t *reply;
	int r;

	if ((r = catalog_header_read(t->st, t->id, &m)) < 0)
		return fail("cannot read the volume's header: %s%s", strerror(-r), "");
	imagefs_set_qos(t->fs, &m.qos);
	reply = json_pack("{s:b, s:o}", "ok", 1, "limits", volume_qos_json(&m.qos));
	log_info("volume=%s: I/O limits now %s", t->volume, "as in its header");
	volume_meta_free(&m);
	return reply;
}

static json_t *
handle(void *arg, json_t *req, uint64_t deadline_ms)
{
	struct imagefs_control *c = arg;
	const char *op = json_string_value(json_object_get(req, "op"));
	const char *name = json_string_value(json_object_get(req, "name"));

	if (op != NULL && strcmp(op, "snapshot") == 0 && name != NULL)
		return snapshot(c, name, deadline_ms);
	if (op != NULL && strcmp(op, "resize") == 0)
		return resize(c);
	if (op != NULL && strcmp(op, "limits") == 0)
		return limits(c);
	return fail("unknown request%s%s", "", "");
}

int
imagefs_control_start(const struct imagefs_control_target *t,
    struct imagefs_control **out)
{
	struct imagefs_control *c;
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->t = *t;
	if ((r = volctl_serve(t->st, t->id, handle, c, &c->vc)) < 0) {
		free(c);
		return r;
	}
	*out = c;
	return 0;
}

void
imagefs_control_stop(struct imagefs_control *c)
{
	if (c == NULL)
		return;
	volctl_stop(c->vc);
	free(c);
}
