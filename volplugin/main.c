/*
 * main.c - cephvold (placeholder until the cephvold issue).
 */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "cephvold: not implemented yet\n");
	return 1;
}
