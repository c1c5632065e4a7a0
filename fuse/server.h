/*
 * fuse/server.h - what cephvol-mount serves, as a struct of operations.
 * fuse/main.c does what every server needs (the command line, the
 * configuration and the log, detaching, signals, the pid file and the
 * readiness line: host/helperproto.h) and hands the rest to one server,
 * as nbdkit hands a connection to a plugin:
 *
 *	imagefs_server		a block volume: its lease, its image served as
 *				one file (fuse/imagefs_server.c)
 *	secretsfs_server	a secrets volume: its registration, a read-only
 *				tree (fuse/secretsfs_server.c); picked with
 *				HELPER_OPT_SECRETS
 *
 * main.c stores the server's own options, then calls from its main
 * thread, in this order: setup() once; serve(); teardown() once.
 * From its signal thread it calls stop(), only between setup() and
 * teardown() (its stop lock keeps the two apart), then interrupts the
 * thread in serve() with SIGUSR1 (a handler that does nothing, without
 * SA_RESTART) every few milliseconds until serve() returns: a loop asleep
 * in read(2) or sem_wait(3) wakes and sees that it must end.
 */
#ifndef CEPHVOL_SERVER_H
#define CEPHVOL_SERVER_H

#include <stddef.h>

struct config;

/* One option of a server, --NAME N, N a whole number from min to max. */
struct server_option {
	const char	*name;		/* without the dashes */
	const char	*arg;		/* its argument in --help: "N" */
	const char	*help;		/* its text in --help (a second line
					 * is indented by the text itself) */
	const char	*what;		/* in the usage error: "a number" */
	unsigned	 min, max;
	unsigned	*value;		/* where main.c stores it, before
					 * setup(); the default stays there
					 * when it is not given */
};

/* What setup() is given; all borrowed, valid until teardown() returns. */
struct server_args {
	const char		*volume;	/* a valid volume name */
	const char		*dir;		/* where to mount */
	const struct config	*cfg;
};

struct server {
	/* The command line: HELPER_PROGRAM [select] [options] args. */
	const char	*select;	/* the option that picks this server
					 * (HELPER_OPT_SECRETS); NULL: the
					 * default one */
	const char	*select_help;	/* its line in the default's --help */
	const char	*args;		/* "VOLUME DIR", the usage's names */
	const char	*about;		/* what it does, for --help */
	const struct server_option *options;	/* ended by a NULL name */

	/*
	 * Everything up to serving: memory policy, the cluster, the lease
	 * or registration, the mount; the last thing it does is to log that
	 * it serves. *hp is new: teardown(). *cookie, for the pid file, is
	 * the cookie of its lease or registration, borrowed until
	 * teardown(). On failure -errno and a sentence in err for the ready
	 * line, and everything undone, the lease or registration given back.
	 */
	int		(*setup)(const struct server_args *a, void **hp,
			    const char **cookie, char *err, size_t errlen);
	/* Serve until the mount goes away or stop(); 0 or -errno. */
	int		(*serve)(void *h);
	/* Make serve() return (from the signal thread; see the top). */
	void		(*stop)(void *h);
	/* Unmount, give everything back, log the end, free h. 0, or -errno
	 * (logged) when something that was served may be lost. */
	int		(*teardown)(void *h);
};

extern const struct server imagefs_server;	/* fuse/imagefs_server.c */
extern const struct server secretsfs_server;	/* fuse/secretsfs_server.c */

#endif
