/*
 * volplugin/metrics.h - cephvold's Prometheus metrics: counters kept by the
 * request path, served as text on a second HTTP listener (metrics.listen).
 * Recording is always on and lock-free (atomics); serving is off unless
 * metrics.listen names HOST:PORT.
 */
#ifndef CEPHVOL_VOLPLUGIN_METRICS_H
#define CEPHVOL_VOLPLUGIN_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Endpoints, in the order metrics_endpoint_name() knows them. */
enum metrics_endpoint {
	EP_ACTIVATE = 0,
	EP_CREATE,
	EP_REMOVE,
	EP_MOUNT,
	EP_UNMOUNT,
	EP_PATH,
	EP_GET,
	EP_LIST,
	EP_CAPABILITIES,
	EP_OTHER,
	EP_COUNT,
};

/* How a request ended. */
enum metrics_result {
	RESULT_OK = 0,		/* HTTP 200, empty Err */
	RESULT_ERROR,		/* HTTP 200 with an Err */
	RESULT_BAD_REQUEST,	/* HTTP 4xx */
	RESULT_TIMEOUT,		/* plugin.timeout passed */
	RESULT_COUNT,
};

/* Events seen by the mount table and the mount path. */
enum metrics_event {
	EV_MOUNT_ATTACHED = 0,	/* attach_mount succeeded */
	EV_MOUNT_FAILED,	/* attach_mount failed */
	EV_MOUNT_BUSY,		/* refused: lease held elsewhere */
	EV_UNMOUNT_DETACHED,	/* attach_unmount succeeded */
	EV_UNMOUNT_FAILED,
	EV_REPAIR,		/* a state repair at start or on Mount */
	EV_HELPER_LOST,		/* a cephvol-mount found dead under a mount */
	EV_COUNT,
};

const char *metrics_endpoint_name(enum metrics_endpoint ep);
/* The endpoint for a request path ("/VolumeDriver.Mount"), EP_OTHER if none. */
enum metrics_endpoint metrics_endpoint_of(const char *path);

void	metrics_request(enum metrics_endpoint ep, enum metrics_result res,
	    uint64_t elapsed_ns);
void	metrics_event(enum metrics_event ev);

/*
 * Serve metrics on addr ("127.0.0.1:9283"); gauges are read through
 * mounted(arg) (volumes mounted here) and helpers(arg) (live cephvol-mount
 * processes) when scraped. Returns 0 or -errno with a sentence in err.
 */
int	metrics_start(const char *addr, unsigned (*mounted)(void *),
	    unsigned (*helpers)(void *), void *arg, char *err, size_t errlen);
void	metrics_stop(void);

/* The whole text exposition into a new malloc'd string (also for tests). */
char	*metrics_render(void);

#endif
