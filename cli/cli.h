/*
 * cli/cli.h - what every `cephvol` command gets: the configuration, output
 * mode, and the cluster connection made on first use.
 *
 * A command is one function: int cmd_x(struct cli *, int argc, char **argv)
 * where argv[0] is the command's own name ("volume"). It returns the exit
 * status: 0 success, 1 failure (after die()/cli_error()), 2 usage error.
 */
#ifndef CEPHVOL_CLI_H
#define CEPHVOL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>

#include "common/config.h"
#include "store/conn.h"

struct cli {
	struct config	 cfg;
	bool		 json;		/* --json: machine-readable output */
	bool		 yes;		/* --yes: assume yes to confirmations */
	unsigned	 verbose;
	struct store	*store;		/* NULL until cli_store() */
	const char	*config_err;	/* doctor only: why the configuration
					 * did not parse (cfg then holds the
					 * defaults); NULL when it did */
};

/* Connect on first use; on failure die() with the connection's sentence. */
struct store	*cli_store(struct cli *cli);
/* Same, creating the pool if it is missing. */
struct store	*cli_store_create_pool(struct cli *cli);

/*
 * A command of cephvol, or a verb of a command: fn(cli, argc, argv) with
 * argv[0] its own name. summary is for `cephvol --help` (NULL for verbs).
 */
struct cli_verb {
	const char	*name;
	int		(*fn)(struct cli *, int, char **);
	const char	*summary;
};
/*
 * Run the verb that argv[1] names with argv + 1, getopt reset for its own
 * options, and return its exit status; -ENOENT when none has that name
 * (the caller says what is accepted).
 */
int	cli_verb_run(struct cli *cli, const struct cli_verb *verbs, size_t n,
	    int argc, char **argv);

/* "cephvol: error: ..." on stderr, exit 1. */
noreturn void	die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "cephvol: usage: ..." on stderr, exit 2. */
noreturn void	usage_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Commands, one file each (cli/cmd_<name>.c). */
int	cmd_status(struct cli *cli, int argc, char **argv);
int	cmd_volume(struct cli *cli, int argc, char **argv);
int	cmd_lock(struct cli *cli, int argc, char **argv);
int	cmd_fsck(struct cli *cli, int argc, char **argv);
int	cmd_secret(struct cli *cli, int argc, char **argv);
int	cmd_key(struct cli *cli, int argc, char **argv);
int	cmd_snapshot(struct cli *cli, int argc, char **argv);
int	cmd_doctor(struct cli *cli, int argc, char **argv);
/* `cephvol volume mount|unmount`, called by cmd_volume (cli/cmd_volume_mount.c). */
int	cmd_volume_mount(struct cli *cli, int argc, char **argv);
int	cmd_volume_unmount(struct cli *cli, int argc, char **argv);
/* `cephvol volume rollback`, called by cmd_volume (cli/cmd_snapshot.c). */
int	cmd_volume_rollback(struct cli *cli, int argc, char **argv);
/* `cephvol volume export|import|import-diff` (cli/cmd_backup.c). */
int	cmd_volume_export(struct cli *cli, int argc, char **argv);
int	cmd_volume_import(struct cli *cli, int argc, char **argv);
int	cmd_volume_import_diff(struct cli *cli, int argc, char **argv);

#endif
