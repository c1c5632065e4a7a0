/*
 * cmd_volume.c - `cephvol volume`. Placeholder until its issue lands.
 */
#include "cli/cli.h"

int
cmd_volume(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	die("'cephvol volume' is not implemented yet");
}
