/*
 * volplugin/http.h - the Docker plugin socket: a unix socket cephvold binds
 * itself, served by libmicrohttpd (one polling thread; a worker thread per
 * request being answered), each request handed to api_handle(), every
 * connection under fixed deadlines and a connection limit (conns.h).
 */
#ifndef CEPHVOL_VOLPLUGIN_HTTP_H
#define CEPHVOL_VOLPLUGIN_HTTP_H

#include <stddef.h>

struct api;
struct http;

/*
 * Bind path (mode 0660 group docker when that group exists, else 0600;
 * the parent directory is created), refusing if another daemon answers
 * there, and serve it. *out is new: http_stop(). -errno and a sentence in
 * err on failure.
 */
int	http_start(const char *path, struct api *api, struct http **out,
	    char *err, size_t errlen);
/* Stop: wait (30 s at most) for the requests being answered (call
 * api_stop() first, so they end at once), close every connection, remove
 * the socket file. */
void	http_stop(struct http *h);

#endif
