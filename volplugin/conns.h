/*
 * volplugin/conns.h - the plugin socket's connections, each under a fixed
 * deadline for what it must do next (a watchdog thread cuts those past it),
 * and a bound on how many are open at once (past it, a new connection
 * cuts the stalled one nearest its deadline). The connections are
 * libmicrohttpd's; conns_notify() follows them from opening to close.
 */
#ifndef CEPHVOL_VOLPLUGIN_CONNS_H
#define CEPHVOL_VOLPLUGIN_CONNS_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

/* A new connection's whole request, or the rest of a request after its
 * request line on a kept-alive connection, must arrive within this. */
#define CONNS_REQUEST_S		10
/* A kept-alive connection may wait this long for its next request; a
 * reply must be taken within this. */
#define CONNS_IDLE_S		30

struct conns;		/* the connections of one socket */
struct conn;		/* one of them */

/* Where a connection is, which says what its deadline counts. */
enum conns_phase {
	CONNS_WAIT,	/* for a request line: new, or kept alive after a reply */
	CONNS_READ,	/* reading the rest of a request */
	CONNS_RUN,	/* its request is being answered: no deadline */
	CONNS_REPLY,	/* sending the reply */
};

/*
 * Raise the soft descriptor limit to the hard one, take as many
 * connections as it leaves room for (conns_max()), and start the watchdog.
 * *out is new: conns_stop(), then conns_free() once libmicrohttpd has
 * closed every connection. -errno and a sentence in err on failure.
 */
int	conns_start(struct conns **out, char *err, size_t errlen);
/* Connections open at most (for libmicrohttpd's own limit). */
unsigned conns_max(struct conns *cs);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback; cls: the conns. */
void	conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
	    enum MHD_ConnectionNotificationCode code);
/* The connection c belongs to; NULL if untracked (no memory at opening). */
struct conn *conns_of(struct MHD_Connection *c);
/* cn (may be NULL) moves to phase; its deadline follows. */
void	conns_phase(struct conns *cs, struct conn *cn, enum conns_phase phase);
/* A reply on cn (may be NULL) was sent: it waits for the next request. */
void	conns_replied(struct conns *cs, struct conn *cn);
/* Was cn cut (past its deadline, or evicted)? Nobody takes its reply. */
bool	conns_cut(struct conns *cs, struct conn *cn);
/* Stop the watchdog: no connection is cut any more. */
void	conns_stop(struct conns *cs);
void	conns_free(struct conns *cs);

#endif
