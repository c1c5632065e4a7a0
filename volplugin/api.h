/*
 * volplugin/api.h - Docker's VolumeDriver API: one request (endpoint path
 * and body) in, one HTTP status and JSON reply out. Knows nothing of HTTP
 * transport (http.c), of threads and time limits (job.h), of the host's
 * mounts (hoststate.h) and of RADOS object names (store/).
 */
#ifndef CEPHVOL_VOLPLUGIN_API_H
#define CEPHVOL_VOLPLUGIN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "volplugin/metrics.h"

struct api;
struct cluster;
struct config;
struct hoststate;
struct jobs;

/* Largest request body accepted; larger gets 413. */
#define API_MAX_BODY	(64 * 1024)
/* Longest mount ID accepted (dockerd sends 64 hex digits). */
#define API_MAX_ID	256
/* Requests at most in flight at once (the rest get an Err at once). */
#define API_MAX_JOBS	256

/*
 * Every argument is borrowed and must outlive the api: jobs runs the
 * requests' work (made with API_MAX_JOBS), cl is the cluster, connected
 * on first need, hs the host's mounts. *out is new: api_free().
 */
int	api_new(const struct config *cfg, struct jobs *jobs, struct cluster *cl,
	    struct hoststate *hs, struct api **out);
void	api_free(struct api *api);

/*
 * Who sent a request, as far as the transport knows: the peer process
 * (SO_PEERCRED on the unix socket: dockerd), and whether it has hung up
 * meanwhile (asked about once a second while the request is answered;
 * a caller that left gets no reply, and a Mount it asked for is undone).
 */
struct api_caller {
	pid_t	 pid;			/* 0 if unknown */
	bool	(*gone)(void *arg);	/* may be NULL */
	void	*arg;
};

/*
 * Answer one request. path is the URL path ("/VolumeDriver.Mount"), body
 * may be NULL (empty). Returns the HTTP status; *reply is a new JSON object
 * ({"Err": "..."} on any failure). Bounded by api_deadline_s(): a handler that
 * takes longer is answered with an Err saying what timed out, while its
 * work finishes (or is undone) in the background. Thread-safe.
 */
unsigned api_handle(struct api *api, const char *path, const char *body,
	    size_t len, const struct api_caller *caller, json_t **reply,
	    enum metrics_result *result);

/* Seconds a caller of ep waits: plugin.timeout, but always 10 s under
 * Docker's own limit for that call (120 s Create/Mount, 60 s others). */
unsigned api_deadline_s(const struct config *cfg, enum metrics_endpoint ep);

/* An error reply (new) with the message; for the transport's own errors. */
json_t	*api_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
