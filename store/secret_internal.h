/*
 * store/secret_internal.h - what the secret store's own files share:
 * store/secretstore.c (records in RADOS), secret_record.c (sealing one)
 * and secret_watch.c (notifying hosts). Not for other callers: everything
 * else goes through store/secretstore.h.
 */
#ifndef CEPHVOL_STORE_SECRET_INTERNAL_H
#define CEPHVOL_STORE_SECRET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "store/secretstore.h"

/* store/secretstore.c */
/* The secret's object "cephvol.secret.<name>", into buf. */
void	secret_oid(const char *name, char *buf, size_t len);

/* store/secret_record.c */
/* Seal pt as version `version` of m under mk: *rec malloc'd (ciphertext
 * only). */
int	secret_record_seal(struct store *st, const struct masterkey *mk,
	    const struct secret_meta *m, uint32_t version, const unsigned char *pt,
	    size_t ptlen, char **rec, size_t *reclen);
/* Open rec, version `version` of m, with mk or the key that sealed it
 * (the key file beside mk): out->data is new (secret_value_free).
 * -EBADMSG and a sentence in err when it is not a record, was sealed
 * with an unknown key or fails authentication. */
int	secret_record_open(struct store *st, const struct masterkey *mk,
	    const struct secret_meta *m, uint32_t version, const unsigned char *rec,
	    size_t reclen, struct secret_value *out, char *err, size_t errlen);

/* store/secret_watch.c */
/* Tell the watchers of secret name that it changed. */
void	secret_watch_notify(struct store *st, const char *name);

#endif
