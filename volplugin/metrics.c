/*
 * metrics.c - counters of the request path and their Prometheus text form.
 *
 * Every counter is a relaxed atomic: the request path never takes a lock to
 * count. The exposition is rendered on demand by a second libmicrohttpd
 * daemon on a TCP address (metrics.listen, off by default) so a scrape never
 * competes with Docker's socket. Gauges (mounted volumes, live helpers) come
 * from callbacks into the mount table, called at scrape time.
 *
 * Not visible from here: lease renewals. The lease lives in each
 * cephvol-mount process; cephvold sees only its effects (a mount refused
 * because the lease is held elsewhere, a helper that died).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/log.h"
#include "common/util.h"
#include "volplugin/metrics.h"

static const char *const endpoint_names[EP_COUNT] = {
	"Plugin.Activate", "VolumeDriver.Create", "VolumeDriver.Remove",
	"VolumeDriver.Mount", "VolumeDriver.Unmount", "VolumeDriver.Path",
	"VolumeDriver.Get", "VolumeDriver.List", "VolumeDriver.Capabilities",
	"other",
};

static const char *const result_names[RESULT_COUNT] = {
	"ok", "error", "bad_request", "timeout",
};

static const struct {
	const char	*name;
	const char	*help;
} event_names[EV_COUNT] = {
	{ "cephvol_attach_total", "volumes attached on this host (cephvol-mount, loop, mount)" },
	{ "cephvol_attach_failures_total", "attach attempts that failed, any reason" },
	{ "cephvol_lease_busy_total", "mounts refused because another client holds the volume's lease" },
	{ "cephvol_detach_total", "volumes detached after their last Unmount" },
	{ "cephvol_detach_failures_total", "detach attempts that failed" },
	{ "cephvol_state_repairs_total", "host mount state repairs (at start-up or on Mount)" },
	{ "cephvol_helper_lost_total", "cephvol-mount processes found dead under a live reference" },
};

/* Upper bounds of the latency buckets, seconds. */
static const double buckets[] = {
	0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
};
#define NBUCKETS	ARRAY_SIZE(buckets)

static _Atomic uint64_t requests[EP_COUNT][RESULT_COUNT];
static _Atomic uint64_t latency_bucket[EP_COUNT][NBUCKETS];
static _Atomic uint64_t latency_count[EP_COUNT];
static _Atomic uint64_t latency_sum_ns[EP_COUNT];
static _Atomic uint64_t events[EV_COUNT];

static struct MHD_Daemon *daemon_;
static unsigned	(*gauge_mounted)(void *);
static unsigned	(*gauge_helpers)(void *);
static void	*gauge_arg;

const char *
metrics_endpoint_name(enum metrics_endpoint ep)
{
	return ep < EP_COUNT ? endpoint_names[ep] : "other";
}

enum metrics_endpoint
metrics_endpoint_of(const char *path)
{
	if (path == NULL || *path != '/')
		return EP_OTHER;
	for (int i = 0; i < EP_OTHER; i++)
		if (strcmp(path + 1, endpoint_names[i]) == 0)
			return (enum metrics_endpoint)i;
	return EP_OTHER;
}

void
metrics_request(enum metrics_endpoint ep, enum metrics_result res, uint64_t ns)
{
	double s = (double)ns / 1e9;

	if (ep >= EP_COUNT || res >= RESULT_COUNT)
		return;
	atomic_fetch_add_explicit(&requests[ep][res], 1, memory_order_relaxed);
	for (size_t i = 0; i < NBUCKETS; i++)
		if (s <= buckets[i]) {
			atomic_fetch_add_explicit(&latency_bucket[ep][i], 1,
			    memory_order_relaxed);
			break;
		}
	atomic_fetch_add_explicit(&latency_count[ep], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&latency_sum_ns[ep], ns, memory_order_relaxed);
}

void
metrics_event(enum metrics_event ev)
{
	if (ev < EV_COUNT)
		atomic_fetch_add_explicit(&events[ev], 1, memory_order_relaxed);
}

/* A growing text buffer; on allocation failure it stays short (ok = 0). */
struct text {
	char	*buf;
	size_t	 len, cap;
	int	 ok;
};

__attribute__((format(printf, 2, 3))) static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!t->ok)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->ok = 0;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap * 2 + (size_t)n;
		char *nb = realloc(t->buf, cap);
		if (nb == NULL) {
			t->ok = 0;
			return;
		}
		t->buf = nb;
		t->cap = cap;
	}
}

static uint64_t
get(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

char *
metrics_render(void)
{
	struct text t = { malloc(4096), 0, 4096, 1 };

	if (t.buf == NULL)
		return NULL;
	t.buf[0] = '\0';
	text_add(&t, "# HELP cephvol_requests_total Docker VolumeDriver requests by endpoint and result\n"
	    "# TYPE cephvol_requests_total counter\n");
	for (int e = 0; e < EP_COUNT; e++)
		for (int r = 0; r < RESULT_COUNT; r++)
			text_add(&t, "cephvol_requests_total{endpoint=\"%s\",result=\"%s\"} %llu\n",
			    endpoint_names[e], result_names[r],
			    (unsigned long long)get(&requests[e][r]));
	text_add(&t, "# HELP cephvol_request_duration_seconds time to answer a Docker request\n"
	    "# TYPE cephvol_request_duration_seconds histogram\n");
	for (int e = 0; e < EP_COUNT; e++) {
		uint64_t cum = 0;
		for (size_t i = 0; i < NBUCKETS; i++) {
			cum += get(&latency_bucket[e][i]);
			text_add(&t, "cephvol_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n",
			    endpoint_names[e], buckets[i], (unsigned long long)cum);
		}
		text_add(&t, "cephvol_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n",
		    endpoint_names[e], (unsigned long long)get(&latency_count[e]));
		text_add(&t, "cephvol_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n",
		    endpoint_names[e], (double)get(&latency_sum_ns[e]) / 1e9);
		text_add(&t, "cephvol_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
		    endpoint_names[e], (unsigned long long)get(&latency_count[e]));
	}
	for (int ev = 0; ev < EV_COUNT; ev++)
		text_add(&t, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
		    event_names[ev].name, event_names[ev].help, event_names[ev].name,
		    event_names[ev].name, (unsigned long long)get(&events[ev]));
	text_add(&t, "# HELP cephvol_mounted_volumes volumes mounted on this host with at least one reference\n"
	    "# TYPE cephvol_mounted_volumes gauge\ncephvol_mounted_volumes %u\n",
	    gauge_mounted ? gauge_mounted(gauge_arg) : 0);
	text_add(&t, "# HELP cephvol_mount_helpers_alive cephvol-mount processes alive (each holds one volume's lease)\n"
	    "# TYPE cephvol_mount_helpers_alive gauge\ncephvol_mount_helpers_alive %u\n",
	    gauge_helpers ? gauge_helpers(gauge_arg) : 0);
	if (!t.ok) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}

static enum MHD_Result
serve(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;
	char *body;

	(void)cls;
	(void)version;
	(void)upload;
	(void)upload_size;
	if (*con_cls == NULL) {		/* headers only: wait for the end */
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		body = strdup("only GET is served here\n");
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strcmp(url, "/metrics") != 0 && strcmp(url, "/") != 0) {
		body = strdup("metrics are at /metrics\n");
		status = MHD_HTTP_NOT_FOUND;
	} else
		body = metrics_render();
	if (body == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int
metrics_start(const char *addr, unsigned (*mounted)(void *),
    unsigned (*helpers)(void *), void *arg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[256];
	const char *colon = strrchr(addr, ':');
	uint64_t port;
	int fd, one = 1;

	gauge_mounted = mounted;
	gauge_helpers = helpers;
	gauge_arg = arg;
	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host) ||
	    uint_parse(colon + 1, 1, 65535, &port) < 0) {
		snprintf(err, errlen, "metrics.listen '%s' is not HOST:PORT", addr);
		return -EINVAL;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&ss, 0, sizeof(ss));
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		snprintf(err, errlen, "metrics.listen '%s': '%s' is not an IP address",
		    addr, host);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create the metrics socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot listen for metrics on %s: %s", addr,
		    strerror(e));
		close(fd);
		return -e;
	}
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL,
	    0, NULL, NULL, serve, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
	    MHD_OPTION_END);
	if (daemon_ == NULL) {
		snprintf(err, errlen, "cannot start the metrics listener on %s", addr);
		close(fd);
		return -EINVAL;
	}
	log_info("metrics on http://%s/metrics", addr);
	return 0;
}

void
metrics_stop(void)
{
	if (daemon_) {
		MHD_stop_daemon(daemon_);
		daemon_ = NULL;
	}
}
