/*
 * cmd_volume_mount.c - `cephvol volume mount|unmount`. Placeholder until the
 * data path issue lands.
 */
#include "cli/cli.h"

int
cmd_volume_mount(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	die("'cephvol volume mount' is not implemented yet");
}

int
cmd_volume_unmount(struct cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	die("'cephvol volume unmount' is not implemented yet");
}
