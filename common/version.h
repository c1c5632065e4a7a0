/*
 * common/version.h - the version of cephvol: the one place it is written.
 * `--version` of cephvol, cephvold and cephvol-mount prints it, and the
 * Makefile reads it from here for `make deb` (the package's version).
 */
#ifndef CEPHVOL_VERSION_H
#define CEPHVOL_VERSION_H

#define CEPHVOL_VERSION	"0.1.0"

#endif
