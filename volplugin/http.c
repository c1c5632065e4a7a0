/*
 * http.c - the Docker plugin socket.
 *
 * We bind the AF_UNIX socket ourselves (so we choose its mode and group and
 * never steal the socket of a live daemon) and hand it to libmicrohttpd
 * with MHD_OPTION_LISTEN_SOCKET. A thread per connection: dockerd keeps one
 * connection alive for sequential requests and opens more for parallel ones,
 * so requests for different volumes run in parallel, and a slow request
 * (bounded by plugin.timeout in api.c) only holds its own connection.
 *
 * A request's body is gathered in struct req (one per request, freed in
 * the completion callback) up to API_MAX_BODY; a larger Content-Length is
 * answered 413 at once, a larger chunked body is drained and answered 413
 * at its end. Headers beyond the connection memory limit get 431 from
 * libmicrohttpd itself. Only POST is served (405 otherwise).
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "common/log.h"
#include "common/util.h"
#include "volplugin/api.h"
#include "volplugin/http.h"
#include "volplugin/metrics.h"

struct http {
	struct MHD_Daemon	*daemon;
	char			*path;		/* owned */
	struct api		*api;		/* borrowed */
};

struct req {
	char		*body;		/* owned, NUL-terminated */
	size_t		 len;
	bool		 too_large;
	bool		 answered;	/* a reply was queued early */
	uint64_t	 start_ns;
};

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned status, json_t *reply)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;

	json_decref(reply);
	if (text == NULL)
		text = strdup("{\"Err\":\"out of memory\"}");
	if (text == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type",
	    "application/vnd.docker.plugins.v1+json");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct req *rq = *con_cls;
	enum metrics_endpoint ep;
	enum metrics_result res;
	json_t *reply;
	unsigned status;

	(void)version;
	if (rq == NULL) {
		const char *cl;
		rq = calloc(1, sizeof(*rq));
		if (rq == NULL)
			return MHD_NO;
		rq->start_ns = now_ns();
		*con_cls = rq;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > API_MAX_BODY) {
			rq->too_large = rq->answered = true;
			metrics_request(metrics_endpoint_of(url), RESULT_BAD_REQUEST, 0);
			log_info("bad request to %s: body of %s bytes refused", url, cl);
			return send_json(c, MHD_HTTP_CONTENT_TOO_LARGE,
			    api_error("request body too large (%s bytes); at most %d "
			    "bytes are accepted", cl, API_MAX_BODY));
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!rq->too_large) {
			if (rq->len + *upload_size > API_MAX_BODY) {
				rq->too_large = true;
				free(rq->body);
				rq->body = NULL;
				rq->len = 0;
			} else {
				char *nb = realloc(rq->body, rq->len + *upload_size + 1);
				if (nb == NULL)
					return MHD_NO;
				memcpy(nb + rq->len, upload, *upload_size);
				rq->body = nb;
				rq->len += *upload_size;
				rq->body[rq->len] = '\0';
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	ep = metrics_endpoint_of(url);
	if (rq->too_large) {
		status = MHD_HTTP_CONTENT_TOO_LARGE;
		res = RESULT_BAD_REQUEST;
		reply = api_error("request body too large; at most %d bytes are "
		    "accepted", API_MAX_BODY);
	} else if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		res = RESULT_BAD_REQUEST;
		reply = api_error("method %.16s not allowed; the plugin API is POST only",
		    method);
	} else
		status = api_handle(h->api, url, rq->body, rq->len, NULL, &reply, &res);
	metrics_request(ep, res, now_ns() - rq->start_ns);
	log_debug("%s %s -> %u (%.1f ms)", method, url, status,
	    (double)(now_ns() - rq->start_ns) / 1e6);
	return send_json(c, status, reply);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	log_vmsg(LOG_LEVEL_DEBUG, fmt, ap);
}

/* Is a daemon answering on path? */
static bool
socket_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

int
http_start(const char *path, struct api *api, struct http **out, char *err,
    size_t errlen)
{
	struct sockaddr_un sa;
	struct http *h;
	struct group *gr;
	char *dir, *slash;
	mode_t mode = 0600;
	int fd, r;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "plugin socket path %s is too long (at most %zu "
		    "bytes)", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if ((dir = strdup(path)) == NULL)
		return -ENOMEM;
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		r = mkdir_p(dir, 0755);
		if (r < 0) {
			snprintf(err, errlen, "cannot create %s for the plugin socket: %s",
			    dir, strerror(-r));
			free(dir);
			return r;
		}
	}
	free(dir);
	if (socket_live(&sa)) {
		snprintf(err, errlen, "another daemon is serving %s; stop it first",
		    path);
		return -EADDRINUSE;
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create a unix socket: %s", strerror(-r));
		return r;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot bind %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	gr = getgrnam("docker");
	if (gr && chown(path, 0, gr->gr_gid) == 0)
		mode = 0660;
	if (chmod(path, mode) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(-r));
		close(fd);
		unlink(path);
		return r;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL || (h->path = strdup(path)) == NULL) {
		free(h);
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	h->api = api;
	h->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, handle, h,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, h,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_END);
	if (h->daemon == NULL) {
		snprintf(err, errlen, "cannot start serving %s (libmicrohttpd)", path);
		close(fd);
		unlink(path);
		free(h->path);
		free(h);
		return -EINVAL;
	}
	log_info("serving the Docker volume plugin API on %s (mode %04o%s)", path,
	    (unsigned)mode, mode == 0660 ? ", group docker" : "");
	*out = h;
	return 0;
}

void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->daemon);
	unlink(h->path);
	free(h->path);
	free(h);
}
