/*
 * cmd_fsck.c - `cephvol fsck`. Placeholder until its issue lands.
 */
#include "cli/cli.h"

int
cmd_fsck(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	die("'cephvol fsck' is not implemented yet");
}
