/*
 * cmd_secret.c - `cephvol secret`. Placeholder until its issue lands.
 */
#include "cli/cli.h"

int
cmd_secret(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	die("'cephvol secret' is not implemented yet");
}
