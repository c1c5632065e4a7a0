/*
 * secretsfs.c - the secrets tree. Placeholder until the secrets issue lands.
 */
#include <stdio.h>

#include "fuse/secretsfs.h"

int
secretsfs_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "cephvol-mount: --secrets is not implemented yet\n");
	return 1;
}
