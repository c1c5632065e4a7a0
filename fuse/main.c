/*
 * main.c - cephvol-mount (placeholder until the data path issue).
 */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "cephvol-mount: not implemented yet\n");
	return 1;
}
