/*
 * store/secret_record.h - a secret: its metadata, a plaintext value, and
 * one version of that value sealed as a record that opens only in its
 * place (store/secret_record.c).
 *
 * The types are everyone's, through store/secretstore.h; sealing and
 * opening a record are for the secret store (store/secretstore.c).
 */
#ifndef CEPHVOL_STORE_SECRET_RECORD_H
#define CEPHVOL_STORE_SECRET_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/util.h"

struct store;
struct masterkey;

#define SECRET_MAX_BYTES	(1u << 20)	/* 1 MiB */

struct secret_meta {
	char		 name[NAME_MAX_LEN + 1];
	uid_t		 uid;
	gid_t		 gid;
	mode_t		 mode;		/* permission bits, default 0400 */
	json_t		*labels;	/* owned, object of strings */
	int64_t		 created;	/* unix seconds */
	uint32_t	 latest;	/* newest version, from 1 */
};

/* A plaintext value: data is sodium_malloc()'d; secret_value_free wipes it. */
struct secret_value {
	unsigned char	*data;
	size_t		 len;
	uint32_t	 version;
};
void	secret_value_free(struct secret_value *v);

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

#endif
