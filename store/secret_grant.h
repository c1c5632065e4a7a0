/*
 * store/secret_grant.h - what a secrets volume grants: a list of "NAME"
 * (follow the secret's latest version) or "NAME@N" (pin version N).
 *
 * secret_grant_parse() is the one reader of a grant: volume options
 * (store/volopts.c), the secrets tree (fuse/secretsfs.c) and
 * `cephvol secret get NAME[@VERSION]` use it.
 */
#ifndef CEPHVOL_STORE_SECRET_GRANT_H
#define CEPHVOL_STORE_SECRET_GRANT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct store;

/*
 * "name" or "name@3" -> name (namelen bytes at most, NUL included) and
 * version (0 = follow latest). -ENAMETOOLONG when the name does not fit,
 * -EINVAL when it is not a valid name (name then holds it, possibly ""),
 * -ERANGE when the version is not a number from 1 to 2^32-1. Pure.
 */
int	secret_grant_parse(const char *grant, char *name, size_t namelen,
	    uint32_t *version);
/* Every grant of a secrets volume (a JSON array of strings) names an
 * existing secret and version. Else a sentence in err and -EINVAL (a grant
 * that does not parse), -ENOENT (no such secret or version) or the error
 * reading a secret. */
int	secret_grants_check(struct store *st, json_t *grants, char *err,
	    size_t errlen);

#endif
