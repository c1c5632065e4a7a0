/*
 * api.c - Docker's VolumeDriver API: request bodies in, replies out.
 *
 * Each request is checked first, synchronously and without I/O: the body
 * must be a JSON object with the fields the endpoint wants, names must be
 * Docker's (name_valid), so nothing malformed ever reaches the catalogue or
 * a mount. Then its work runs as a job (job.h) in its volume's turn, while
 * the caller waits at most api_deadline_s(); past that, or when the caller
 * hangs up, the caller is answered with an Err naming what the job was
 * waiting for, and the job goes on alone. A handler translates the request
 * into one call, of the catalogue (Create, Get, List) or of the host state
 * (hoststate.h: Mount, Unmount, and Remove's check), and the result into
 * the reply.
 *
 * No state of its own beyond borrowed handles; no locks.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "store/catalog.h"
#include "store/clone.h"
#include "store/lease.h"
#include "store/secret_grant.h"
#include "volplugin/api.h"
#include "volplugin/cluster.h"
#include "volplugin/hoststate.h"
#include "volplugin/job.h"
#include "volplugin/metrics.h"
#include "volplugin/mounts.h"

struct api {
	const struct config	*cfg;		/* borrowed */
	struct jobs		*jobs;		/* borrowed */
	struct cluster		*cl;		/* borrowed */
	struct hoststate	*hs;		/* borrowed */
};

/* One checked request: the work of its job, which owns it. */
struct call {
	struct api		*api;
	enum metrics_endpoint	 ep;
	char			 name[NAME_MAX_LEN + 1];
	char			 id[API_MAX_ID + 1];
	json_t			*opts;		/* owned, Create only, may be NULL */
	struct mounts_owner	 owner;		/* the caller (dockerd), Mount */
};

static json_t *
api_verror(const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return json_pack("{s:s}", "Err", msg);
}

json_t *
api_error(const char *fmt, ...)
{
	json_t *reply;
	va_list ap;

	va_start(ap, fmt);
	reply = api_verror(fmt, ap);
	va_end(ap);
	return reply;
}

/* What a client sent as it may appear in an Err or a log line: escaped
 * (str_escape), at most 83 bytes. */
static const char *
shown(const char *s, char *buf, size_t len)
{
	return str_escape(buf, len < 84 ? len : 84, s, strlen(s));
}

/* --- replies ------------------------------------------------------------ */

/* Status of a block volume: its snapshots by name, what it was made from. */
static void
status_snapshots(json_t *status, const struct volume_meta *m)
{
	json_t *names = json_array(), *rec;
	size_t i;

	json_array_foreach(json_object_get(m->snapshots, "list"), i, rec)
		json_array_append(names, json_object_get(rec, "name"));
	if (json_array_size(names) > 0)
		json_object_set_new(status, "snapshots", names);
	else
		json_decref(names);
	if (m->parent != NULL)
		json_object_set_new(status, m->readonly ? "snapshot" : "from",
		    json_sprintf("%s@%s",
		    json_string_value(json_object_get(m->parent, "volume")) ?: "?",
		    json_string_value(json_object_get(m->parent, "snapshot")) ?: "?"));
}

/* Docker's Volume object for m, with Status; mountpoint only while mounted. */
static json_t *
volume_json(struct api *api, struct store *st, const struct volume_meta *m)
{
	json_t *v = json_object(), *status = json_object();
	struct lease_holder h;
	char buf[512], mp[PATH_MAX], created[32];
	time_t t = (time_t)m->created;
	unsigned refs;
	bool here;
	struct tm tm;
	int r;

	if (v == NULL || status == NULL) {
		json_decref(v);
		json_decref(status);
		return NULL;
	}
	json_object_set_new(v, "Name", json_string(m->name));
	here = hoststate_served(api->hs, m->name, mp, sizeof(mp), &refs);
	if (here)
		json_object_set_new(v, "Mountpoint", json_string(mp));
	else if (refs > 0)
		json_object_set_new(status, "mount_broken", json_string(
		    "its mount on this host is gone (cephvol-mount exited); "
		    "the containers using it see errors; the next Mount repairs it"));
	if (gmtime_r(&t, &tm) && strftime(created, sizeof(created),
	    "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		json_object_set_new(v, "CreatedAt", json_string(created));
	json_object_set_new(status, "type", json_string(volume_type_name(m->type)));
	json_object_set_new(status, "id", json_string(m->id));
	if (m->type == VOLUME_BLOCK) {
		json_object_set_new(status, "size",
		    json_string(size_format(m->size, buf, sizeof(buf))));
		json_object_set_new(status, "size_bytes", json_integer((json_int_t)m->size));
		json_object_set_new(status, "fs", json_string(m->fs));
		json_object_set_new(status, "object_size",
		    json_string(size_format(m->object_size, buf, sizeof(buf))));
		status_snapshots(status, m);
	} else if (m->secrets)
		json_object_set(status, "secrets", m->secrets);
	if (m->labels && json_object_size(m->labels) > 0)
		json_object_set(status, "labels", m->labels);
	r = lease_holder(st, m->id, &h);
	if (r == 0) {
		lease_holder_describe(&h, buf, sizeof(buf));
		json_object_set_new(status, "lease", json_string(buf));
		if (h.expired)
			json_object_set_new(status, "lease_expired", json_true());
	} else if (r == -ENOENT)
		json_object_set_new(status, "lease", json_string("none"));
	else
		json_object_set_new(status, "lease",
		    json_sprintf("unknown (%s)", strerror(-r)));
	json_object_set_new(status, "mounts_here", json_integer(here ? refs : 0));
	json_object_set_new(v, "Status", status);
	return v;
}

/* --- handlers (run on the job's thread) ------------------------------------ */

/* A failure already logged where it happened (or not worth a log line). */
static void
reply_err(struct job *job, const char *err)
{
	job_reply(job, RESULT_ERROR, 200, api_error("%s", err));
}

/* The job fails: the Err, logged as its failure. */
__attribute__((format(printf, 2, 3))) static void
job_err(struct job *job, const char *fmt, ...)
{
	json_t *reply;
	va_list ap;

	va_start(ap, fmt);
	reply = api_verror(fmt, ap);
	va_end(ap);
	job_warn(job, "%s", json_string_value(json_object_get(reply, "Err")));
	job_reply(job, RESULT_ERROR, 200, reply);
}

static void
reply_ok(struct job *job)
{
	job_reply(job, RESULT_OK, 200, json_pack("{s:s}", "Err", ""));
}

static void
reply_mountpoint(struct job *job, const char *mp)
{
	job_reply(job, RESULT_OK, 200, json_pack("{s:s, s:s}", "Mountpoint", mp,
	    "Err", ""));
}

static void
op_create(struct api *api, struct job *job, const struct call *c)
{
	struct volume_meta want, have;
	struct store *st;
	char err[1024];
	int r;

	memset(&want, 0, sizeof(want));
	r = volume_opts_parse(api->cfg, c->name, c->opts, &want, err, sizeof(err));
	if (r < 0) {
		log_warn("Create volume=%s: %s", c->name, err);
		job_reply(job, RESULT_BAD_REQUEST, 400, json_pack("{s:s}", "Err", err));
		return;
	}
	if ((st = cluster_store(api->cl, job, err, sizeof(err))) == NULL) {
		job_err(job, "cannot create volume %s: %s", c->name, err);
		goto out_free_want;
	}
	if (job_abandoned(job))
		goto out_free_want;
	if (want.type == VOLUME_SECRETS) {
		job_phase(job, "checking the secrets the volume grants");
		r = secret_grants_check(st, want.secrets, err, sizeof(err));
		if (r < 0) {
			job_err(job, "cannot create volume %s: %s", c->name, err);
			goto out_free_want;
		}
	}
	job_phase(job, "creating the volume in the catalogue");
	r = clone_create(st, &want, &have, err, sizeof(err));
	if (r < 0) {
		job_err(job, "cannot create volume %s: %s", c->name,
		    err[0] ? err : strerror(-r));
		goto out_free_want;
	}
	log_info("created volume=%s id=%s", have.name, have.id);
	volume_meta_free(&have);
	job_reply(job, RESULT_OK, 200, json_pack("{s:s}", "Err", ""));
out_free_want:
	volume_meta_free(&want);
}

static void
op_get(struct api *api, struct job *job, const struct call *c)
{
	struct volume_meta m;
	struct store *st;
	char err[1024];
	json_t *v;
	int r;

	if ((st = cluster_store(api->cl, job, err, sizeof(err))) == NULL) {
		job_err(job, "cannot look up volume %s: %s", c->name, err);
		return;
	}
	job_phase(job, "reading the catalogue");
	r = catalog_get(st, c->name, &m);
	if (r == -ENOENT) {
		job_reply(job, RESULT_ERROR, 200,
		    api_error("no such volume: %s", c->name));
		return;
	}
	if (r < 0) {
		job_err(job, "cannot read volume %s from the catalogue: %s",
		    c->name, strerror(-r));
		return;
	}
	job_phase(job, "reading the volume's lease");
	v = volume_json(api, st, &m);
	volume_meta_free(&m);
	job_reply(job, RESULT_OK, 200, json_pack("{s:o, s:s}", "Volume", v, "Err", ""));
}

static void
op_list(struct api *api, struct job *job)
{
	struct volume_meta *vols;
	struct store *st;
	char err[1024];
	json_t *arr;
	size_t n;
	int r;

	if ((st = cluster_store(api->cl, job, err, sizeof(err))) == NULL) {
		job_err(job, "cannot list volumes: %s", err);
		return;
	}
	job_phase(job, "reading the catalogue");
	r = catalog_list(st, &vols, &n);
	if (r < 0) {
		job_err(job, "cannot list volumes: %s", strerror(-r));
		return;
	}
	job_phase(job, "reading the volumes' leases");
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, volume_json(api, st, &vols[i]));
		volume_meta_free(&vols[i]);
	}
	free(vols);
	job_reply(job, RESULT_OK, 200, json_pack("{s:o, s:s}", "Volumes", arr, "Err", ""));
}

static void
op_path(struct api *api, struct job *job, const struct call *c)
{
	struct volume_meta m;
	struct store *st;
	char mp[PATH_MAX], err[1024];
	unsigned refs;
	int r;

	if (hoststate_served(api->hs, c->name, mp, sizeof(mp), &refs)) {
		reply_mountpoint(job, mp);
		return;
	}
	if ((st = cluster_store(api->cl, job, err, sizeof(err))) == NULL) {
		job_err(job, "cannot look up volume %s: %s", c->name, err);
		return;
	}
	job_phase(job, "reading the catalogue");
	r = catalog_get(st, c->name, &m);
	if (r < 0) {
		job_reply(job, RESULT_ERROR, 200, r == -ENOENT ?
		    api_error("no such volume: %s", c->name) :
		    api_error("cannot read volume %s: %s", c->name, strerror(-r)));
		return;
	}
	volume_meta_free(&m);
	/* not mounted on this host: no mountpoint */
	reply_mountpoint(job, "");
}

static void
op_remove(struct api *api, struct job *job, const struct call *c)
{
	struct store *st;
	char err[1024];
	int r;

	if (hoststate_release(api->hs, c->name, job, err, sizeof(err)) < 0) {
		reply_err(job, err);
		return;
	}
	if ((st = cluster_store(api->cl, job, err, sizeof(err))) == NULL) {
		job_err(job, "cannot remove volume %s: %s", c->name, err);
		return;
	}
	if (job_abandoned(job))
		return;
	job_phase(job, "removing the volume's objects");
	err[0] = '\0';
	r = catalog_remove(st, c->name, err, sizeof(err));
	if (r < 0) {
		job_err(job, "%s", err[0] ? err : strerror(-r));
		return;
	}
	hoststate_removed(api->hs, c->name);
	log_info("removed volume=%s", c->name);
	reply_ok(job);
}

static void
op_mount(struct api *api, struct job *job, const struct call *c)
{
	char mp[PATH_MAX], err[1024];

	if (hoststate_mount(api->hs, c->name, c->id, &c->owner, job, mp, sizeof(mp),
	    err, sizeof(err)) < 0)
		reply_err(job, err);
	else
		reply_mountpoint(job, mp);
}

static void
op_unmount(struct api *api, struct job *job, const struct call *c)
{
	char err[1024];

	if (hoststate_unmount(api->hs, c->name, c->id, job, err, sizeof(err)) < 0)
		reply_err(job, err);
	else
		reply_ok(job);
}

static void
call_work(struct job *job, void *arg)
{
	struct call *c = arg;
	struct api *api = c->api;

	switch (c->ep) {
	case EP_CREATE:		op_create(api, job, c); break;
	case EP_REMOVE:		op_remove(api, job, c); break;
	case EP_MOUNT:		op_mount(api, job, c); break;
	case EP_UNMOUNT:	op_unmount(api, job, c); break;
	case EP_PATH:		op_path(api, job, c); break;
	case EP_GET:		op_get(api, job, c); break;
	case EP_LIST:		op_list(api, job); break;
	default:		job_err(job, "internal error: no handler"); break;
	}
}

static void
call_free(void *arg)
{
	struct call *c = arg;

	json_decref(c->opts);
	free(c);
}

/*
 * How long a caller waits for ep: plugin.timeout, but always DOCKER_MARGIN_S
 * under Docker's own limit for that call (moby volume/drivers/proxy.go:
 * 120 s for Create and Mount, 60 s for the rest), so Docker gets our
 * answer, never its own timeout, and a Mount it gave up on cannot commit.
 */
#define DOCKER_MARGIN_S	10
unsigned
api_deadline_s(const struct config *cfg, enum metrics_endpoint ep)
{
	unsigned docker = ep == EP_CREATE || ep == EP_MOUNT ? 120 : 60;
	unsigned t = (unsigned)cfg->plugin_timeout;

	return t < docker - DOCKER_MARGIN_S ? t : docker - DOCKER_MARGIN_S;
}

/*
 * Run c (stolen) as a job; wait at most api_deadline_s(), or until the
 * caller hangs up; the reply, or an Err saying why there is none.
 */
static unsigned
call_run(struct api *api, struct call *c, const struct api_caller *caller,
    json_t **reply, enum metrics_result *res)
{
	const char *what = metrics_endpoint_name(c->ep);
	const char *undone = c->ep == EP_MOUNT ? " and is undone if it completes" : "";
	unsigned limit = api_deadline_s(api->cfg, c->ep);
	char name[NAME_MAX_LEN + 1];
	struct job_result out;
	struct job_spec spec = {
		.what = what,
		.name = c->name,
		.limit_s = limit,
		.always = c->ep == EP_UNMOUNT,
		.work = call_work,
		.arg = c,
		.free_arg = call_free,
	};

	snprintf(name, sizeof(name), "%s", c->name);	/* c is the job's now */
	*res = RESULT_ERROR;
	switch (job_run(api->jobs, &spec, caller ? caller->gone : NULL,
	    caller ? caller->arg : NULL, &out)) {
	case JOB_DONE:
		*reply = out.reply ? out.reply : api_error("internal error: no reply");
		*res = out.res;
		return out.status;
	case JOB_NO_MEMORY:
		*reply = api_error("out of memory");
		return 500;
	case JOB_FULL:
		*reply = api_error("%s of volume %s refused: %d requests are already "
		    "in flight (is the cluster or a mount hung?)", what, name,
		    API_MAX_JOBS);
		return 200;
	case JOB_NO_THREAD:
		*reply = api_error("cannot start a thread for %s: %s", what,
		    strerror(-out.error));
		return 200;
	case JOB_HUNG_UP:
		*reply = api_error("the caller of %s of volume %s hung up; it goes on in "
		    "the background%s", what, name, undone);
		log_warn("%s volume=%s: the caller hung up while %s", what, name,
		    out.phase);
		return 200;
	case JOB_STOPPING:
		*reply = api_error("cephvold is stopping: %s of volume %s was not "
		    "answered; it goes on in the background", what, name);
		return 200;
	case JOB_TIMED_OUT:
		break;
	}
	*reply = api_error("%s of volume %s timed out after %us while %s; it goes on "
	    "in the background%s", what, name[0] ? name : "(all)", limit, out.phase,
	    undone);
	log_err("%s volume=%s: timed out after %us while %s", what, name, limit,
	    out.phase);
	*res = RESULT_TIMEOUT;
	return 200;
}

/* --- request checking ------------------------------------------------------ */

struct endpoint {
	const char		*path;
	enum metrics_endpoint	 ep;
	bool			 name;		/* wants "Name" */
	bool			 id;		/* wants "ID" */
	const char		*shape;		/* for error messages */
};

static const struct endpoint endpoints[] = {
	{ "/Plugin.Activate",		EP_ACTIVATE,	false, false, "an empty body" },
	{ "/VolumeDriver.Capabilities",	EP_CAPABILITIES, false, false, "an empty body or {}" },
	{ "/VolumeDriver.Create",	EP_CREATE,	true, false, "{\"Name\": NAME, \"Opts\": {KEY: VALUE...} or null}" },
	{ "/VolumeDriver.Remove",	EP_REMOVE,	true, false, "{\"Name\": NAME}" },
	{ "/VolumeDriver.Mount",	EP_MOUNT,	true, true, "{\"Name\": NAME, \"ID\": ID}" },
	{ "/VolumeDriver.Unmount",	EP_UNMOUNT,	true, true, "{\"Name\": NAME, \"ID\": ID}" },
	{ "/VolumeDriver.Path",		EP_PATH,	true, false, "{\"Name\": NAME}" },
	{ "/VolumeDriver.Get",		EP_GET,		true, false, "{\"Name\": NAME}" },
	{ "/VolumeDriver.List",		EP_LIST,	false, false, "an empty body or {}" },
};

/*
 * Refuse the request with 400 and an Err; log it. Whatever the client sent
 * goes into the message through shown() (escaped once), so the Err is
 * logged as it is: escaping it again would show such parts twice.
 */
#define BAD(...) do {						\
	*reply = api_error(__VA_ARGS__);			\
	*res = RESULT_BAD_REQUEST;				\
	log_info("bad request to %s: %s", shown(path, pb, sizeof(pb)), \
	    json_string_value(json_object_get(*reply, "Err")));	\
	json_decref(j);						\
	return 400;						\
} while (0)

static bool
blank(const char *body, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (body[i] != ' ' && body[i] != '\n' && body[i] != '\r' && body[i] != '\t')
			return false;
	return true;
}

unsigned
api_handle(struct api *api, const char *path, const char *body, size_t len,
    const struct api_caller *caller, json_t **reply, enum metrics_result *res)
{
	const struct endpoint *e = NULL;
	json_error_t je;
	json_t *j = NULL, *f;
	struct call *c;
	char sb[128], pb[128];

	*res = RESULT_OK;
	for (size_t i = 0; i < ARRAY_SIZE(endpoints); i++)
		if (strcmp(path, endpoints[i].path) == 0)
			e = &endpoints[i];
	if (e == NULL) {
		*reply = api_error("unknown endpoint %s; this plugin serves "
		    "/Plugin.Activate and /VolumeDriver.{Create,Remove,Mount,Unmount,"
		    "Path,Get,List,Capabilities}", shown(path, pb, sizeof(pb)));
		*res = RESULT_BAD_REQUEST;
		log_info("bad request to %s: %s", pb,
		    json_string_value(json_object_get(*reply, "Err")));
		return 404;
	}
	if (body && len > 0 && !blank(body, len)) {
		j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
		/* jansson's text quotes the input near the error */
		if (j == NULL)
			BAD("malformed JSON in the request body: %s (line %d, column %d); "
			    "%s wants %s", str_escape(sb, sizeof(sb), je.text,
			    strlen(je.text)), je.line, je.column, path + 1, e->shape);
		if (!json_is_object(j))
			BAD("the request body must be a JSON object; %s wants %s",
			    path + 1, e->shape);
	}
	switch (e->ep) {
	case EP_ACTIVATE:
		json_decref(j);
		*reply = json_pack("{s:[s]}", "Implements", "VolumeDriver");
		return 200;
	case EP_CAPABILITIES:
		json_decref(j);
		*reply = json_pack("{s:{s:s}}", "Capabilities", "Scope", "global");
		return 200;
	default:
		break;
	}
	if (e->name) {
		const char *name;
		if (j == NULL)
			BAD("empty request body; %s wants %s", path + 1, e->shape);
		f = json_object_get(j, "Name");
		if (f == NULL)
			BAD("missing field \"Name\"; %s wants %s", path + 1, e->shape);
		if (!json_is_string(f))
			BAD("field \"Name\" must be a string; %s wants %s", path + 1, e->shape);
		name = json_string_value(f);
		if (strlen(name) != json_string_length(f))
			BAD("invalid volume name (it contains a NUL byte): %s", NAME_RULE);
		if (!name_valid(name))
			BAD("invalid volume name \"%s\": %s", shown(name, sb, sizeof(sb)),
			    NAME_RULE);
	}
	if (e->id) {
		f = json_object_get(j, "ID");
		if (f == NULL)
			BAD("missing field \"ID\"; %s wants %s", path + 1, e->shape);
		if (!json_is_string(f) || json_string_length(f) == 0)
			BAD("field \"ID\" must be a non-empty string; %s wants %s",
			    path + 1, e->shape);
		if (json_string_length(f) > API_MAX_ID ||
		    strlen(json_string_value(f)) != json_string_length(f))
			BAD("field \"ID\" must be at most %d bytes without NUL",
			    API_MAX_ID);
	}
	if (e->ep == EP_CREATE) {
		const char *k;
		json_t *v;
		f = json_object_get(j, "Opts");
		if (f && !json_is_null(f) && !json_is_object(f))
			BAD("field \"Opts\" must be an object of strings or null");
		if (json_is_object(f))
			json_object_foreach(f, k, v)
				if (!json_is_string(v))
					BAD("option \"%s\" must be a string value",
					    shown(k, sb, sizeof(sb)));
	}

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		json_decref(j);
		*reply = api_error("out of memory");
		*res = RESULT_ERROR;
		return 500;
	}
	c->api = api;
	c->ep = e->ep;
	if (e->name)
		snprintf(c->name, sizeof(c->name), "%s",
		    json_string_value(json_object_get(j, "Name")));
	if (e->id)
		snprintf(c->id, sizeof(c->id), "%s",
		    json_string_value(json_object_get(j, "ID")));
	if (e->ep == EP_CREATE) {
		f = json_object_get(j, "Opts");
		c->opts = json_is_object(f) ? json_incref(f) : NULL;
	}
	json_decref(j);
	if (caller)
		c->owner = mounts_owner_of(caller->pid);
	return call_run(api, c, caller, reply, res);
}

/* --- life cycle --------------------------------------------------------- */

int
api_new(const struct config *cfg, struct jobs *jobs, struct cluster *cl,
    struct hoststate *hs, struct api **out)
{
	struct api *api = malloc(sizeof(*api));

	if (api == NULL)
		return -ENOMEM;
	*api = (struct api){ .cfg = cfg, .jobs = jobs, .cl = cl, .hs = hs };
	*out = api;
	return 0;
}

void
api_free(struct api *api)
{
	free(api);
}
