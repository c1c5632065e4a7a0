/*
 * cmd_lock.c - `cephvol lock`. Placeholder until its issue lands.
 */
#include "cli/cli.h"

int
cmd_lock(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	die("'cephvol lock' is not implemented yet");
}
