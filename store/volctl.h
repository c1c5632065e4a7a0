/*
 * store/volctl.h - asking the process that serves a volume to do something,
 * from any host: a RADOS watch on the volume's header object, and a notify
 * that carries the request (JSON) and comes back with the answer.
 *
 * The server (cephvol-mount, while it holds the lease) calls volctl_serve();
 * its handler runs on a thread of its own, one request at a time, never on
 * a librados thread (so it may wait for I/O), and its answer is the notify's
 * acknowledgement. A watch that lapses (a cluster stall) is set up again.
 * The asker (the CLI) calls volctl_request(): the answer of the first
 * watcher that gave one, or -ETIMEDOUT when a watcher did not answer within
 * timeout_ms (err names it), or -ENOTCONN when nobody serves the volume.
 *
 * A request carries "timeout_ms" and "sent_ms" (the asker's wall clock);
 * the handler is given a deadline a quarter before the asker's, less the
 * time the request took to arrive (CLOCK_MONOTONIC milliseconds): past it,
 * it must not start what it could not finish, since the asker has given
 * up and reported a failure.
 */
#ifndef CEPHVOL_STORE_VOLCTL_H
#define CEPHVOL_STORE_VOLCTL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct store;
struct volctl;

/* The answer to req, a new JSON object: {"ok": true, ...} or {"err": "..."}. */
typedef json_t *(*volctl_handler)(void *arg, json_t *req, uint64_t deadline_ms);

/* Serve requests to volume id_hex until volctl_stop(). *out new. */
int	volctl_serve(struct store *st, const char *id_hex, volctl_handler fn,
	    void *arg, struct volctl **out);
/* After it returns, the handler runs no more. */
void	volctl_stop(struct volctl *vc);

/* Ask whoever serves volume id_hex; *reply new (json_decref). */
int	volctl_request(struct store *st, const char *id_hex, json_t *req,
	    unsigned timeout_ms, json_t **reply, char *err, size_t errlen);

/*
 * Ask the live holder of volume id_hex's lease to do op ({"op": op}):
 * -ENOENT when nobody holds it now (the next mount will do it), else
 * volctl_request's result. who (may be NULL) names the holder.
 */
int	volctl_ask_holder(struct store *st, const char *id_hex, const char *op,
	    unsigned timeout_ms, json_t **reply, char *who, size_t wholen,
	    char *err, size_t errlen);

#endif
