/*
 * fuse/secretsfs.h - `cephvol-mount --secrets`: a secrets volume served as
 * a read-only, memory-only FUSE tree (see fuse/secretsfs.c).
 */
#ifndef CEPHVOL_SECRETSFS_H
#define CEPHVOL_SECRETSFS_H

/* argv as given to cephvol-mount; returns the process exit status. */
int	secretsfs_main(int argc, char **argv);

#endif
