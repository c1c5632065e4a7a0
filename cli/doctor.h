/*
 * cli/doctor.h - `cephvol doctor`: the checks (cli/doctor_host.c for what
 * is on this host, cli/doctor_cluster.c for the cluster) and the list of
 * results they add to (cli/cmd_doctor.c, which prints it).
 *
 * A result is one line: status, check name, detail, and for a warning or
 * a failure the fix, one line saying what to run or change. Every string
 * from outside (a path, a name, an address, a message of another program)
 * goes into a detail or fix through doctor_esc(), so what is printed is
 * printable ASCII and nothing it quotes can start a line.
 *
 * The cluster checks run on a thread of their own that the command waits
 * for step by step (doctor_step): a step that does not end within its
 * bound is reported failed by the command, which then stops waiting, so a
 * cluster that does not answer costs at most that bound. Results are
 * added under `lock`; once `abandoned` is set, the cluster thread's are
 * dropped (the list is being printed).
 */
#ifndef CEPHVOL_CLI_DOCTOR_H
#define CEPHVOL_CLI_DOCTOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"

enum doctor_status {
	DOCTOR_OK,
	DOCTOR_WARN,
	DOCTOR_FAIL,
};

struct doctor_result {
	enum doctor_status	 status;
	char			 check[16];
	char			*detail;	/* owned */
	char			*fix;		/* owned; NULL for ok */
};

struct doctor {
	struct cli		*cli;		/* borrowed; cli->cfg is the
						 * configuration checked */
	unsigned		 timeout;	/* seconds: each cluster operation,
						 * each command run */
	char			 host[256];	/* this host's name */

	pthread_mutex_t		 lock;		/* guards the fields below */
	pthread_cond_t		 cond;		/* a step began or all ended;
						 * CLOCK_MONOTONIC */
	struct doctor_result	*results;
	size_t			 n, cap;
	const char		*step;		/* the cluster step running */
	unsigned		 steps;		/* steps begun */
	bool			 done;		/* the cluster thread ended */
	bool			 abandoned;	/* no longer waited for */
};

/*
 * Add one result. fix is NULL for ok, else one line (already escaped
 * where it quotes outside text); the detail is fmt. Thread-safe.
 */
void	doctor_add(struct doctor *d, enum doctor_status status, const char *check,
	    const char *fix, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/*
 * s escaped for a result (str_escape, at most 512 bytes shown) in one of
 * eight rotating buffers of the calling thread: valid until the eighth
 * call after.
 */
const char	*doctor_esc(const char *s);
/* The cluster thread begins step `name` (a check name). */
void	doctor_step(struct doctor *d, const char *name);

/* cli/doctor_host.c: the checks that need no cluster, in order. */
void	doctor_check_fuse(struct doctor *d);
void	doctor_check_loop(struct doctor *d);
void	doctor_check_tools(struct doctor *d);
void	doctor_check_config(struct doctor *d);
void	doctor_check_key(struct doctor *d);
void	doctor_check_mounts(struct doctor *d);
void	doctor_check_cephvold(struct doctor *d);
void	doctor_check_docker(struct doctor *d);

/* cli/doctor_cluster.c: connect, pool, caps, clock, blocklist, leases,
 * each a doctor_step; run on the cluster thread. */
void	doctor_check_cluster(struct doctor *d);

#endif
