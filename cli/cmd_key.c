/*
 * cmd_key.c - `cephvol key`. Placeholder until its issue lands.
 */
#include "cli/cli.h"

int
cmd_key(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	die("'cephvol key' is not implemented yet");
}
