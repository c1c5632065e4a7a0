/*
 * http.c - the Docker plugin socket.
 *
 * We bind the AF_UNIX socket ourselves (so we choose its mode and group and
 * never steal the socket of a live daemon) and hand it to libmicrohttpd
 * with MHD_OPTION_LISTEN_SOCKET. One libmicrohttpd thread polls every
 * connection (epoll). A request whose body is in is suspended and handed
 * to a worker thread of its own, which runs api_handle() (bounded by
 * plugin.timeout) and resumes the connection; the polling thread then
 * queues the reply. So a connection costs a thread only while one of its
 * requests is being answered: a stalled or idle one costs a socket and
 * its buffer (HTTP_CONN_MEMORY). dockerd keeps one connection alive for
 * sequential requests and opens more for parallel ones, so requests for
 * different volumes run in parallel. (A thread per connection, as before,
 * gave every stalled connection a thread: 500 of them cost 500 threads.)
 *
 * Anyone who can connect may be broken or hostile. Each connection is
 * under a deadline and their number is bounded (conns.c); here:
 * - A head over HTTP_MAX_HEAD gets 431, a body over API_MAX_BODY 413, a
 *   method other than POST 405, a URL with an encoded NUL (%00) 400. A
 *   refused request's body is read and dropped first, up to
 *   HTTP_MAX_DRAIN, so a client still sending gets the reply instead of a
 *   broken pipe; a larger body (by Content-Length), or a client that asked
 *   "Expect: 100-continue", is answered at once, before it sends; a
 *   chunked body past HTTP_MAX_DRAIN is cut without a reply.
 *
 * Every reply we send is JSON {"Err": ...} (or the endpoint's answer) with
 * Docker's content type. libmicrohttpd answers by itself (HTML, then
 * closes) only what never reaches us: a head that does not fit its
 * HTTP_CONN_MEMORY buffer, or broken HTTP framing (request line, chunks,
 * Content-Length); it has no hook for those replies.
 *
 * What a client sends reaches log lines and Errs only through
 * str_escape(), once.
 *
 * Locking: http.lock guards the count of workers and the stopping flag;
 * nothing blocks under it. A struct req belongs to the polling thread,
 * except between suspend and resume, when it belongs to its worker
 * (libmicrohttpd's resume takes a lock the polling thread takes before
 * calling us again).
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "common/log.h"
#include "common/util.h"
#include "volplugin/api.h"
#include "volplugin/conns.h"
#include "volplugin/http.h"
#include "volplugin/metrics.h"

/* Request line and headers at most; more gets 431. */
#define HTTP_MAX_HEAD		(32 * 1024)
/* libmicrohttpd's memory per connection (head, header records, reply
 * headers). Heads up to about 95 KB in one header, or 400 headers of 100
 * bytes, reach us (and get our 431); larger ones get libmicrohttpd's. A
 * kept-alive connection holds all of it in RAM after its first request
 * (libmicrohttpd zeroes it between requests): 85 MiB over the 896
 * connections past which conns.c evicts. */
#define HTTP_CONN_MEMORY	(96 * 1024)
/* A refused request's body is read and dropped up to this. */
#define HTTP_MAX_DRAIN		(1024 * 1024)
/* Requests being answered at once, a worker thread each. */
#define HTTP_MAX_WORKERS	(2 * API_MAX_JOBS)
/* How long http_stop() waits for the workers. */
#define HTTP_STOP_WAIT_S	30

struct http {
	struct MHD_Daemon	*daemon;
	char			*path;		/* owned */
	struct api		*api;		/* borrowed */
	struct conns		*conns;		/* owned */

	pthread_mutex_t		 lock;
	pthread_cond_t		 idle;		/* the last worker ended */
	unsigned		 workers;	/* guarded by lock */
	bool			 stopping;	/* guarded by lock */
};

/* One request, from its request line (uri_logged) to libmicrohttpd's
 * completion notice (completed). */
struct req {
	struct http		*h;
	struct MHD_Connection	*c;
	struct conn		*conn;		/* borrowed; NULL if untracked */
	enum {
		REQ_HEAD,			/* next call: the head is in */
		REQ_BODY,			/* body chunks, then its end */
		REQ_RUN,			/* suspended; the worker's */
		REQ_DONE,			/* status and reply are set */
	}			 stage;
	char			 uri[192];	/* as sent, escaped: for logs */
	bool			 nul;		/* "%00" in the URI */
	bool			 refused;	/* by us, on the head or body */
	char			*path;		/* owned: the worker's copy */
	char			*body;		/* owned, NUL-terminated */
	size_t			 len;
	uint64_t		 drained;	/* body bytes read and dropped */
	uint64_t		 start_ns;
	enum metrics_endpoint	 ep;
	unsigned		 status;	/* the answer */
	json_t			*reply;		/* owned */
	enum metrics_result	 res;
};

/* --- requests ------------------------------------------------------------ */

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

/* Refuse rq with status and an Err; answered once its body is read. Any
 * client string in fmt's arguments must come through str_escape(). */
__attribute__((format(printf, 3, 4))) static void
refuse(struct req *rq, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(rq->reply);
	rq->reply = api_error("%s", msg);
	rq->status = status;
	rq->res = status >= 500 ? RESULT_ERROR : RESULT_BAD_REQUEST;
	rq->refused = true;
}

/* Queue rq's answer; count it and log it. */
static enum MHD_Result
answer(struct req *rq, const char *method)
{
	uint64_t ns = now_ns() - rq->start_ns;
	json_t *reply = rq->reply;
	const char *err;
	char mb[64];

	rq->reply = NULL;
	rq->stage = REQ_DONE;
	str_escape(mb, sizeof(mb), method, strlen(method));
	metrics_request(rq->ep, rq->res, ns);
	/* api.c logs the requests it refuses itself */
	err = json_string_value(json_object_get(reply, "Err"));
	if (rq->refused && err)
		log_info("refused %s %s with %u: %s", mb, rq->uri, rq->status, err);
	log_debug("%s %s -> %u (%.1f ms)", mb, rq->uri, rq->status, (double)ns / 1e6);
	conns_phase(rq->h->conns, rq->conn, CONNS_REPLY);
	return send_json(rq->c, rq->status, reply);
}

/* The request line is in: the request's deadline starts (kept-alive
 * connections), and its state. The return value is the con_cls handle()
 * and completed() get. */
static void *
uri_logged(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct http *h = cls;
	struct conn *cn = conns_of(c);
	struct req *rq;

	conns_phase(h->conns, cn, CONNS_READ);
	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	rq->h = h;
	rq->c = c;
	rq->conn = cn;
	rq->start_ns = now_ns();
	if (uri == NULL)
		uri = "";
	str_escape(rq->uri, sizeof(rq->uri), uri, strlen(uri));
	/* libmicrohttpd decodes it into a NUL that would cut the path short */
	rq->nul = strstr(uri, "%00") != NULL;
	return rq;
}

/* First call: the head is in. Refuse what we can tell from it. */
static enum MHD_Result
on_head(struct req *rq, const char *url, const char *method)
{
	const union MHD_ConnectionInfo *ci;
	const char *cl, *expect;
	uint64_t clen = 0;
	char sb[64];

	rq->stage = REQ_BODY;
	rq->ep = metrics_endpoint_of(url);
	ci = MHD_get_connection_info(rq->c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	/* libmicrohttpd has checked it is digits that fit */
	cl = MHD_lookup_connection_value(rq->c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl)
		clen = strtoull(cl, NULL, 10);
	if (ci && ci->header_size > HTTP_MAX_HEAD)
		refuse(rq, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, "request head "
		    "too large (%zu bytes); at most %d bytes of request line and "
		    "headers are accepted", ci->header_size, HTTP_MAX_HEAD);
	else if (rq->nul)
		refuse(rq, MHD_HTTP_BAD_REQUEST, "the URL %s holds an encoded NUL "
		    "byte (%%00)", rq->uri);
	else if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		refuse(rq, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s not allowed; the "
		    "plugin API is POST only", str_escape(sb, 24, method, strlen(method)));
	else if (clen > API_MAX_BODY)
		refuse(rq, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large (%s "
		    "bytes); at most %d bytes are accepted",
		    str_escape(sb, sizeof(sb), cl, strlen(cl)), API_MAX_BODY);
	if (!rq->refused)
		return MHD_YES;
	/* a body we will not read: answer now, before the client sends it */
	expect = MHD_lookup_connection_value(rq->c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_EXPECT);
	if (clen > HTTP_MAX_DRAIN || (expect && strcasecmp(expect, "100-continue") == 0))
		return answer(rq, method);
	return MHD_YES;
}

/* A piece of the body: keep it, or drop it if refused. */
static enum MHD_Result
on_body(struct req *rq, const char *method, const char *data, size_t *size)
{
	size_t n = *size;
	char mb[64], *nb;

	*size = 0;
	if (!rq->refused && rq->len + n > API_MAX_BODY) {
		refuse(rq, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large; at "
		    "most %d bytes are accepted", API_MAX_BODY);
		rq->drained = rq->len;
		free(rq->body);
		rq->body = NULL;
		rq->len = 0;
	}
	if (rq->refused) {
		rq->drained += n;
		if (rq->drained <= HTTP_MAX_DRAIN)
			return MHD_YES;
		metrics_request(rq->ep, RESULT_BAD_REQUEST, now_ns() - rq->start_ns);
		log_info("refused %s %s: its body went on past %d bytes; closing "
		    "the connection without a reply",
		    str_escape(mb, sizeof(mb), method, strlen(method)), rq->uri,
		    HTTP_MAX_DRAIN);
		return MHD_NO;
	}
	if ((nb = realloc(rq->body, rq->len + n + 1)) == NULL)
		return MHD_NO;
	memcpy(nb + rq->len, data, n);
	rq->body = nb;
	rq->len += n;
	rq->body[rq->len] = '\0';
	return MHD_YES;
}

/* The suspended connection's socket: open until we resume it. */
static int
req_fd(struct req *rq)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(rq->c, MHD_CONNECTION_INFO_CONNECTION_FD);

	return ci ? ci->connect_fd : -1;
}

/* Has the client hung up while its request is answered? (A full close:
 * POLLHUP; a client that only shut down its sending side still waits.) */
static bool
req_gone(void *arg)
{
	struct pollfd p = { .fd = req_fd(arg), .events = POLLIN };

	return p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void *
worker_main(void *arg)
{
	struct req *rq = arg;
	struct http *h = rq->h;
	struct api_caller caller = { .gone = req_gone, .arg = rq };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int fd = req_fd(rq);

	/* who is asking: dockerd's pid (mount references record it) */
	if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		caller.pid = cred.pid;
	rq->status = api_handle(h->api, rq->path, rq->body, rq->len, &caller,
	    &rq->reply, &rq->res);
	rq->stage = REQ_DONE;
	/* from here on rq is the polling thread's, which answers and frees it */
	MHD_resume_connection(rq->c);
	pthread_mutex_lock(&h->lock);
	if (--h->workers == 0)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* The body is in: answer a refusal, or hand the request to a worker. */
static enum MHD_Result
on_end(struct http *h, struct req *rq, const char *url, const char *method)
{
	pthread_attr_t attr;
	pthread_t t;
	bool full, stopping;
	int r;

	if (rq->refused)
		return answer(rq, method);
	/* cut at its deadline just as it came in: nobody would get the answer */
	if (conns_cut(h->conns, rq->conn))
		return MHD_NO;
	pthread_mutex_lock(&h->lock);
	full = h->workers >= HTTP_MAX_WORKERS;
	stopping = h->stopping;
	if (!full && !stopping)
		h->workers++;
	pthread_mutex_unlock(&h->lock);
	if (stopping) {
		refuse(rq, MHD_HTTP_SERVICE_UNAVAILABLE, "cephvold is stopping");
		return answer(rq, method);
	}
	if (full) {
		refuse(rq, MHD_HTTP_SERVICE_UNAVAILABLE, "%d requests are already "
		    "being answered; try again later", HTTP_MAX_WORKERS);
		return answer(rq, method);
	}
	rq->stage = REQ_RUN;
	rq->path = strdup(url);
	conns_phase(h->conns, rq->conn, CONNS_RUN);
	MHD_suspend_connection(rq->c);
	r = rq->path ? 0 : ENOMEM;
	if (r == 0) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = pthread_create(&t, &attr, worker_main, rq);
		pthread_attr_destroy(&attr);
	}
	if (r != 0) {
		pthread_mutex_lock(&h->lock);
		if (--h->workers == 0)
			pthread_cond_broadcast(&h->idle);
		pthread_mutex_unlock(&h->lock);
		rq->reply = api_error("cannot start answering the request: %s",
		    strerror(r));
		rq->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		rq->res = RESULT_ERROR;
		rq->stage = REQ_DONE;
		MHD_resume_connection(rq->c);
	}
	return MHD_YES;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct req *rq = *con_cls;

	(void)c;
	(void)version;
	if (rq == NULL)
		return MHD_NO;	/* out of memory at its request line */
	switch (rq->stage) {
	case REQ_HEAD:
		return on_head(rq, url, method);
	case REQ_BODY:
		if (*upload_size > 0)
			return on_body(rq, method, upload, upload_size);
		return on_end(h, rq, url, method);
	case REQ_RUN:
		return MHD_YES;	/* still the worker's */
	case REQ_DONE:
		break;
	}
	return answer(rq, method);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)c;
	if (rq == NULL)
		return;
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		conns_replied(((struct http *)cls)->conns, rq->conn);
	json_decref(rq->reply);
	free(rq->path);
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

/* libmicrohttpd's own messages, at debug level, escaped like the rest. */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512], shown[768];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		n--;
	log_debug("libmicrohttpd: %s", str_escape(shown, sizeof(shown), msg, n));
}

/* --- start and stop ------------------------------------------------------ */

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

static void
http_free(struct http *h)
{
	conns_free(h->conns);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->idle);
	free(h->path);
	free(h);
}

int
http_start(const char *path, struct api *api, struct http **out, char *err,
    size_t errlen)
{
	struct sockaddr_un sa;
	struct http *h;
	struct group *gr;
	pthread_condattr_t ca;
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
	if (chmod(path, mode) < 0 || listen(fd, 128) < 0) {
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
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->idle, &ca);
	pthread_condattr_destroy(&ca);
	if ((r = conns_start(&h->conns, err, errlen)) < 0) {
		close(fd);
		unlink(path);
		http_free(h);
		return r;
	}
	/* the logger first, or libmicrohttpd warns through its own */
	h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, handle, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_NOTIFY_CONNECTION, conns_notify, h->conns,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_logged, h,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, h,
	    MHD_OPTION_CONNECTION_LIMIT, conns_max(h->conns),
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
	    /* inactivity, a backstop only: conns.c cuts before */
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(CONNS_IDLE_S + CONNS_REQUEST_S),
	    MHD_OPTION_END);
	if (h->daemon == NULL) {
		snprintf(err, errlen, "cannot start serving %s (libmicrohttpd)", path);
		conns_stop(h->conns);
		close(fd);
		unlink(path);
		http_free(h);
		return -EINVAL;
	}
	log_info("serving the Docker volume plugin API on %s (mode %04o%s; at most "
	    "%u connections)", path, (unsigned)mode, mode == 0660 ? ", group docker" : "",
	    conns_max(h->conns));
	*out = h;
	return 0;
}

void
http_stop(struct http *h)
{
	struct timespec until;
	unsigned busy;

	if (h == NULL)
		return;
	conns_stop(h->conns);
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += HTTP_STOP_WAIT_S;
	while (h->workers > 0)
		if (pthread_cond_timedwait(&h->idle, &h->lock, &until) == ETIMEDOUT)
			break;
	busy = h->workers;
	pthread_mutex_unlock(&h->lock);
	if (busy > 0) {
		/* libmicrohttpd cannot stop with connections suspended: leave
		 * them (and h) to the exit */
		log_warn("%u request(s) still being answered after %ds; not waiting",
		    busy, HTTP_STOP_WAIT_S);
		unlink(h->path);
		return;
	}
	MHD_stop_daemon(h->daemon);
	unlink(h->path);
	http_free(h);
}
