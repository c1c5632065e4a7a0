/*
 * store/secret_internal.h - what the secret store's files share besides
 * store/secretstore.h: the name of a secret's object, which only the
 * store (store/secretstore.c) and its watches (secret_watch.c) use.
 */
#ifndef CEPHVOL_STORE_SECRET_INTERNAL_H
#define CEPHVOL_STORE_SECRET_INTERNAL_H

#include <stddef.h>

/* The secret's object "cephvol.secret.<name>", into buf. */
void	secret_oid(const char *name, char *buf, size_t len);

#endif
